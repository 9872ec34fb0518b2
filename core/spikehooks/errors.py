"""The exception hierarchy of spikehooks.

Every error spikehooks raises on purpose derives from :class:`SpikehooksError`,
so ``except spikehooks.SpikehooksError`` catches all of them.  Messages follow
one shape: ``"<object> <param> must be <expected>; got <actual>. <fix>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SpikehooksError(Exception):
    """Base class of every error raised by spikehooks and its plugins."""


class ConfigurationError(SpikehooksError, ValueError):
    """A value given by the user is wrong (shape, range, type, combination).

    Derives from :class:`ValueError` so generic ``except ValueError`` code
    keeps working.
    """


class UnknownNameError(SpikehooksError, LookupError):
    """A string name could not be resolved through the registry.

    Attributes
    ----------
    kind : str
        The kind of object looked up (``"callbacks"``, ``"neurons"``, ...).
    name : str
        The name that was asked for.
    known : list of str
        The names known for that kind.
    """

    def __init__(self, message: str, *, kind: str, name: str, known: list[str]):
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.known = known


class AmbiguousNameError(SpikehooksError, LookupError):
    """A string name is offered by more than one distribution."""


class PluginError(SpikehooksError):
    """A plugin failed to load, to validate or to run.

    Attributes
    ----------
    entry_point : str or None
        ``"name = module:attr"`` of the entry point, where one is involved.
    distribution : str or None
        Name and version of the distribution offering it.
    plugin : object or None
        The plugin object (callback instance or module), where it exists.
    """

    def __init__(
        self,
        message: str,
        *,
        entry_point: str | None = None,
        distribution: str | None = None,
        plugin: Any = None,
    ):
        super().__init__(message)
        self.entry_point = entry_point
        self.distribution = distribution
        self.plugin = plugin


class CallbackValidationError(PluginError, TypeError):
    """A callback or plugin implements a hook with a wrong name or signature."""


class CallbackError(SpikehooksError):
    """An exception raised inside a callback during a run.

    The original exception is the ``__cause__``.  ``cb_data`` holds what the
    callbacks had recorded up to the failure, so nothing collected is lost.

    Attributes
    ----------
    callback : object
        The callback (or global plugin) whose hook raised.
    hook : str
        The name of the hook, e.g. ``"on_timestep_end"``.
    cb_data : dict
        The callback data collected so far (``get_data()`` of every callback).
    """

    def __init__(self, message: str, *, callback: Any, hook: str, cb_data: dict):
        super().__init__(message)
        self.callback = callback
        self.hook = hook
        self.cb_data = cb_data


class FolderError(ConfigurationError):
    """A folder spikehooks would write is held by another writer or owned by another run.

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    owner : dict or None
        Its owner record (``.spikehooks-owner.json``), None when it has none.
    """

    def __init__(self, message: str, *, path: Any, owner: dict | None = None):
        super().__init__(message)
        self.path = path
        self.owner = owner


class MissingDependencyError(SpikehooksError, ImportError):
    """An optional dependency (an extra such as ``plot`` or ``datasets``) is not installed.

    The message names the package and the install line.
    """


class NotCompiledError(SpikehooksError, RuntimeError):
    """A compiled network was used outside ``with compiled_net:``."""


class CheckpointError(SpikehooksError):
    """A checkpoint is missing, incomplete or corrupt.

    Raised by serialisers (:mod:`spikehooks.serialisers`, which re-exports it)
    and the checkpoint plugin.

    Attributes
    ----------
    path : pathlib.Path
        The file (or folder) that was refused.
    """

    def __init__(self, message: str, *, path: Path):
        super().__init__(message)
        self.path = path


class CheckpointFormatError(CheckpointError):
    """A checkpoint was written in a newer format than this spikehooks reads.

    Never skipped like a damaged checkpoint, never overwritten, never deleted:
    a newer spikehooks wrote it and can still read it.

    Attributes
    ----------
    version : int
        The format version found.
    """

    def __init__(self, message: str, *, path: Path, version: int):
        super().__init__(message, path=path)
        self.version = version


__all__ = [
    "AmbiguousNameError",
    "CallbackError",
    "CallbackValidationError",
    "CheckpointError",
    "CheckpointFormatError",
    "ConfigurationError",
    "FolderError",
    "MissingDependencyError",
    "NotCompiledError",
    "PluginError",
    "SpikehooksError",
    "UnknownNameError",
]
