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
    """
    if any(conn.delays is not None for conn in graph.conns):
        return backward(graph, weights, fwd, drive, reg=reg, min_denominator=min_denominator,
                        num_examples=num_examples)
    from ..backends.compiled_backend._numba import register_twin, use_threads
    from ._backward_kernel import (
        MAX_VAR,
        PER_STEP,
        TTFS,
        VOLTAGE,
        sweep,
        sweep_serial,
        tree_sum_rows,
    )

    layers, out_index = graph.layers, graph.output
    # The compiled forward pass keeps per-spike records; a dense forward pass (the
    # NumPy one) is turned into the same records.
    records = fwd.records
    if records is None:
        assert fwd.currents is not None  # every forward pass keeps them
        records = SpikeRecordsData.from_dense(fwd.spikes, fwd.denominators, fwd.currents)
    num_steps, batch = records.num_steps, records.rec_i.shape[0]
    out = layers[out_index]
    if reg is None:
        with_reg = _NO_REG.get(len(layers))
        if with_reg is None:
            with_reg = _NO_REG[len(layers)] = (False,) * len(layers)
    else:
        with_reg = tuple(r is not None for r in reg)
    (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, col_layer, w_size,
     spans) = _tables(graph, with_reg)
    # float32 -> float64 is exact: the same values as converting array by array.
    flat_w = np.concatenate([w.reshape(-1) for w in weights], dtype=np.float64)
    regs = [] if reg is None else [r for r in reg if r is not None]
    reg_arr = (np.concatenate(regs, axis=1).astype(np.float64) if regs
               else _no_reg_rows(batch))
    ttfs = out.readout == "first_spike_time"
    mode = TTFS if ttfs else MAX_VAR if out.readout == "max_var" else VOLTAGE
    # A per-timestep loss: its own dL/dV at every step replaces the readout's source.
    step_grad = _NO_STEP_GRAD
    if drive.step_grad is not None:
        mode = PER_STEP
        step_grad = np.ascontiguousarray(drive.step_grad, dtype=np.float64)
    g = np.asarray(drive.readout_grad, dtype=np.float64)
    if out.readout == "avg_var":
        g = g * float(np.float32(1.0 / num_steps))
    step_w = _step_weights(num_steps, out.readout)
    start = num_steps - 1
    spike_time_grad = np.asarray(drive.spike_time_grad, dtype=np.float64)
    final_kick = np.asarray(drive.final_kick, dtype=np.float64)
    event_step = np.asarray(fwd.event_step, dtype=np.int64)
    if ttfs and not regs and not final_kick.any():
        # The latest step with a spike-time gradient (-1: none), where the sweep starts.
        from ._update_kernels import latest_hit

        start = int(latest_hit(event_step, spike_time_grad))
    grads, clamped, total = _buffers(batch, max(w_size, 1))
    kernel = sweep_serial
    if batch > 1 and use_threads(num_threads or 1):
        kernel = sweep
        register_twin(sweep, sweep_serial)
    kernel(start, num_steps, float(graph.dt), out_index, mode, float(min_denominator),
           lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, flat_w, records.rec_i,
           records.rec_f, records.counts, records.col_map, col_layer, event_step, g, step_w,
           spike_time_grad, final_kick, step_grad, reg_arr, grads, clamped,
           _powers(lay_i, alpha, con_i, beta, num_steps) if mode == TTFS else _NO_POWERS)
    # The real entries' gradients summed in the NumPy sweep's fixed tree order:
    # independent of the number of threads and of how ranks split a batch.
    real = batch if num_examples is None else num_examples
    # (Compiled: the same additions as communicators.tree.tree_sum, so the same bits.)
    tree_sum_rows(grads, real if start >= 0 else 0, total)
    # One copy of the summed gradients; each connection's is a view of its part.
    summed = total.copy()
    result = []
    for (w0, n_pre, n_post), conn in zip(spans, graph.conns, strict=True):
        grad = summed[w0:w0 + n_pre * n_post].reshape(n_pre, n_post)
        if conn.mask is not None:
            grad *= conn.mask
        result.append(grad)
    return BackwardResult(result, int(clamped.sum()) if start >= 0 else 0)


#: Per number of layers: ``with_reg`` of a sweep without regulariser terms.
_NO_REG: dict[int, tuple[bool, ...]] = {}
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


def _buffers(batch: int, w_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grads (batch, w_size) float64, clamped (batch,) int64, total (w_size,) float64)``.

    Reused across batches of one shape: the sweep writes every entry's row
    and count, and the tree sum writes ``total`` (which callers never keep:
    the gradients returned are copies).
    """
    buffers = getattr(_THREAD_BUFFERS, "by_shape", None)
    if buffers is None:
        buffers = _THREAD_BUFFERS.by_shape = {}
    key = (batch, w_size)
    if key not in buffers:
        buffers[key] = (np.empty((batch, w_size)), np.zeros(batch, np.int64),
                        np.empty(w_size))
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


#: The tables of a graph object by its id (checked against a weak reference to it).
_BY_GRAPH: dict[int, tuple[Any, tuple[bool, ...], tuple]] = {}
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
    ``l`` has regulariser increments.  A graph is never changed once built
    (its layers and connections describe the compiled network), so the
    tables of one graph object are looked up by its identity after the
    first batch.
    """
    # A graph seen before (the same object, every batch of a training run):
    # its tables without rebuilding the layout key.
    known = _BY_GRAPH.get(id(graph))
    if known is not None and known[0]() is graph and known[1] == with_reg:
        return known[2]
    key = _layout_key(graph, with_reg)
    cached = _TABLES.get(key)
    if cached is not None:
        _BY_GRAPH[id(graph)] = (weakref.ref(graph), with_reg, cached)
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
    _BY_GRAPH[id(graph)] = (weakref.ref(graph), with_reg, tables)
    return tables


__all__ = ["backward_compiled"]
