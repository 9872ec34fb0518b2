"""The only module that imports pygenn, and only when the genn backend is created."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ...errors import MissingDependencyError

#: Environment variable overriding the default build cache folder.
CACHE_ENV = "SPIKEHOOKS_GENN_CACHE"


class PygennUnavailableError(MissingDependencyError):
    """pygenn (GeNN's Python package) cannot be imported, so the genn backend cannot run.

    An :class:`ImportError`, like every :class:`MissingDependencyError`.
    """


MISSING_MESSAGE = (
    "backend 'genn' must find pygenn (GeNN 5.x's Python package); got an import error: {error}. "
    "pygenn is not installable from PyPI: build it from GeNN's source. Get the GeNN 5 source "
    "(the genn-team/genn repository on GitHub, a 5.x release tag), install a C++17 compiler, "
    "libffi's development files and pip, then, with the environment you run spikehooks in, "
    "run pip's install command on the GeNN source folder (GeNN's README, section "
    "'Installation', describes it; without CUDA_PATH set only the single-threaded CPU "
    "backend is built, which is all spikehooks needs). Or use backend='numpy'."
)


def import_pygenn() -> Any:
    """Return the pygenn module, or raise :class:`PygennUnavailableError` saying how to get it."""
    try:
        return importlib.import_module("pygenn")
    except ImportError as exc:
        raise PygennUnavailableError(MISSING_MESSAGE.format(error=exc)) from exc


def default_cache_dir() -> Path:
    """Return the folder holding GeNN builds.

    ``$SPIKEHOOKS_GENN_CACHE`` if set, else ``spikehooks/genn`` under the
    user's cache folder (``$XDG_CACHE_HOME``, ``~/.cache`` on Linux and
    macOS, ``%LOCALAPPDATA%`` on Windows).
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "spikehooks" / "genn"


__all__ = ["CACHE_ENV", "PygennUnavailableError", "default_cache_dir", "import_pygenn"]
