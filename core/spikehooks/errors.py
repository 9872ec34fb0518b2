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


class DuplicateKeyError(CallbackValidationError, KeyError):
    """Two callbacks of one run share a key.

    Also a :class:`KeyError`, as mlGeNN raises for duplicate recorder keys,
    so ported ``except KeyError`` code keeps working.
    """

    def __str__(self) -> str:
        # KeyError would show the message quoted; show it as written.
        return str(self.args[0]) if self.args else ""


class CallbackError(SpikehooksError):
    """An exception raised inside a callback during a run.

    Raised for an exception in a hook, in ``set_params`` or in ``get_data``
    (a spikehooks error raised on purpose in ``set_params``, such as a
    :class:`ConfigurationError`, passes through as it is).  The original
    exception is the ``__cause__``.  ``cb_data`` holds what the callbacks
    had recorded up to the failure, so nothing collected is lost; when
    ``get_data`` itself failed, it holds every other callback's data.

    Attributes
    ----------
    callback : object
        The callback (or global plugin) that raised.
    hook : str
        The method, e.g. ``"on_timestep_end"``, ``"set_params"`` or ``"get_data"``.
    key : object
        The callback's ``key`` (None when it has none, or for a global plugin).
    cb_data : dict
        The callback data collected so far (``get_data()`` of every callback).
    """

    def __init__(self, message: str, *, callback: Any, hook: str, cb_data: dict,
                 key: Any = None):
        super().__init__(message)
        self.callback = callback
        self.hook = hook
        self.key = key
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


class UnsupportedFeatureError(SpikehooksError, ImportError):
    """An mlGeNN feature spikehooks does not offer; the message says what to use instead.

    An ``ImportError``, since it is raised by ``from spikehooks.<module> import
    <mlGeNN name>``.
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


class NonFiniteError(SpikehooksError, FloatingPointError):
    """Training produced a NaN or infinite loss, gradient or weight.

    Raised at the end of the batch where it first happened, before any
    callback sees that batch's end (so no checkpoint of the bad state is
    written).

    Attributes
    ----------
    epoch, batch : int
        Where it happened.
    what : str
        ``"loss"``, ``"gradient"`` or ``"weight"``.
    connection : str or None
        Name of the first connection holding a non-finite value (None for the loss).
    index : tuple of int or None
        Index of the first non-finite entry in that connection's array.
    cb_data : dict
        What the training callbacks had recorded so far.
    """

    def __init__(self, message: str, *, epoch: int, batch: int, what: str,
                 connection: str | None, index: tuple[int, ...] | None):
        super().__init__(message)
        self.epoch, self.batch, self.what = epoch, batch, what
        self.connection, self.index = connection, index
        self.cb_data: dict = {}


class NonFiniteWarning(RuntimeWarning):
    """Training produced non-finite values and ``on_non_finite="warn"`` was chosen."""


__all__ = [
    "AmbiguousNameError",
    "CallbackError",
    "CallbackValidationError",
    "CheckpointError",
    "CheckpointFormatError",
    "ConfigurationError",
    "DuplicateKeyError",
    "FolderError",
    "MissingDependencyError",
    "NonFiniteError",
    "NonFiniteWarning",
    "NotCompiledError",
    "PluginError",
    "SpikehooksError",
    "UnknownNameError",
    "UnsupportedFeatureError",
]
