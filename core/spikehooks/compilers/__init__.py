"""Compilers turn a network description into a compiled network on a backend.

Each public name is re-exported with an explicit alias, one line per module,
so a new compiler is added with one import line.
"""

from __future__ import annotations

from .._mlgenn_missing import module_getattr as _mlgenn_getattr
from .compiled_eprop_network import CompiledEPropNetwork as CompiledEPropNetwork
from .compiled_network import CompiledNetwork as CompiledNetwork
from .compiled_training_network import CompiledTrainingNetwork as CompiledTrainingNetwork
from .compiler import Compiler as Compiler
from .eprop_compiler import EPropCompiler as EPropCompiler
from .event_prop_compiler import EventPropCompiler as EventPropCompiler
from .few_spike_compiler import CompiledFewSpikeNetwork as CompiledFewSpikeNetwork
from .few_spike_compiler import FewSpikeCompiler as FewSpikeCompiler
from .inference_compiler import InferenceCompiler as InferenceCompiler

# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


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
