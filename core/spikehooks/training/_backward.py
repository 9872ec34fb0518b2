"""The EventProp backward pass on the discrete dynamics of :mod:`._forward`.

Adjoints are sensitivities, in float64, one row per example:

- ``q[l]`` (batch, size): ``dL/dV`` of layer ``l`` before the threshold test of
  the step being processed (``p_V``);
- ``b[c]`` (batch, n_post): ``dL/dJ`` of connection ``c``'s ``inSyn`` (``p_I``).

Between spikes they follow the *exact discrete adjoint* of the forward
recurrences, ``q_n = alpha q_{n+1} + r_n`` and
``b_n = neuron_scale syn_scale q_n + beta b_{n+1}`` (``r_n`` is the readout's
``dL/dV_n``), so gradients of weights into a voltage readout equal finite
differences of the discrete loss.  At a LIF spike, whose time is piecewise
constant in discrete time, the continuous-time jump of Wunderlich & Pehle
(2021) replaces the reset's zero derivative::

    q_n = [q_a I + tau_m sum_c W_c u_c - tau_m dl/dt_k] / (I - V) + reg

with ``q_a = alpha q_{n+1}`` (just after the reset), ``I`` the current of
the step and ``V`` the voltage of the step before the reset (both stored by
the forward pass).  Two choices make this consistent with the discrete
model, which matters on long trials (see docs/training.md):

- the spike-delay rate is a forward difference over one step: the arrival
  at connection ``c``'s targets moves from step ``n + 1`` to ``n + 2``,
  ``u_c = -(b_c[n + 2] - b_c[n + 1]) / dt``.  The continuous form
  ``lambda_V - lambda_I`` sampled at ``n + 1`` keeps a bias of
  ``(alpha / tau_m - (1 - alpha) / dt) q`` under a constant readout drive,
  where the exact rate is 0;
- the denominator is ``I - V``, not ``I - v_thresh``: with ``I`` constant
  over the step, ``(I - v_thresh) / (I - V) = alpha^-x`` where ``x`` is the
  fraction of the step after the crossing, so ``q_n`` carries the decay from
  the crossing to the end of the step that ``alpha^steps`` leaves out.  The
  reset makes a change of a spike time persist through all later spikes of
  the neuron; with ``I - v_thresh`` the per-spike factor is ``alpha^x``
  instead of 1, which compounds over hundreds of spikes.

Both biases are ``O(dt / tau)`` per spike and vanish as ``dt`` -> 0; before
they were removed, trials with ~150 spikes per neuron gave a hidden-layer
gradient pointing against the exact one.

A spike emitted in step ``n`` reaches the targets' ``inSyn`` in step
``n + 1``, so the weight gradient uses the adjoints of step ``n + 1``:
``dL/dW_c += spikes_pre[n]^T b_c[n + 1]``, accumulated per example and
summed over the examples in a fixed tree order.  A tied (convolution,
pooling) connection enters both places through its kernel instead of a
dense matrix (:mod:`._backward_tied`).
This is ``-tau_s sum_k lambda_I(t_k)`` of the paper with ``b = -tau_s
lambda_I``, ``q = -tau_m lambda_V``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..communicators.tree import tree_sum
from ._backward_tied import TiedAdjoint
from ._delay_learning import delay_gradient_rows
from ._forward import ForwardResult
from ._graph import Graph


def _f64(value: np.ndarray | float) -> np.ndarray | float:
    """A layer or connection constant in float64: a float, or an array per neuron."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)


@dataclass
class OutputDrive:
    """How the loss enters the output layer.

    Attributes
    ----------
    readout_grad : numpy.ndarray of float64, shape (batch, num_outputs)
        ``dL/dX`` for a voltage readout ``X`` (zeros for first_spike_time).
    spike_time_grad : numpy.ndarray of float64, shape (batch, num_outputs)
        ``dL/dt_first`` in 1/ms for first_spike_time outputs (applied at each
        neuron's first spike); zeros otherwise.
    final_kick : numpy.ndarray of float64, shape (batch, num_outputs)
        A spike-time gradient (1/ms) applied at the last step without a jump
        denominator, ``q -= tau_m * final_kick`` (mlGeNN's "phantom spike" for
        a silent correct TTFS output); zeros otherwise.
    step_grad : numpy.ndarray of float64, shape (num_steps, batch, num_outputs), or None
        A per-timestep loss's ``dL/dV_n`` at every step (it replaces the
        readout's source); None otherwise.
    """

    readout_grad: np.ndarray
    spike_time_grad: np.ndarray
    final_kick: np.ndarray
    step_grad: np.ndarray | None = None


@dataclass
class BackwardResult:
    """Weight gradients and guard statistics.

    Attributes
    ----------
    gradients : list of numpy.ndarray of float64, shape (n_pre, n_post)
        ``+dL/dW`` per connection, summed over the batch (masked for sparse);
        for a tied connection the kernel's gradient, shape ``kernel_shape``.
    clamped : int
        Spikes whose jump denominator was raised to the guard's minimum.
    delay_gradients : dict of int to numpy.ndarray of float64, shape (n_pre, n_post)
        For each connection index asked for in ``delay_learn``: ``dL/dd`` per
        synapse, ``d`` the delay in timesteps (see
        :mod:`spikehooks.training._delay_learning`), summed over the batch.
    """

    gradients: list[np.ndarray]
    clamped: int
    delay_gradients: dict[int, np.ndarray] = field(default_factory=dict)


#: Most bytes of per-example float64 gradients held at once; larger batches run
#: the backward pass in several groups of examples (each a subtree of the sum).
GRADIENT_BYTES = 256 * 2**20


def backward(
    graph: Graph,
    weights: list[np.ndarray],
    fwd: ForwardResult,
    drive: OutputDrive,
    *,
    reg: list[np.ndarray | None] | None = None,
    min_denominator: float = 1e-3,
    num_examples: int | None = None,
    tied: list[Any] | None = None,
    delay_learn: tuple[int, ...] = (),
) -> BackwardResult:
    """Sweep the adjoints from the last step to the first and collect weight gradients.

    Every example's gradient is kept on its own (float64) and the batch
    gradient is their sum in the fixed order of
    :func:`spikehooks.communicators.tree_sum`, so it is the same bits however
    a global batch is split across data-parallel ranks.  Examples are
    independent in this pass, so a batch whose per-example gradients would
    exceed :data:`GRADIENT_BYTES` runs in groups, each a subtree of that sum.

    Parameters
    ----------
    graph : Graph
    weights : list of numpy.ndarray of float32, shape (n_pre, n_post)
        The dense weights; for a tied connection its kernel
        (``kernel_shape``, see ``tied``).
    fwd : ForwardResult
        From :func:`spikehooks.training._forward.forward` with the same weights.
    drive : OutputDrive
    reg : list of (numpy.ndarray of float64, shape (batch, size)) or None, optional
        Per layer, added to ``q`` after each spike jump (firing-rate regulariser).
    min_denominator : float
        Jump denominators ``I - V`` below this (> 0) are raised to it (counted in
        ``clamped``).
    num_examples : int, optional
        The real examples, rows ``0 .. num_examples - 1`` (default: every
        row); the rest is padding and left out (not computed).
    tied : list of (TiedConnectivity or None), optional
        Per connection: its tied connectivity when ``weights`` holds its
        kernel, swept through the row tables of :mod:`._backward_tied` (never
        as a dense matrix; no delays), else None.
    delay_learn : tuple of int
        Indices of connections (each with ``delays``) whose delay gradients
        are wanted, in ``BackwardResult.delay_gradients``.

    Returns
    -------
    BackwardResult
    """
    real = fwd.spikes[0].shape[1] if num_examples is None else num_examples
    adjoints = [None if t is None else TiedAdjoint(t, w)
                for t, w in zip(tied or [None] * len(weights), weights, strict=True)]
    learn = tuple(delay_learn)
    per_example = 8 * (sum(int(w.size) for w in weights)
                       + sum(int(weights[i].size) for i in learn))
    group = max(1, GRADIENT_BYTES // max(per_example, 1))
    clamped = [0]

    def rows(lo: int, hi: int) -> list[np.ndarray]:
        if hi - lo <= group:
            part = _rows(fwd, drive, reg, lo, hi)
            grads, count = _backward_rows(graph, weights, *part, min_denominator, adjoints,
                                          learn)
            clamped[0] += count
            return [tree_sum(g, overwrite=True) for g in grads]
        # The same split as tree_sum: left subtree, right subtree, left + right.
        mid = lo + (hi - lo + 1) // 2
        return [a + b for a, b in zip(rows(lo, mid), rows(mid, hi), strict=True)]

    shapes = [w.shape for w in weights] + [weights[i].shape for i in learn]
    totals = rows(0, real) if real else [np.zeros(shape) for shape in shapes]
    for index, conn in enumerate(graph.conns):
        if adjoints[index] is not None:
            totals[index] = totals[index].reshape(weights[index].shape)
        elif conn.mask is not None:
            totals[index] *= conn.mask
    count = len(weights)
    for offset, index in enumerate(learn):
        mask = graph.conns[index].mask
        if mask is not None:
            totals[count + offset] *= mask
    return BackwardResult(totals[:count], clamped[0], dict(zip(learn, totals[count:],
                                                                strict=True)))


def _rows(fwd: ForwardResult, drive: OutputDrive, reg: list[np.ndarray | None] | None,
          lo: int, hi: int) -> tuple[ForwardResult, OutputDrive, list[np.ndarray | None] | None]:
    """The rows ``lo .. hi - 1`` of a batch's forward result, drive and regulariser."""
    def cut(arrays: list[np.ndarray | None] | None) -> list[np.ndarray | None] | None:
        return None if arrays is None else [None if a is None else a[:, lo:hi] for a in arrays]

    part = ForwardResult([s[:, lo:hi] for s in fwd.spikes], cut(fwd.denominators) or [],
                         fwd.readout[lo:hi], fwd.event_step[lo:hi], cut(fwd.currents))
    step_grad = None if drive.step_grad is None else drive.step_grad[:, lo:hi]
    part_drive = OutputDrive(drive.readout_grad[lo:hi], drive.spike_time_grad[lo:hi],
                             drive.final_kick[lo:hi], step_grad)
    part_reg = None if reg is None else [None if r is None else r[lo:hi] for r in reg]
    return part, part_drive, part_reg


def _backward_rows(graph: Graph, weights: list[np.ndarray], fwd: ForwardResult,
                   drive: OutputDrive, reg: list[np.ndarray | None] | None,
                   min_denominator: float,
                   adjoints: list[TiedAdjoint | None],
                   learn: tuple[int, ...] = ()) -> tuple[list[np.ndarray], int]:
    """The backward pass of every row of ``fwd``: per-example gradients and clamped count.

    Returns
    -------
    grads : list of numpy.ndarray of float64, shape (rows, n_pre, n_post)
        One per connection, then one delay gradient per entry of ``learn``.
    clamped : int
    """
    layers, conns = graph.layers, graph.conns
    num_steps, batch = fwd.spikes[0].shape[:2]
    out_index = graph.output
    out = layers[out_index]
    reg = reg or [None] * len(layers)
    q = [np.zeros((batch, lay.size)) for lay in layers]
    b = [np.zeros((batch, layers[c.post].size)) for c in conns]
    # Per-example gradients: summed over examples by backward() in a fixed order.
    grads = [np.zeros((batch, *w.shape)) if a is None else a.zeros(batch)
             for w, a in zip(weights, adjoints, strict=True)]
    w64 = [np.asarray(w, dtype=np.float64) for w in weights]
    any_spikes = [np.asarray(s.reshape(num_steps, -1).any(axis=1)) for s in fwd.spikes]
    clamped = 0

    # b one step later (n + 2 while step n is processed), for the spike-delay rate.
    b_later = [np.zeros_like(bc) for bc in b]
    # Delayed connections keep b of every step: a spike of step n through a synapse of
    # delay k samples b[n + 1 + k] (and b[n + 2 + k] for its delay rate).
    delayed = {index: c for index, c in enumerate(conns) if c.delays is not None}
    b_hist = {
        index: np.zeros((num_steps + int(c.delays.max()) + 3,  # type: ignore[union-attr]
                         batch, layers[c.post].size))
        for index, c in delayed.items()
    }
    groups = {index: c.delay_groups(w64[index]) for index, c in delayed.items()}
    # Per-neuron constants (mlGeNN's per-neuron parameters) are float64 arrays of shape
    # (size,) broadcast over the batch; one number stays a float.
    alpha = [_f64(lay.alpha) for lay in layers]
    tau_m = [np.broadcast_to(np.asarray(lay.tau_m, dtype=np.float64), (lay.size,))
             for lay in layers]
    c_in = [_f64(layers[c.post].neuron_scale) * _f64(c.syn_scale) for c in conns]
    beta = [_f64(c.beta) for c in conns]

    # Per-step source of the output layer's q.
    g = drive.readout_grad
    if out.readout == "avg_var":
        g = g * float(np.float32(1.0 / num_steps))
    # avg_var_exp_weight: the forward pass's float32 weight of each step.
    exp_weights = (np.exp(-np.arange(num_steps) / num_steps).astype(np.float32)
                   * np.float32(1.0 / num_steps)).astype(np.float64)
    ttfs = out.readout == "first_spike_time"

    def direct(step: int) -> np.ndarray:
        """The voltage readout's own ``dL/dV`` at ``step``."""
        if drive.step_grad is not None:
            return drive.step_grad[step]
        if out.readout == "max_var":
            return np.where(fwd.event_step == step, drive.readout_grad, 0.0)
        if out.readout == "avg_var_exp_weight":
            return g * exp_weights[step]
        return g

    # Before the first source the adjoints are all zero: start there.
    start = num_steps - 1
    if ttfs and not drive.final_kick.any() and not any(r is not None for r in reg):
        hit = fwd.event_step[drive.spike_time_grad != 0]
        start = int(hit.max()) if hit.size else -1

    for n in range(start, -1, -1):
        # Spiking entries of step n as (example, neuron) index pairs: spikes are sparse.
        fired = {
            li: np.nonzero(fwd.spikes[li][n]) for li in range(len(layers)) if any_spikes[li][n]
        }
        # Synapse phase: adjoints still hold step n + 1.
        for index, conn in enumerate(conns):
            if conn.pre in fired and index not in delayed:
                # Each (example, neuron) pair fires at most once per step: no duplicates.
                rows, cols = fired[conn.pre]
                tied_adj = adjoints[index]
                if tied_adj is not None:
                    tied_adj.add_gradient(grads[index], b[index], rows, cols)
                    continue
                grads[index][rows, cols] += b[index][rows]
        jumps = {}
        for li, (rows, cols) in fired.items():
            lay = layers[li]
            if lay.kind != "lif":
                continue
            fb = np.zeros(len(rows))
            for index in lay.outgoing:
                # Delaying the spike by one step moves its arrival from n + 1 to n + 2:
                # the loss changes at the rate u = -(b[n + 2] - b[n + 1]) / dt per unit weight.
                if index in delayed:
                    hist = b_hist[index]
                    for k, w_k in groups[index]:
                        u = (hist[n + 2 + k][rows] - hist[n + 1 + k][rows]) * (-1.0 / graph.dt)
                        fb += np.einsum("kj,kj->k", u, w_k[cols])
                    continue
                tied_adj = adjoints[index]
                if tied_adj is not None:
                    fb += tied_adj.feedback(b_later[index], b[index], rows, cols, graph.dt)
                    continue
                u = (b_later[index][rows] - b[index][rows]) * (-1.0 / graph.dt)
                fb += np.einsum("kj,kj->k", u, w64[index][cols])
            jumps[li] = fb * tau_m[li][cols]

        # Neuron phase: move every layer to step n.
        for li, lay in enumerate(layers):
            if lay.kind == "input":
                continue
            ql = q[li]
            ql *= alpha[li]
            if li == out_index and not ttfs:
                ql += direct(n)
            if li == out_index and n == num_steps - 1:
                ql -= tau_m[li] * drive.final_kick
            if li in jumps:
                rows, cols = fired[li]
                dens, curs = fwd.denominators[li], fwd.currents
                assert dens is not None and curs is not None  # every LIF layer has them
                den = dens[n][rows, cols].astype(np.float64)
                cur = curs[li][n][rows, cols].astype(np.float64)  # type: ignore[index]
                low = den < min_denominator
                if low.any():
                    clamped += int(low.sum())
                    den = np.maximum(den, min_denominator)
                numer = ql[rows, cols] * cur + jumps[li]
                if li == out_index and ttfs:
                    first = fwd.event_step[rows, cols] == n
                    numer -= np.where(first, tau_m[li][cols] * drive.spike_time_grad[rows, cols],
                                      0.0)
                ql[rows, cols] = numer / den
                term = reg[li]
                if term is not None:
                    ql[rows, cols] += term[rows, cols]
        for index, conn in enumerate(conns):
            bc = b[index]
            b_later[index][:] = bc
            if conn.synapse == "exponential":
                bc *= beta[index]
            else:
                bc[:] = 0.0
            bc += c_in[index] * q[conn.post]
            if index in delayed:
                b_hist[index][n] = bc

    for index, conn in delayed.items():
        pre = fwd.spikes[conn.pre].astype(np.float64)
        assert conn.delays is not None
        for k, _ in groups[index]:
            # Summed over steps only: one gradient per example.
            sampled = np.einsum("nbi,nbj->bij", pre, b_hist[index][1 + k:num_steps + 1 + k])
            grads[index] += sampled * (conn.delays == k)
    return grads + [delay_gradient_rows(fwd, conns[i], w64[i], b_hist[i], num_steps)
                    for i in learn], clamped
