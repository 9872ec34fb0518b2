"""Few-spike neurons (Stoeckl & Maass 2021): a ReLU activation sent as K binary digits.

A value ``v`` is coded over ``k`` timesteps: at step ``t`` the neuron spikes
when ``V >= h_t`` with ``h_t = alpha * 2**(-k) * 2**(k - 1 - t)`` and then
subtracts ``h_t``, so its spikes are the binary digits of ``min(relu(v),
alpha * (1 - 2**-k))`` rounded down to a multiple of ``alpha * 2**-k``.  A
downstream neuron weighs a spike of step ``t`` by ``h_t``.  These models run
only under :class:`~spikehooks.compilers.FewSpikeCompiler`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import InputNeuron, Neuron, check_count, check_number


def _check_k_alpha(owner: str, k: Any, alpha: Any) -> tuple[int, float]:
    return check_count(k, owner, "k"), check_number(alpha, owner, "alpha", positive=True)


def encode(values: np.ndarray, k: int, alpha: float, signed: bool = False) -> np.ndarray:
    """Return the spikes coding ``values``: bool array ``(k, *values.shape)``.

    Unsigned: one digit per step, most significant first.  Signed: steps
    alternate positive (even) and negative (odd) digits, ``k // 2`` each.
    """
    v = np.array(values, dtype=np.float64)
    spikes = np.zeros((k, *v.shape), dtype=bool)
    for t in range(k):
        h = thresholds(k, alpha, signed)[t]
        if signed and t % 2:
            fired = v < -h
            v[fired] += h
        else:
            fired = v >= h
            v[fired] -= h
        spikes[t] = fired
    return spikes


def thresholds(k: int, alpha: float, signed: bool = False) -> np.ndarray:
    """Signed weight of a spike at each of the ``k`` steps: float64 ``(k,)``."""
    if not signed:
        return alpha * 2.0 ** (-k) * 2.0 ** (k - 1 - np.arange(k))
    half = k // 2
    step = np.arange(k)
    return alpha * 2.0 ** (-half) * 2.0 ** (half - 1 - step // 2)


def decode(spikes: np.ndarray, k: int, alpha: float, signed: bool = False) -> np.ndarray:
    """The value a downstream neuron reads from ``spikes`` ``(k, ...)``: float64."""
    weights = thresholds(k, alpha, signed)
    if signed:
        weights = np.where(np.arange(k) % 2, -weights, weights)
    return np.tensordot(weights, spikes.astype(np.float64), axes=1)


class FewSpikeRelu(Neuron):
    """A few-spike ReLU neuron.

    Parameters
    ----------
    k : int
        Timesteps (binary digits) per activation; equal across the network.
    alpha : float
        Largest activation coded (just below it); scale the layer's
        activations into ``[0, alpha)``.
    readout : str or Readout, optional
        ``"var"`` on the output layer reads the accumulated input ``Fx``
        (the pre-activation of the layer, before the ReLU).
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V", "fx": "Fx"}
    #: The only compiler that simulates this model.
    compiler: ClassVar[str] = "FewSpikeCompiler"

    def __init__(self, k: int = 10, alpha: float = 25.0, readout: Any = None):
        super().__init__(readout)
        self.k, self.alpha = _check_k_alpha("FewSpikeRelu", k, alpha)


class FewSpikeReluInput(InputNeuron):
    """A few-spike input neuron: codes a static value per example.

    Parameters
    ----------
    k : int
        Timesteps per example.
    alpha : float
        Largest magnitude coded.
    signed_input : bool
        Code negative values too (alternating positive and negative digits,
        ``k // 2`` each).
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V"}
    compiler: ClassVar[str] = "FewSpikeCompiler"

    def __init__(self, k: int = 10, alpha: float = 25.0, signed_input: bool = False):
        super().__init__(None)
        self.k, self.alpha = _check_k_alpha("FewSpikeReluInput", k, alpha)
        self.signed_input = bool(signed_input)


__all__ = ["FewSpikeRelu", "FewSpikeReluInput", "decode", "encode", "thresholds"]
