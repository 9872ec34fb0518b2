"""Neuron models, with mlGeNN's names and parameters.

Input models (driven by data; base class :class:`Input`):
:class:`IntegrateFireInput`, :class:`SpikeInput`, :class:`PoissonInput`,
:class:`BinarySpikeInput`, :class:`LeakyIntegrateFireInput`.  Hidden and
output models: :class:`IntegrateFire`, :class:`LeakyIntegrateFire`,
:class:`AdaptiveLeakyIntegrateFire`, :class:`LeakyIntegrate`.
Each is also registered by name (``"leaky_integrate_fire"``...).
"""

from __future__ import annotations

from .._mlgenn_missing import module_getattr as _mlgenn_getattr
from ._base import InputNeuron, Neuron
from .few_spike import FewSpikeRelu, FewSpikeReluInput
from .input import IntegrateFireInput, PoissonInput, SpikeInput
from .integrate_fire import IntegrateFire, LeakyIntegrateFire
from .leaky_integrate import LeakyIntegrate
from .mlgenn_models import AdaptiveLeakyIntegrateFire, BinarySpikeInput, LeakyIntegrateFireInput

#: mlGeNN's name of the base class of input models (``isinstance(neuron, Input)``).
Input = InputNeuron


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = [
    "AdaptiveLeakyIntegrateFire",
    "BinarySpikeInput",
    "FewSpikeRelu",
    "FewSpikeReluInput",
    "Input",
    "InputNeuron",
    "IntegrateFire",
    "IntegrateFireInput",
    "LeakyIntegrate",
    "LeakyIntegrateFire",
    "LeakyIntegrateFireInput",
    "Neuron",
    "PoissonInput",
    "SpikeInput",
]
