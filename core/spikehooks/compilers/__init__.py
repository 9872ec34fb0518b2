"""Compilers turn a network description into a compiled network on a backend.

Each public name is re-exported with an explicit alias, one line per module,
so a new compiler is added with one import line.
"""

from __future__ import annotations

from typing import Any

from .compiled_network import CompiledNetwork as CompiledNetwork
from .compiler import Compiler as Compiler
from .event_prop_compiler import EventPropCompiler as EventPropCompiler
from .inference_compiler import InferenceCompiler as InferenceCompiler


def __getattr__(name: str) -> Any:
    # Imported on first use: the training network imports this package's modules.
    if name == "CompiledTrainingNetwork":
        from ..training._compiled import CompiledTrainingNetwork

        return CompiledTrainingNetwork
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CompiledNetwork",
    "CompiledTrainingNetwork",
    "Compiler",
    "EventPropCompiler",
    "InferenceCompiler",
]
