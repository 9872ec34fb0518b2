"""The leaky integrator, the usual non-spiking output model."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..initializers import resolve_value
from ._base import Neuron, check_param


class LeakyIntegrate(Neuron):
    """Leaky integrator: ``V = Alpha * V + Isyn + bias`` each step, no spikes.

    ``Alpha = float32(exp(-dt / tau_mem))``; with ``scale_i`` the input is
    ``(1 - Alpha) * Isyn``.

    Parameters
    ----------
    v : float, array or Initializer
        Initial ``V``.
    bias : float, array or Initializer
        Constant input added every step.
    tau_mem : float, array or Initializer
        Membrane time constant in ms (> 0); per neuron it is held as GeNN's
        variable ``Alpha = exp(-dt / tau_mem)``.
    scale_i : bool
        Scale the input by ``1 - Alpha``.
    readout : str, Readout or None
        Readout of ``V``, e.g. ``"sum_var"``.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V"}
    spiking: ClassVar[bool] = False
    param_vars: ClassVar[dict[str, str]] = {"tau_mem": "Alpha"}

    def __init__(self, v: Any = 0.0, bias: Any = 0.0, tau_mem: Any = 20.0,
                 scale_i: bool = False, readout: Any = None):
        super().__init__(readout)
        self.v = resolve_value(v, "LeakyIntegrate v")
        self.bias = resolve_value(bias, "LeakyIntegrate bias")
        self.tau_mem = check_param(tau_mem, "LeakyIntegrate", "tau_mem", positive=True)
        self.scale_i = bool(scale_i)

    def alpha(self, dt: float) -> np.float32:
        """Return ``Alpha = float32(exp(-dt / tau_mem))``."""
        return np.float32(math.exp(-dt / self.tau_mem))


__all__ = ["LeakyIntegrate"]
