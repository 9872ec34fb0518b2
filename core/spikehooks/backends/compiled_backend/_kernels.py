"""The compiled time loop: every step of a batch in one call, batch entries across cores.

One step (the NumPy backend's order, float32 operation by operation, so the
two backends agree bit for bit):

1. every connection adds the weight rows of the spikes its source emitted
   in the previous step, one row at a time in ascending pre id (GeNN's
   single-threaded CPU order), to its accumulator (:mod:`._deliver`);
2. every population, in creation order, sums its connections' input into
   ``Isyn`` (exponential synapses decay after injecting), updates, fires,
   resets and updates its readout (:mod:`._update`); then its spikes go
   into the spike records and the recording buffer.

A population's update leaves the ids of the neurons that fired, per entry
(``ids[s0:s0 + counts[s0]]``, ``s0`` its first spike column): delivery,
the spike records and the recording buffer read those instead of scanning
every neuron's flag, and do nothing in a step without spikes.  The bool
``spikes`` array stays up to date (the backend protocol reads it), and the
lists are rebuilt from it when a kernel call starts (a callback between
calls may have changed it).

Batch entries are independent, so ``prange`` over them makes the result
independent of the number of threads.  No fast-math: LLVM may then neither
reorder sums nor fuse multiply-adds.

The entry loop is compiled without numba's runtime (``_nrt=False``): the
views and slices its inlined helpers bind are not reference counted at all
(the counting calls, even on ownerless :func:`._borrow.borrowed` views, took
two thirds of a Yin-Yang step).  It allocates nothing; numba refuses to
compile anything in it that would need the runtime.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._borrow import borrowed
from ._deliver import deliver
from ._gather import gather
from ._tables import P_ISYN, P_N, P_REC, P_SPIKE
from ._update import update


@njit(cache=True, nogil=True, inline='always')
def _record(b, t, p, pop_i, record, ids, count):
    """Pack entry ``b``'s spikes into row ``t % rows`` (bit ``i % 32`` of word ``i // 32``)."""
    n, scol, wcol = pop_i[p, P_N], pop_i[p, P_SPIKE], pop_i[p, P_REC]
    words = record[t % record.shape[0], b, wcol:wcol + (n + 31) // 32]
    words[:] = np.uint32(0)
    for k in range(count):
        i = ids[scol + k]
        words[i // 32] |= np.uint32(1) << np.uint32(i % 32)


@njit(cache=True, nogil=True, inline='always')
def _keep_spikes(b, t, p, pop_i, fstate, ids, count, v_prev, rec_pop, rec_consts, rec_i, rec_f,
                 rec_state):
    """Append entry ``b``'s ``count`` spikes of population ``p`` in step ``t`` to its records.

    One record per spike, ascending neuron id (``ids[s0:s0 + count]``):
    ``rec_i[b, k] = (t, spike column)``; for a population with ``rec_pop[p] == 2``
    (LIF) also ``rec_f[b, k] = (I, I - V)``, the current and jump denominator
    EventProp needs, with the NumPy training recorder's float32 operations:
    ``I = scale Isyn`` and ``V = alpha V_prev + neuron_scale Isyn`` (``V_prev``:
    ``v_prev``, the voltage before this step's update, 0 in a batch's first
    step), from ``rec_consts[col] = (scale, alpha, neuron_scale)``.
    """
    n, scol = pop_i[p, P_N], pop_i[p, P_SPIKE]
    k = rec_state[b, 0]
    jump = rec_pop[p] == 2
    isyn = fstate[b, pop_i[p, P_ISYN]:pop_i[p, P_ISYN] + n]
    for m in range(count):
        i = ids[scol + m]
        col = scol + i
        rec_i[b, k, 0] = t
        rec_i[b, k, 1] = col
        if jump:
            x = isyn[i]
            current = rec_consts[col, 0] * x
            v = (v_prev[i] if t > 0 else np.float32(0.0)) * rec_consts[col, 1]
            v = v + rec_consts[col, 2] * x
            rec_f[b, k, 0] = current
            rec_f[b, k, 1] = current - v
        k += 1
    rec_state[b, 0] = k


# No numba runtime: no reference counting of the arrays every step binds (module docs).
# numba's type stubs do not list its ``_nrt`` option.
@njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]
def _run_entry(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr,
               cols, fstate, spikes, record, consts, data_f, data_b, uniforms, spike_times,
               pointers, trace_cols, trace_f, trace_spikes, step_weights, lists, records):
    """Simulate timesteps ``t0 .. t1 - 1`` of batch entry ``b``.

    Every array is a :func:`borrowed` view (see the module docstring);
    ``lists`` is ``(ids, counts)``, int64 scratch of at least ``spikes.shape[1]``
    entries each for the spike id lists.
    ``records`` is ``(rec_pop, rec_consts, rec_i, rec_f, rec_state, v_prev)``
    (see :func:`run_steps`; ``v_prev``: float32 scratch of at least the
    largest population's size).  One tuple: a call of more than 30 arguments
    compiles to a ``*args`` call, which numba cannot inline.
    With spike records (``rec_state`` not empty) the entry starts at step
    ``rec_state[b, 1]`` if that is later than ``t0``, and stops before a step
    its records might not have room for, leaving that step in ``rec_state[b, 1]``.
    """
    rec_pop, rec_consts, rec_i, rec_f, rec_state, v_prev = records
    ids, counts = lists
    batch = fstate.shape[0]
    num_pops, num_conns = pop_i.shape[0], conn_i.shape[0]
    num_trace = trace_cols.shape[0]
    trace_spk = trace_spikes.shape[0] > 0
    recording = rec_state.shape[0] > 0
    t_first, per_step = t0, 0
    if recording:
        t_first = max(t0, rec_state[b, 1])
        for p in range(num_pops):
            per_step += pop_i[p, P_N] if rec_pop[p] > 0 else 0
    for p in range(num_pops):
        # The last step's spikes, as the flags have them now.
        s0, n = pop_i[p, P_SPIKE], pop_i[p, P_N]
        if s0 >= 0:
            counts[s0] = gather(spikes[b, s0:s0 + n], ids[s0:s0 + n])
    for t in range(t_first, t1):
        if recording and rec_state[b, 0] + per_step > rec_i.shape[1]:
            # A step may add a record per recorded neuron: stop for more room.
            rec_state[b, 1] = t
            return
        now = np.float32(t) * dt
        step_w = step_weights[t] if step_weights.shape[0] > t else np.float32(0.0)
        for c in range(num_conns):
            deliver(b, t, c, conn_i, weights, delays, row_ptr, cols, fstate, spikes, ids,
                    counts)
        for p in range(num_pops):
            keep = recording and rec_pop[p] > 0
            update(b, t, t - t0, batch, p, pop_i, pop_f, conn_i, conn_f, inj, fstate, spikes,
                   consts, data_f, data_b, uniforms, spike_times, pointers, now, step_w, ids,
                   counts, v_prev, keep and rec_pop[p] == 2)
            s0 = pop_i[p, P_SPIKE]
            if s0 < 0:
                continue
            count = counts[s0]
            if keep and count > 0:
                _keep_spikes(b, t, p, pop_i, fstate, ids, count, v_prev, rec_pop, rec_consts,
                             rec_i, rec_f, rec_state)
            if pop_i[p, P_REC] >= 0:
                _record(b, t, p, pop_i, record, ids, count)
        for k in range(num_trace):
            trace_f[b, t, k] = fstate[b, trace_cols[k]]
        if trace_spk:
            for k in range(spikes.shape[1]):
                trace_spikes[b, t, k] = spikes[b, k]
    if recording:
        rec_state[b, 1] = t1


@njit(cache=True, nogil=True, inline='always')
def _run_borrowed(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr,
                  cols, fstate, spikes, record, consts, data_f, data_b, uniforms, spike_times,
                  pointers, trace_cols, trace_f, trace_spikes, step_weights, ids, counts, v_prev,
                  records):
    """:func:`_run_entry` on :func:`borrowed` views of the arrays (held by the caller);
    ``records``: ``(rec_pop, rec_consts, rec_i, rec_f, rec_state)``."""
    rec_pop, rec_consts, rec_i, rec_f, rec_state = records
    _run_entry(b, t0, t1, dt, borrowed(pop_i), borrowed(pop_f), borrowed(conn_i),
               borrowed(conn_f), borrowed(inj), borrowed(weights), borrowed(delays),
               borrowed(row_ptr), borrowed(cols), borrowed(fstate), borrowed(spikes),
               borrowed(record), borrowed(consts), borrowed(data_f), borrowed(data_b),
               borrowed(uniforms), borrowed(spike_times), borrowed(pointers),
               borrowed(trace_cols), borrowed(trace_f), borrowed(trace_spikes),
               borrowed(step_weights), (borrowed(ids), borrowed(counts)),
               (borrowed(rec_pop), borrowed(rec_consts), borrowed(rec_i), borrowed(rec_f),
                borrowed(rec_state), borrowed(v_prev)))


@njit(cache=True, parallel=True, nogil=True)
def run_steps(t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr, cols,
              fstate, spikes, record, consts, data_f, data_b, uniforms, spike_times, pointers,
              trace_cols, trace_f, trace_spikes, step_weights, rec_pop, rec_consts, rec_i,
              rec_f, rec_state, v_size):
    """Simulate timesteps ``t0 .. t1 - 1`` of every batch entry.

    Parameters
    ----------
    t0, t1 : int
        Timesteps within the batch.
    dt : numpy.float32
        Step in ms (time of step ``t`` is ``float32(t) * dt``).
    pop_i, pop_f : numpy.ndarray, int64 (P, POP_INT_COLUMNS) / float32 (P, POP_FLOAT_COLUMNS)
    conn_i, conn_f : numpy.ndarray, int64 (C, CONN_INT_COLUMNS) / float32 (C, CONN_FLOAT_COLUMNS)
    inj : numpy.ndarray of int64
        Incoming connection indices of every population, in injection order.
    weights : numpy.ndarray of float32
        Every connection's pre-major weight table, flat.
    delays : numpy.ndarray of int64
        Delayed connections' per-synapse delays (timesteps), pre-major, flat.
    row_ptr, cols : numpy.ndarray of int64
        Sparse connections' existing synapses per pre neuron (CSR).
    fstate : numpy.ndarray of float32, shape (batch, columns)
        Every state variable, readout, ``Isyn`` and ``inSyn``.
    spikes : numpy.ndarray of bool, shape (batch, spiking neurons)
    record : numpy.ndarray of uint32, shape (rec_steps, batch, words)
    consts : numpy.ndarray of float32
        Per-neuron constants (biases; ExpDecay and IScale of synapse taus given
        per target neuron).
    data_f, data_b : numpy.ndarray of float32 / bool
        Input frames (IntegrateFireInput frames, Poisson limits / signs).
    uniforms : numpy.ndarray of float32, shape (t1 - t0, poisson columns)
        Poisson draws of these steps, drawn beforehand in the NumPy backend's order.
    spike_times, pointers : numpy.ndarray of float32 / int64
        SpikeInput times (inf-terminated per neuron) and each neuron's next spike.
    trace_cols : numpy.ndarray of int64
        ``fstate`` columns copied into ``trace_f`` after every step (empty: no trace).
    trace_f : numpy.ndarray of float32, shape (batch, num_timesteps, len(trace_cols))
        Entry-major (C-contiguous): one entry's steps are written one after another.
    trace_spikes : numpy.ndarray of bool, shape (batch, num_timesteps, spiking neurons)
        Every step's spikes (size 0: not traced).
    step_weights : numpy.ndarray of float32, shape (at least t1,) or (0,)
        avg_var_exp_weight's weight of every step (empty: no such readout).
    rec_pop : numpy.ndarray of int64, shape (P,)
        Spike records kept per population: 0 none, 1 spikes, 2 spikes with
        EventProp's jump terms (LIF).
    rec_consts : numpy.ndarray of float32, shape (spiking neurons, 3)
        Per spike column, the jump terms' ``(scale, alpha, neuron_scale)``.
    rec_i, rec_f : numpy.ndarray of int32 / float32, shape (batch, capacity, 2)
        The records: ``(step, spike column)`` and ``(I, I - V)``, in step order.
    rec_state : numpy.ndarray of int64, shape (batch, 2), or (0, 2): no records
        Per entry, the records kept and the step it has simulated up to (see
        :func:`_run_entry`: an entry stops early when its records may run out
        of room; the caller grows them and calls again with the same ``t0``).
    v_size : int
        The largest population's size (scratch for the voltages before the update).
    """
    # Per entry: the spike id lists, and the voltages before a LIF update.
    scratch = np.empty((fstate.shape[0], 2, max(spikes.shape[1], 1)), dtype=np.int64)
    v_scratch = np.empty((fstate.shape[0], max(v_size, 1)), dtype=np.float32)
    records = (rec_pop, rec_consts, rec_i, rec_f, rec_state)
    for b in prange(fstate.shape[0]):
        _run_borrowed(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays,
                      row_ptr, cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                      spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                      scratch[b, 0], scratch[b, 1], v_scratch[b], records)


@njit(cache=True, nogil=True)
def run_steps_serial(t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr,
                     cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                     spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                     rec_pop, rec_consts, rec_i, rec_f, rec_state, v_size):
    """:func:`run_steps` on the calling thread alone (one thread or one entry: no hand-off)."""
    scratch = np.empty((fstate.shape[0], 2, max(spikes.shape[1], 1)), dtype=np.int64)
    v_scratch = np.empty((fstate.shape[0], max(v_size, 1)), dtype=np.float32)
    records = (rec_pop, rec_consts, rec_i, rec_f, rec_state)
    for b in range(fstate.shape[0]):
        _run_borrowed(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays,
                      row_ptr, cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                      spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                      scratch[b, 0], scratch[b, 1], v_scratch[b], records)
