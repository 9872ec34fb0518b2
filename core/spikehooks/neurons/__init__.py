"""Neuron models, with mlGeNN's names and parameters.

Input models (driven by data): :class:`IntegrateFireInput`,
:class:`SpikeInput`, :class:`PoissonInput`.  Hidden and output models:
:class:`IntegrateFire`, :class:`LeakyIntegrateFire`, :class:`LeakyIntegrate`.
Each is also registered by name (``"leaky_integrate_fire"``...).
"""

from __future__ import annotations

from ._base import InputNeuron, Neuron
from .few_spike import FewSpikeRelu, FewSpikeReluInput
from .input import IntegrateFireInput, PoissonInput, SpikeInput
from .integrate_fire import IntegrateFire, LeakyIntegrateFire
from .leaky_integrate import LeakyIntegrate

__all__ = [
    "FewSpikeRelu",
    "FewSpikeReluInput",
    "InputNeuron",
    "IntegrateFire",
    "IntegrateFireInput",
    "LeakyIntegrate",
    "LeakyIntegrateFire",
    "Neuron",
    "PoissonInput",
    "SpikeInput",
]
