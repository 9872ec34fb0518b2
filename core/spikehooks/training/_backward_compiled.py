"""Tables for the compiled backward sweep, and the call that runs it."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from ._backward import BackwardResult, OutputDrive, backward
from ._forward import ForwardResult
from ._graph import Graph
from ._spike_records import SpikeRecordsData

_KINDS = {"input": 0, "lif": 1, "li": 2}


def backward_compiled(
    graph: Graph,
    weights: list[np.ndarray],
    fwd: ForwardResult,
    drive: OutputDrive,
    *,
    reg: list[np.ndarray | None] | None = None,
    min_denominator: float = 1e-3,
    num_examples: int | None = None,
    num_threads: int | None = None,
) -> BackwardResult:
    """Compiled equivalent of :func:`spikehooks.training._backward.backward`.

    Same parameters and result; ``num_threads`` spreads batch entries over
    threads (default: one).  Gradients agree with the
    NumPy sweep to float64 rounding.  Synaptic delays have no compiled code:
    a graph with them is swept by the NumPy sweep (the compiled backend
    refuses delays, so only a direct call gets here with them).

    Called once per training batch: everything that depends only on the
    graph (tables, step weights, decay powers) is built on the first call
    and reused, and one compiled call finds the first step, sweeps every
    entry and sums the gradients.
    """
    conns = graph.conns
    for conn in conns:
        if conn.delays is not None:
            return backward(graph, weights, fwd, drive, reg=reg,
                            min_denominator=min_denominator, num_examples=num_examples)
    kernels = _KERNELS or _load_kernels()
    regs: list[np.ndarray] = []
    if reg is None:
        plan = _plan(graph, None)
    else:
        plan = _plan(graph, tuple(r is not None for r in reg))
        regs = [r for r in reg if r is not None]
    # The compiled forward pass keeps per-spike records; a dense forward pass (the
    # NumPy one) is turned into the same records.
    records = fwd.records
    if records is None:
        assert fwd.currents is not None  # every forward pass keeps them
        records = SpikeRecordsData.from_dense(fwd.spikes, fwd.denominators, fwd.currents)
    num_steps, batch = records.num_steps, records.rec_i.shape[0]
    readout = graph.layers[plan.out_index].readout
    if readout != plan.readout:
        plan.set_readout(readout)
    # float32 -> float64 is exact: the same values as converting array by array.
    flat_w = np.empty(plan.w_size)
    kernels.flatten_weights(tuple(weights), flat_w)
    reg_arr = (np.concatenate(regs, axis=1).astype(np.float64) if regs
               else _no_reg_rows(batch))
    step_w, powers = plan.steps.get(num_steps) or plan.add_steps(num_steps)
    mode = plan.mode
    # A per-timestep loss: its own dL/dV at every step replaces the readout's source.
    step_grad = _NO_STEP_GRAD
    if drive.step_grad is not None:
        mode, powers = kernels.PER_STEP, _NO_POWERS
        step_grad = np.ascontiguousarray(drive.step_grad, dtype=np.float64)
    g = np.asarray(drive.readout_grad, dtype=np.float64)
    if plan.readout == "avg_var":
        g = g * float(np.float32(1.0 / num_steps))
    grads, clamped = _buffers(batch, plan.w_size)
    total = np.empty(plan.w_size)
    kernel = kernels.sweep_serial
    if batch > 1 and num_threads is not None and kernels.use_threads(num_threads):
        kernel = kernels.sweep
        kernels.register_twin(kernels.sweep, kernels.sweep_serial)
    lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer = plan.tables
    # The kernel starts at the latest step with a spike-time gradient when nothing
    # later has a source (first_spike_time, no regulariser, no final kick), sweeps
    # each entry, and sums the real entries' gradients in the NumPy sweep's fixed tree
    # order (communicators.tree.tree_sum's additions, so its bits): independent of
    # the number of threads and of how ranks split a batch.
    count = kernel(
        num_steps - 1, plan.ttfs and not regs, num_steps, float(graph.dt), plan.out_index, mode,
        float(min_denominator), lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, flat_w,
        records.rec_i, records.rec_f, records.counts, records.col_map, col_layer,
        np.asarray(fwd.event_step, dtype=np.int64), g, step_w,
        np.asarray(drive.spike_time_grad, dtype=np.float64),
        np.asarray(drive.final_kick, dtype=np.float64), step_grad, reg_arr, grads, clamped,
        powers if mode == kernels.TTFS else _NO_POWERS,
        batch if num_examples is None else num_examples, total)
    # Each connection's gradient is a view of its part of the one summed array.
    result = []
    for (w0, w1, shape), conn in zip(plan.spans, conns, strict=True):
        grad = total[w0:w1].reshape(shape)
        if conn.mask is not None:
            grad *= conn.mask
        result.append(grad)
    return BackwardResult(result, int(count))


class _Kernels:
    """The compiled sweep and what picking it needs (imported on first use: numba)."""

    def __init__(self) -> None:
        from ..backends.compiled_backend._numba import register_twin, use_threads
        from ._backward_kernel import (
            MAX_VAR,
            PER_STEP,
            TTFS,
            VOLTAGE,
            flatten_weights,
            sweep,
            sweep_serial,
        )

        self.register_twin, self.use_threads = register_twin, use_threads
        self.sweep, self.sweep_serial = sweep, sweep_serial
        self.flatten_weights = flatten_weights
        self.VOLTAGE, self.MAX_VAR, self.TTFS, self.PER_STEP = VOLTAGE, MAX_VAR, TTFS, PER_STEP


_KERNELS: _Kernels | None = None


def _load_kernels() -> _Kernels:
    global _KERNELS
    _KERNELS = _Kernels()
    return _KERNELS


class _Plan:
    """What the sweep of one graph reads that does not change between batches.

    Attributes
    ----------
    tables : tuple
        ``(lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer)`` (see
        :func:`._backward_kernel.sweep`).
    w_size : int
        Flat weights of all connections (at least 1).
    spans : list of (int, int, (int, int))
        Per connection: first and end flat weight, and ``(n_pre, n_post)``.
    out_index : int
        The output layer.
    readout, ttfs, mode
        Its readout (whether first_spike_time) and the sweep's readout mode.
    steps : dict of int to (numpy.ndarray, numpy.ndarray)
        Per trial length: the step weights (:func:`_step_weights`) and the
        decay powers (:func:`_powers`; first_spike_time only), for ``readout``.
    """

    def __init__(self, graph: Graph, with_reg: tuple[bool, ...]) -> None:
        (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer, w_size,
         spans) = _tables(graph, with_reg)
        self.tables = (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer)
        self.w_size = max(w_size, 1)
        self.spans = [(w0, w0 + n_pre * n_post, (n_pre, n_post)) for w0, n_pre, n_post in spans]
        self.out_index = graph.output
        self.set_readout(graph.layers[self.out_index].readout)

    def set_readout(self, readout: str | None) -> None:
        """Take the output's readout (a test may change it between calls)."""
        kernels = _KERNELS or _load_kernels()
        self.readout, self.ttfs = readout, readout == "first_spike_time"
        self.mode = (kernels.TTFS if self.ttfs else
                     kernels.MAX_VAR if readout == "max_var" else kernels.VOLTAGE)
        self.steps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def add_steps(self, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """The step weights and decay powers of trials of ``num_steps`` steps (kept)."""
        lay_i, alpha, _, con_i, _, beta, _, _ = self.tables
        powers = (_powers(lay_i, alpha, con_i, beta, num_steps) if self.ttfs
                  else _NO_POWERS)
        self.steps[num_steps] = _step_weights(num_steps, self.readout), powers
        return self.steps[num_steps]


#: Plans by graph (its id, checked against a weak reference to it), then regulariser layout.
_PLANS: dict[int, tuple[Any, dict[tuple[bool, ...] | None, _Plan]]] = {}


def _plan(graph: Graph, with_reg: tuple[bool, ...] | None) -> _Plan:
    """The :class:`_Plan` of ``graph`` (``with_reg``: None for no regulariser terms).

    A graph is never changed once built (its layers and connections describe
    the compiled network; only learned delays may appear, and those are
    checked every batch), so its plan is looked up by its identity.
    """
    key = id(graph)
    known = _PLANS.get(key)
    if known is None or known[0]() is not graph:
        def forget(_: Any, key: int = key) -> None:
            _PLANS.pop(key, None)  # the entry goes with its graph

        known = _PLANS[key] = (weakref.ref(graph, forget), {})
    plan = known[1].get(with_reg)
    if plan is None:
        plan = known[1][with_reg] = _Plan(graph, with_reg or (False,) * len(graph.layers))
    return plan


#: The sweep's ``step_grad`` argument when the loss has no per-step gradient (never read).
_NO_STEP_GRAD = np.zeros((1, 1, 1), dtype=np.float64)
#: Per batch size: the sweep's ``reg`` argument without regulariser terms (zeros, never written).
_NO_REG_ROWS: dict[int, np.ndarray] = {}


def _no_reg_rows(batch: int) -> np.ndarray:
    """Zeros of shape (batch, 1), float64: no regulariser increments (shared, read-only)."""
    rows = _NO_REG_ROWS.get(batch)
    if rows is None:
        # (Left writeable: a read-only array would be another numba signature to compile.)
        rows = _NO_REG_ROWS[batch] = np.zeros((batch, 1), dtype=np.float64)
    return rows


#: Per-batch work arrays by shape, reused (the sweep overwrites them every batch).
#: One set per thread: two networks training in two threads must not share them.
_THREAD_BUFFERS = threading.local()
#: Step weights of the voltage readouts by (num_steps, readout).
_STEP_WEIGHTS: dict[tuple[int, str | None], np.ndarray] = {}


def _buffers(batch: int, w_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(grads (batch, w_size) float64, clamped (batch,) int64)``: the sweep's work arrays.

    Reused across batches of one shape: the sweep writes every entry's row
    and count before reading them.
    """
    buffers = getattr(_THREAD_BUFFERS, "by_shape", None)
    if buffers is None:
        buffers = _THREAD_BUFFERS.by_shape = {}
    key = (batch, w_size)
    if key not in buffers:
        buffers[key] = (np.empty((batch, w_size)), np.zeros(batch, np.int64))
    return buffers[key]


def _step_weights(num_steps: int, readout: str | None) -> np.ndarray:
    """Weight of each step's voltage readout source (float64, shape (num_steps,))."""
    key = (num_steps, readout if readout == "avg_var_exp_weight" else None)
    if key not in _STEP_WEIGHTS:
        if key[1] is None:
            weights = np.ones(num_steps, dtype=np.float64)
        else:
            # The forward pass's float32 weight of each step (as the NumPy sweep).
            weights = (np.exp(-np.arange(num_steps) / num_steps).astype(np.float32)
                       * np.float32(1.0 / num_steps)).astype(np.float64)
        _STEP_WEIGHTS[key] = weights
    return _STEP_WEIGHTS[key]


#: Per (layer table, num_steps): the sweep's table of decay powers (see :func:`_powers`).
_POWERS: dict[tuple[int, int], np.ndarray] = {}
#: No powers: the sweep takes every step.
_NO_POWERS = np.zeros((1, 1))


def _powers(lay_i: np.ndarray, alpha: np.ndarray, con_i: np.ndarray, beta: np.ndarray,
            num_steps: int) -> np.ndarray:
    """Row ``k`` (0 .. num_steps): ``alpha^k`` per neuron, ``beta^k`` and ``T_k`` per target.

    ``T_k = beta T_{k-1} + alpha_post^k`` (``T_0 = 0``; ``beta = 0`` for a delta
    synapse), so ``k`` source-free steps take ``b`` to ``beta^k b + c_in q T_k``:
    the sweep's skip over steps without spikes (float64, by recurrence).
    """
    key = (id(lay_i), num_steps)
    if key not in _POWERS:
        q_size, b_size = len(alpha), len(beta)
        # Each connection target's neuron (joined index); padding rows use neuron 0.
        post = np.zeros(b_size, dtype=np.int64)
        for _, target, _, b0, _, _, n_post in con_i:
            post[b0:b0 + n_post] = lay_i[target, 2] + np.arange(n_post)
        table = np.zeros((num_steps + 1, q_size + 2 * b_size))
        table[0, :q_size + b_size] = 1.0
        for k in range(1, num_steps + 1):
            table[k, :q_size] = table[k - 1, :q_size] * alpha
            table[k, q_size:q_size + b_size] = table[k - 1, q_size:q_size + b_size] * beta
            table[k, q_size + b_size:] = (beta * table[k - 1, q_size + b_size:]
                                          + table[k, :q_size][post])
        _POWERS[key] = table
    return _POWERS[key]


#: Tables of a graph by its layout (see :func:`_tables`); graphs are few and fixed.
_TABLES: dict[tuple, tuple] = {}


def _value_key(value: Any) -> Any:
    """A constant as a hashable key: the float, or the bytes of a per-neuron array."""
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value, dtype=np.float64).tobytes()


def _layout_key(graph: Graph, with_reg: tuple[bool, ...]) -> tuple:
    """Everything of ``graph`` the sweep's tables are built from."""
    k = _value_key
    return (tuple((lay.kind, lay.size, k(lay.alpha), k(lay.tau_m),
                   k(lay.neuron_scale), tuple(lay.outgoing)) for lay in graph.layers),
            tuple((c.pre, c.post, c.synapse, k(c.beta), k(c.syn_scale))
                  for c in graph.conns),
            with_reg)


def _tables(graph: Graph, with_reg: tuple[bool, ...]) -> tuple:
    """The sweep's layer and connection tables, built once per graph layout.

    Returns ``(lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer, w_size,
    spans)`` (see :func:`._backward_kernel.sweep`; ``spans``: per connection
    ``(first flat weight, n_pre, n_post)`` as ints); ``with_reg[l]`` says whether layer
    ``l`` has regulariser increments.  Built once per graph object (see
    :func:`_plan`); graphs of the same layout share them.
    """
    key = _layout_key(graph, with_reg)
    cached = _TABLES.get(key)
    if cached is not None:
        return cached
    layers, conns = graph.layers, graph.conns
    lay_i = np.full((len(layers), 7), -1, dtype=np.int64)
    total = max(sum(lay.size for lay in layers), 1)
    # Per neuron, by joined index (each layer's at L_Q): alpha and tau_m, which may
    # differ from neuron to neuron (mlGeNN's per-neuron parameters), and its layer.
    alpha, tau_m = np.zeros(total), np.zeros(total)
    col_layer = np.zeros(total, dtype=np.int64)
    outgoing: list[int] = []
    q_size = reg_size = 0
    for li, lay in enumerate(layers):
        row = lay_i[li]
        row[0], row[1], row[2], row[3] = _KINDS[lay.kind], lay.size, q_size, q_size
        row[4], row[5] = len(outgoing), len(lay.outgoing)
        outgoing.extend(lay.outgoing)
        if with_reg[li]:
            row[6] = reg_size
            reg_size += lay.size
        alpha[q_size:q_size + lay.size] = np.asarray(lay.alpha, dtype=np.float64)
        tau_m[q_size:q_size + lay.size] = np.asarray(lay.tau_m, dtype=np.float64)
        col_layer[q_size:q_size + lay.size] = li
        q_size += lay.size
    con_i = np.zeros((len(conns), 7), dtype=np.int64)
    # Per target neuron (each connection's at its b offset): c_in and beta.
    b_total = max(sum(layers[c.post].size for c in conns), 1)
    c_in, beta = np.zeros(b_total), np.zeros(b_total)
    b_size = w_size = 0
    for index, conn in enumerate(conns):
        n_pre, n_post = layers[conn.pre].size, layers[conn.post].size
        exponential = conn.synapse == "exponential"
        con_i[index] = (conn.pre, conn.post, int(exponential), b_size, w_size, n_pre, n_post)
        c_in[b_size:b_size + n_post] = (np.asarray(layers[conn.post].neuron_scale,
                                                   dtype=np.float64)
                                        * np.asarray(conn.syn_scale, dtype=np.float64))
        beta[b_size:b_size + n_post] = (np.asarray(conn.beta, dtype=np.float64)
                                        if exponential else 0.0)
        b_size += n_post
        w_size += n_pre * n_post
    spans = [(int(row[4]), int(row[5]), int(row[6])) for row in con_i]
    tables = (lay_i, alpha, tau_m, con_i, c_in, beta,
              np.asarray(outgoing or [0], dtype=np.int64), col_layer, w_size, spans)
    _TABLES[key] = tables
    return tables


__all__ = ["backward_compiled"]
