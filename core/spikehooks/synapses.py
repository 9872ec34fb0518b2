"""Synapse models: how arriving weights become input current.

Each connection owns a synaptic input accumulator ``inSyn`` (GeNN's name).
Spikes emitted in step ``i - 1`` add their weight rows to it at the start of
step ``i``; the target's neuron update then reads it:

- :class:`Delta`: the whole ``inSyn`` is injected in step ``i`` and cleared.
- :class:`Exponential`: ``inSyn`` (times ``IScale`` if ``scale_i``) is
  injected, then decays, ``inSyn *= ExpDecay``; a weight arriving in step
  ``i`` is injected fully in ``i``, times ``ExpDecay`` in ``i + 1``, and so on.

Derived constants are computed in float64 and rounded to float32 once, as
mlGeNN does.
"""

from __future__ import annotations

import math

import numpy as np

from ._default_params import NetworkDefaults
from .errors import ConfigurationError


class Synapse(NetworkDefaults):
    """Base class of synapse models.

    A model constructed inside ``with network:`` takes the network's
    ``default_params`` for the arguments the caller did not pass.
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Delta(Synapse):
    """Instantaneous synapse: each spike injects its weight once, in the next step."""


class Exponential(Synapse):
    """Exponentially decaying synaptic current.

    Parameters
    ----------
    tau : float
        Decay time constant in ms (> 0).
    scale_i : bool
        Scale the injected current by ``IScale = (tau / dt) * (1 - exp(-dt / tau))``
        so that a spike's total charge does not depend on ``tau``.
    """

    def __init__(self, tau: float = 5.0, scale_i: bool = False):
        if not isinstance(tau, (int, float, np.floating)) or not np.isfinite(tau) or tau <= 0:
            raise ConfigurationError(
                f"Exponential tau must be a finite number > 0 (ms); got {tau!r}. "
                f"Pass e.g. Exponential(tau=5.0)."
            )
        self.tau = float(tau)
        self.scale_i = bool(scale_i)

    def exp_decay(self, dt: float) -> np.float32:
        """Return ``ExpDecay = float32(exp(-dt / tau))``."""
        return np.float32(math.exp(-dt / self.tau))

    def i_scale(self, dt: float) -> np.float32:
        """Return ``IScale = float32((tau / dt) * (1 - exp(-dt / tau)))``."""
        return np.float32((self.tau / dt) * (1.0 - math.exp(-dt / self.tau)))

    def __repr__(self) -> str:
        return f"Exponential(tau={self.tau}, scale_i={self.scale_i})"


__all__ = ["Delta", "Exponential", "Synapse"]
