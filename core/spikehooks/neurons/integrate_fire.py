"""Spiking neuron models: integrate-and-fire and leaky integrate-and-fire."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..initializers import resolve_value
from ._base import Neuron, check_param


class IntegrateFire(Neuron):
    """Integrate-and-fire: ``V += Isyn``; at ``V >= v_thresh`` spike and ``V = v_reset``.

    Parameters
    ----------
    v_thresh, v_reset : float, array or Initializer
        Threshold and reset value (per neuron when an array or initializer:
        GeNN variables ``Vthresh``, ``Vreset``).
    v : float, array or Initializer
        Initial ``V``.
    readout : str, Readout or None
        Readout of ``V`` when used as an output.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V"}
    param_vars: ClassVar[dict[str, str]] = {"v_thresh": "Vthresh", "v_reset": "Vreset"}

    def __init__(self, v_thresh: Any = 1.0, v_reset: Any = 0.0, v: Any = 0.0,
                 readout: Any = None):
        super().__init__(readout)
        self.v_thresh = check_param(v_thresh, "IntegrateFire", "v_thresh")
        self.v_reset = check_param(v_reset, "IntegrateFire", "v_reset")
        self.v = resolve_value(v, "IntegrateFire v")


class LeakyIntegrateFire(Neuron):
    """Leaky integrate-and-fire.

    Each step: ``V = Alpha * V + Isyn`` with ``Alpha = float32(exp(-dt / tau_mem))``
    (``(1 - Alpha) * Isyn`` if ``scale_i``); with a refractory period,
    ``RefracTime -= dt`` while positive; spike when ``V >= v_thresh`` (and
    ``RefracTime <= 0``); then ``V -= v_thresh - v_reset`` (``relative_reset``)
    or ``V = v_reset``, and ``RefracTime = tau_refrac``.

    Parameters
    ----------
    v_thresh, v_reset : float, array or Initializer
        Threshold and reset value (per neuron when an array or initializer:
        GeNN variables ``Vthresh``, ``Vreset``).
    v : float, array or Initializer
        Initial ``V``.
    tau_mem : float, array or Initializer
        Membrane time constant in ms (> 0); per neuron it is held as GeNN's
        variable ``Alpha = exp(-dt / tau_mem)``.
    tau_refrac : float, array, Initializer or None
        Refractory period in ms (GeNN variable ``TauRefrac`` per neuron);
        None for none.
    relative_reset : bool
        Subtract ``v_thresh - v_reset`` instead of setting ``v_reset``.
    integrate_during_refrac : bool
        Keep integrating input while refractory.
    scale_i : bool
        Scale the input by ``1 - Alpha``.
    readout : str, Readout or None
        Readout of ``V`` when used as an output.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V"}
    param_vars: ClassVar[dict[str, str]] = {"v_thresh": "Vthresh", "v_reset": "Vreset",
                                            "tau_mem": "Alpha", "tau_refrac": "TauRefrac"}

    def __init__(
        self,
        v_thresh: Any = 1.0,
        v_reset: Any = 0.0,
        v: Any = 0.0,
        tau_mem: Any = 20.0,
        tau_refrac: Any = None,
        relative_reset: bool = True,
        integrate_during_refrac: bool = True,
        scale_i: bool = False,
        readout: Any = None,
    ):
        super().__init__(readout)
        name = "LeakyIntegrateFire"
        self.v_thresh = check_param(v_thresh, name, "v_thresh")
        self.v_reset = check_param(v_reset, name, "v_reset")
        self.v = resolve_value(v, f"{name} v")
        self.tau_mem = check_param(tau_mem, name, "tau_mem", positive=True)
        self.tau_refrac = None if tau_refrac is None else check_param(
            tau_refrac, name, "tau_refrac", non_negative=True)
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)
        self.scale_i = bool(scale_i)

    def get_var_names(self) -> dict[str, str]:
        names = super().get_var_names()
        if self.tau_refrac is not None:
            names["refrac_time"] = "RefracTime"
        return names

    def alpha(self, dt: float) -> np.float32:
        """Return ``Alpha = float32(exp(-dt / tau_mem))``."""
        return np.float32(math.exp(-dt / self.tau_mem))


__all__ = ["IntegrateFire", "LeakyIntegrateFire"]
