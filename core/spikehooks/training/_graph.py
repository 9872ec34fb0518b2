"""The array-level description of a network that the EventProp kernels run.

The compiler turns a user's network into these plain records; the kernels
(:mod:`._forward`, :mod:`._backward`) and the tests work on them directly,
without any network object.  All constants are float32, computed the way the
NumPy inference backend computes them, so the training forward pass and
inference produce the same spikes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Readouts an LI output may use.
VOLTAGE_READOUTS = ("sum_var", "avg_var", "avg_var_exp_weight", "max_var", "var")


@dataclass
class Layer:
    """One population.

    Attributes
    ----------
    size : int
        Number of neurons.
    kind : {"input", "lif", "li"}
        Spike source, leaky integrate-and-fire, or leaky integrator (output).
    tau_m : float, or numpy.ndarray of float64, shape (size,)
        Membrane time constant in ms (an array: one per neuron, mlGeNN's
        per-neuron parameter; so for ``alpha``, ``neuron_scale`` and ``v_thresh``).
    alpha : numpy.float32, or numpy.ndarray of float32, shape (size,)
        ``exp(-dt / tau_m)``.
    neuron_scale : numpy.float32, or numpy.ndarray of float32, shape (size,)
        Factor of the synaptic input in the V update: ``1 - alpha`` with
        ``scale_i=True``, else 1.
    v_thresh : numpy.float32, or numpy.ndarray of float32, shape (size,)
        Threshold (LIF).
    bias : numpy.float32
        Constant input added every step (LI).
    readout : str or None
        ``sum_var``, ``avg_var``, ``avg_var_exp_weight``, ``max_var``, ``var``
        (LI; ``var`` only with a per-timestep loss) or ``first_spike_time``
        (LIF output).
    """

    size: int
    kind: str
    tau_m: Any = 20.0
    alpha: Any = np.float32(1.0)
    neuron_scale: Any = np.float32(1.0)
    v_thresh: Any = np.float32(1.0)
    bias: np.float32 = np.float32(0.0)
    readout: str | None = None
    relative_reset: bool = False
    incoming: list[int] = field(default_factory=list)
    outgoing: list[int] = field(default_factory=list)


@dataclass
class Conn:
    """One connection ``pre -> post`` with its synapse.

    Attributes
    ----------
    pre, post : int
        Layer indices.
    synapse : {"exponential", "delta"}
        Synapse kind.
    tau_s : float, or numpy.ndarray of float64, shape (n_post,)
        Synaptic time constant in ms (exponential); an array gives one per
        target neuron (so for ``beta`` and ``syn_scale``).
    beta : numpy.float32, or numpy.ndarray of float32, shape (n_post,)
        ``exp(-dt / tau_s)`` (exponential), 0 (delta).
    syn_scale : numpy.float32, or numpy.ndarray of float32, shape (n_post,)
        ``IScale`` with ``scale_i=True`` (exponential), else 1.
    mask : numpy.ndarray of bool, shape (n_pre, n_post), or None
        Existing synapses of sparse connectivity; None for dense.
    delays : numpy.ndarray of int32, shape (n_pre, n_post), or None
        Extra delay of each synapse in timesteps (None: all 0): a spike of
        step ``n`` reaches ``inSyn`` in step ``n + 1 + delay``.
    """

    pre: int
    post: int
    synapse: str = "exponential"
    tau_s: Any = 5.0
    beta: Any = np.float32(0.0)
    syn_scale: Any = np.float32(1.0)
    mask: np.ndarray | None = None
    delays: np.ndarray | None = None

    def delay_groups(self, weight: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """``(k, weight masked to the synapses of delay k)`` for every distinct delay."""
        assert self.delays is not None
        return [(int(k), weight * (self.delays == k)) for k in np.unique(self.delays)]


@dataclass
class Graph:
    """Layers in topological order and the connections between them.

    The output is the one layer with a readout.  ``per_timestep`` marks a
    loss on the output's voltage at every step (mlGeNN's
    ``per_timestep_loss``): the forward pass then keeps that trace.
    """

    layers: list[Layer]
    conns: list[Conn]
    num_steps: int
    dt: float
    per_timestep: bool = False

    def __post_init__(self) -> None:
        for layer in self.layers:
            layer.incoming.clear()
            layer.outgoing.clear()
        for index, conn in enumerate(self.conns):
            self.layers[conn.post].incoming.append(index)
            self.layers[conn.pre].outgoing.append(index)

    @property
    def output(self) -> int:
        """Index of the output layer (the one with a readout)."""
        return next(i for i, lay in enumerate(self.layers) if lay.readout is not None)


def make_layer(
    kind: str,
    size: int,
    dt: float,
    *,
    tau_m: Any = 20.0,
    v_thresh: Any = 1.0,
    bias: float = 0.0,
    scale_i: bool = True,
    readout: str | None = None,
) -> Layer:
    """Build a :class:`Layer`, deriving its float32 constants from ms parameters.

    ``tau_m`` and ``v_thresh`` may be arrays of shape (size,): one per neuron.
    """
    if np.ndim(tau_m) > 0:
        tau = np.asarray(tau_m, dtype=np.float64)
        alpha = np.exp(-dt / tau).astype(np.float32)
        scale = (np.float32(1.0) - alpha) if scale_i else np.float32(1.0)
        thresh = np.asarray(v_thresh, dtype=np.float32) if np.ndim(v_thresh) else np.float32(
            v_thresh)
        return Layer(size=size, kind=kind, tau_m=tau, alpha=alpha, neuron_scale=scale,
                     v_thresh=thresh, bias=np.float32(bias), readout=readout)
    alpha = np.float32(math.exp(-dt / tau_m))
    return Layer(
        size=size,
        kind=kind,
        tau_m=float(tau_m),
        alpha=alpha,
        neuron_scale=np.float32(1.0 - math.exp(-dt / tau_m)) if scale_i else np.float32(1.0),
        v_thresh=(np.asarray(v_thresh, dtype=np.float32) if np.ndim(v_thresh)
                  else np.float32(v_thresh)),
        bias=np.float32(bias),
        readout=readout,
    )


def make_conn(
    pre: int,
    post: int,
    dt: float,
    *,
    synapse: str = "exponential",
    tau_s: Any = 5.0,
    scale_i: bool = True,
    mask: np.ndarray | None = None,
    delays: np.ndarray | None = None,
) -> Conn:
    """Build a :class:`Conn`, deriving its float32 constants from ms parameters.

    ``tau_s`` may be an array of shape (n_post,): one per target neuron.
    """
    if synapse == "delta":
        return Conn(pre, post, "delta", 0.0, np.float32(0.0), np.float32(1.0), mask, delays)
    if np.ndim(tau_s) > 0:
        tau = np.asarray(tau_s, dtype=np.float64)
        decay = np.exp(-dt / tau)
        scales = ((tau / dt) * (1.0 - decay)).astype(np.float32) if scale_i else np.float32(1.0)
        return Conn(pre, post, "exponential", tau, decay.astype(np.float32), scales, mask,
                    delays)
    beta = math.exp(-dt / tau_s)
    scale = np.float32((tau_s / dt) * (1.0 - beta)) if scale_i else np.float32(1.0)
    return Conn(pre, post, "exponential", float(tau_s), np.float32(beta), scale, mask, delays)
