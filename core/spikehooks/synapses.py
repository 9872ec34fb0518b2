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
from typing import Any

import numpy as np

from ._default_params import NetworkDefaults
from ._mlgenn_missing import module_getattr as _mlgenn_getattr
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
    tau : float or array
        Decay time constant in ms (> 0); an array gives each target neuron
        its own (mlGeNN's per-neuron synapse parameter; NumPy, compiled and
        genn backends in inference, NumPy and compiled in EventProp training).
    scale_i : bool
        Scale the injected current by ``IScale = (tau / dt) * (1 - exp(-dt / tau))``
        so that a spike's total charge does not depend on ``tau``.
    """

    def __init__(self, tau: Any = 5.0, scale_i: bool = False):
        arr = None
        if isinstance(tau, (np.ndarray, list, tuple)):
            try:
                arr = np.asarray(tau, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                arr = None
        ok = (arr is not None and arr.size > 0 and bool(np.all(np.isfinite(arr)))
              and bool(np.all(arr > 0))) or (
            arr is None and isinstance(tau, (int, float, np.floating))
            and not isinstance(tau, bool) and np.isfinite(tau) and tau > 0)
        if not ok:
            raise ConfigurationError(
                f"Exponential tau must be a finite number > 0 (ms), or an array of them (one "
                f"per target neuron); got {tau!r}. Pass e.g. Exponential(tau=5.0)."
            )
        self.tau: Any = arr if arr is not None else float(tau)
        self.scale_i = bool(scale_i)

    @property
    def heterogeneous(self) -> bool:
        """Whether ``tau`` is given per target neuron."""
        return isinstance(self.tau, np.ndarray)

    def check(self, num_post: int, owner: str) -> None:
        """Refuse a per-neuron ``tau`` whose size is not the target's."""
        if self.heterogeneous and self.tau.size != num_post:
            raise ConfigurationError(
                f"{owner} Exponential tau must hold one value per target neuron ({num_post}); "
                f"got {self.tau.size}. Pass an array of the target's size or a number."
            )

    def exp_decay(self, dt: float) -> Any:
        """Return ``ExpDecay = float32(exp(-dt / tau))`` (float32 array for per-neuron tau)."""
        if self.heterogeneous:
            return np.exp(-dt / self.tau).astype(np.float32)
        return np.float32(math.exp(-dt / self.tau))

    def i_scale(self, dt: float) -> Any:
        """Return ``IScale = float32((tau / dt) * (1 - exp(-dt / tau)))``."""
        if self.heterogeneous:
            return ((self.tau / dt) * (1.0 - np.exp(-dt / self.tau))).astype(np.float32)
        return np.float32((self.tau / dt) * (1.0 - math.exp(-dt / self.tau)))

    def __repr__(self) -> str:
        tau = f"<array {self.tau.shape}>" if self.heterogeneous else self.tau
        return f"Exponential(tau={tau}, scale_i={self.scale_i})"


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = ["Delta", "Exponential", "Synapse"]
