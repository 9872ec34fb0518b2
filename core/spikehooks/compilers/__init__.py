"""Compilers turn a network description into a compiled network on a backend.

Each public name is re-exported with an explicit alias, one line per module,
so a new compiler is added with one import line.
"""

from __future__ import annotations

from typing import Any

from .compiled_eprop_network import CompiledEPropNetwork as CompiledEPropNetwork
from .compiled_network import CompiledNetwork as CompiledNetwork
from .compiled_training_network import CompiledTrainingNetwork as CompiledTrainingNetwork
from .compiler import Compiler as Compiler
from .eprop_compiler import EPropCompiler as EPropCompiler
from .event_prop_compiler import EventPropCompiler as EventPropCompiler
from .few_spike_compiler import CompiledFewSpikeNetwork as CompiledFewSpikeNetwork
from .few_spike_compiler import FewSpikeCompiler as FewSpikeCompiler
from .inference_compiler import InferenceCompiler as InferenceCompiler


def __getattr__(name: str) -> Any:
    # mlGeNN names not offered yet are refused with what to use instead.
    from .._mlgenn_missing import refuse

    return refuse(__name__, name)


__all__ = [
    "CompiledEPropNetwork",
    "CompiledFewSpikeNetwork",
    "CompiledNetwork",
    "CompiledTrainingNetwork",
    "Compiler",
    "EPropCompiler",
    "EventPropCompiler",
    "FewSpikeCompiler",
    "InferenceCompiler",
]
