"""spikehooks: train and evaluate spiking neural networks, extended by callbacks and plugins.

The core (callbacks, hooks, names, plugins) is imported eagerly; the runtime
(networks, compilers, backends) is imported on first use, so that
``import spikehooks`` and resolving one name stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _mlgenn_missing, _moved_modules
from .callbacks import Callback, CallbackList, RunContext
from .callbacks.hookspecs import HOOK_API_VERSION, hookimpl, hookspec
from .errors import (
    AmbiguousNameError,
    CallbackError,
    CallbackValidationError,
    CheckpointError,
    ConfigurationError,
    DuplicateKeyError,
    FolderError,
    MissingDependencyError,
    NonFiniteError,
    NonFiniteWarning,
    NotCompiledError,
    PluginError,
    SpikehooksError,
    UnknownNameError,
    UnsupportedFeatureError,
)
from .plugins import registry as registry

_moved_modules.install()
_mlgenn_missing.install()

__version__ = "0.1.0"

#: Public names imported on first access: name -> module (relative to spikehooks).
_LAZY = {
    "Network": ".network",
    "SequentialNetwork": ".network",
    "Population": ".network",
    "Connection": ".network",
    "InputLayer": ".network",
    "Layer": ".network",
    "InferenceCompiler": ".compilers",
    "EventPropCompiler": ".compilers",
    "EPropCompiler": ".compilers",
    "CompiledNetwork": ".compilers",
    "CompiledTrainingNetwork": ".compilers",
    "BatchProgressBar": ".callbacks",
}


#: Subpackages reachable as attributes, as mlGeNN's (``spikehooks.compilers.X``).
_SUBPACKAGES = ("callbacks", "communicators", "compilers", "connectivity", "data",
                "initializers", "losses", "metrics", "neurons", "optimisers", "readouts",
                "serialisers", "synapses")


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        # mlGeNN names not offered are refused with what to use instead.
        return _mlgenn_missing.refuse(__name__, name)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))


__all__ = [
    "HOOK_API_VERSION",
    "AmbiguousNameError",
    "Callback",
    "CallbackError",
    "CallbackList",
    "CallbackValidationError",
    "CheckpointError",
    "ConfigurationError",
    "DuplicateKeyError",
    "FolderError",
    "MissingDependencyError",
    "NonFiniteError",
    "NonFiniteWarning",
    "NotCompiledError",
    "PluginError",
    "RunContext",
    "SpikehooksError",
    "UnknownNameError",
    "UnsupportedFeatureError",
    "hookimpl",
    "hookspec",
    *_LAZY,
]
