"""spikehooks: train and evaluate spiking neural networks, extended by callbacks and plugins.

The core (callbacks, hooks, names, plugins) is imported eagerly; the runtime
(networks, compilers, backends) is imported on first use, so that
``import spikehooks`` and resolving one name stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _moved_modules
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spikehooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
