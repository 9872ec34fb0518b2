"""numba, imported on first use: the compiled backend is an optional extra."""

from __future__ import annotations

import importlib.util
from typing import Any

from ...errors import MissingDependencyError


def numba_available() -> bool:
    """Return whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def require_numba() -> Any:
    """Import and return numba, or say how to install it."""
    try:
        import numba
    except ImportError as exc:
        raise MissingDependencyError(
            f"the compiled backend needs numba; got ImportError ({exc}). Install it with "
            f"`python -m pip install numba` (requirements-dev.txt installs it), or pass "
            f"backend='numpy'."
        ) from exc
    return numba


def max_threads() -> int:
    """Return the most threads numba can use (every core it sees, by default)."""
    return int(require_numba().config.NUMBA_NUM_THREADS)


def set_threads(num_threads: int) -> None:
    """Use ``num_threads`` threads for the calling thread's next parallel kernels."""
    numba = require_numba()
    if numba.get_num_threads() != num_threads:
        numba.set_num_threads(num_threads)


__all__ = ["max_threads", "numba_available", "require_numba", "set_threads"]
