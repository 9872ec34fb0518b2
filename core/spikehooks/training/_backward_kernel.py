"""EventProp's backward pass in compiled code: one batch entry per thread, float64.

The same sweep as :func:`spikehooks.training._backward.backward` (see its
module docstring for the equations), written per batch entry so entries run
in parallel with ``prange``.  Each entry accumulates its own gradient;
entries are then summed in entry order, so the result does not depend on
the number of threads.  It differs from the NumPy sweep only by float64
rounding (BLAS products and ``einsum`` there, plain loops here).
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll, njit, prange
from numba import uint64 as U

from ..backends.compiled_backend._borrow import borrowed
from ._update_kernels import latest_hit

# Layer table columns (int64) and kinds.
L_KIND, L_SIZE, L_Q, L_SPIKE, L_OUT_START, L_OUT_COUNT, L_REG = range(7)
INPUT, LIF, LI = range(3)
# Connection table columns (int64).
K_PRE, K_POST, K_EXP, K_B, K_W, K_NPRE, K_NPOST = range(7)
# Output readout modes (PER_STEP: a per-timestep loss's dL/dV of every step).
VOLTAGE, MAX_VAR, TTFS, PER_STEP = range(4)


@njit(cache=True, nogil=True, inline='always')
def _skip_silent(k, q, badj, blater, lay_i, con_i, c_in, powers):
    """Move the adjoints over ``k >= 1`` steps without spikes or sources at once.

    Without a source the adjoints decay linearly: after ``k`` steps
    ``q_k = alpha^k q`` and ``b_k = beta^k b + c_in q T_k`` with
    ``T_k = beta T_{k-1} + alpha^k`` (``powers``); ``blater`` gets ``b_{k-1}``.
    Equal to ``k`` single steps up to float64 rounding.
    """
    q_size, b_size = q.shape[0], badj.shape[0]
    row, row1 = powers[k], powers[k - 1]
    for c in range(con_i.shape[0]):
        b0, n_post = con_i[c, K_B], con_i[c, K_NPOST]
        qp = lay_i[con_i[c, K_POST], L_Q] - b0
        p, s = q_size, q_size + b_size
        # Unsigned indices (see the module docstring): LLVM vectorises the loops.
        if lay_i[con_i[c, K_PRE], L_KIND] == LIF:
            for j in range(b0, b0 + n_post):
                old, drive = badj[U(j)], c_in[U(j)] * q[U(qp + j)]
                blater[U(j)] = row1[U(p + j)] * old + drive * row1[U(s + j)]
                badj[U(j)] = row[U(p + j)] * old + drive * row[U(s + j)]
        else:
            # Only a LIF source's jump reads b one step later: none here.
            for j in range(b0, b0 + n_post):
                badj[U(j)] = row[U(p + j)] * badj[U(j)] + (c_in[U(j)] * q[U(qp + j)]) * row[
                    U(s + j)]
    for i in range(q_size):
        q[U(i)] = q[U(i)] * row[U(i)]


@njit(cache=True, nogil=True)
def _sweep_entry(e, start, num_steps, dt, out_index, mode, min_den, tables, recs, drive, grads,
                 clamped, work):
    """Sweep batch entry ``e`` (see :func:`sweep`).

    ``tables``: ``(lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, weights,
    col_map, col_layer, powers)``; ``recs``: ``(rec_i, rec_f, counts)``;
    ``drive``: ``(event_step, readout_grad, step_w, spike_time_grad,
    final_kick, step_grad, reg)``; ``work``: the entry's ``(q, badj, blater,
    jump)`` rows.  (Tuples: a call of more than 30 arguments compiles to a
    ``*args`` call, which numba cannot inline.)  With a first_spike_time
    output (no per-step source) the steps between spikes are skipped at once
    (:func:`_skip_silent`, when ``powers`` has more than one row).
    """
    (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, weights, col_map, col_layer,
     powers) = tables
    rec_i, rec_f, counts = recs
    event_step, readout_grad, step_w, spike_time_grad, final_kick, step_grad, reg = drive
    q, badj, blater, jump = work
    num_layers, num_conns = lay_i.shape[0], con_i.shape[0]
    q[:] = 0.0
    badj[:] = 0.0
    # b one step later (n + 2 while step n is processed), for the spike-delay rate.
    blater[:] = 0.0
    inv_dt = -1.0 / dt
    g = grads[e]
    g[:] = 0.0
    count = 0
    # Records are in step order: walk them from the last, a step's block at a time.
    k = counts[e] - 1
    while k >= 0 and rec_i[e, k, 0] > start:
        k -= 1
    # Nothing before the entry's first spike adds to a gradient: stop there.
    stop = rec_i[e, 0, 0] if k >= 0 else start + 1
    skip = mode == TTFS and powers.shape[0] > 1
    n = start
    while n >= stop:
        if skip and n != num_steps - 1 and rec_i[e, k, 0] < n:
            # Steps n .. rec + 1 have no spike and no source: jump to the next spike.
            _skip_silent(n - rec_i[e, k, 0], q, badj, blater, lay_i, con_i, c_in, powers)
            n = rec_i[e, k, 0]
        hi = k + 1
        while k >= 0 and rec_i[e, k, 0] == n:
            k -= 1
        lo = k + 1
        # Synapse phase: adjoints still hold step n + 1.  Each spike adds b to its
        # weights' gradients and (LIF) gets its jump's feedback term.
        for r in range(lo, hi):
            col = col_map[rec_i[e, r, 1]]
            li = col_layer[col]
            i = col - lay_i[li, L_Q]
            out0, n_out = lay_i[li, L_OUT_START], lay_i[li, L_OUT_COUNT]
            for m in range(n_out):
                c = outgoing[out0 + m]
                n_post, b0 = con_i[c, K_NPOST], con_i[c, K_B]
                row = con_i[c, K_W] + i * n_post
                for j in range(n_post):
                    g[U(row + j)] += badj[U(b0 + j)]
            if lay_i[li, L_KIND] != LIF:
                continue
            fb = 0.0
            for m in range(n_out):
                c = outgoing[out0 + m]
                n_post, b0 = con_i[c, K_NPOST], con_i[c, K_B]
                row = con_i[c, K_W] + i * n_post
                # Delaying the spike by one step moves its arrival from n + 1 to
                # n + 2: u = -(b[n + 2] - b[n + 1]) / dt per unit weight.
                for j in range(n_post):
                    u = (blater[U(b0 + j)] - badj[U(b0 + j)]) * inv_dt
                    fb += u * weights[U(row + j)]
            jump[col] = fb * tau_m[col]
        # Neuron phase: move every layer to step n.
        for li in range(num_layers):
            if lay_i[li, L_KIND] == INPUT:
                continue
            size, q0 = lay_i[li, L_SIZE], lay_i[li, L_Q]
            for i in range(q0, q0 + size):
                q[U(i)] = q[U(i)] * alpha[U(i)]
            if li == out_index:
                for i in range(size):
                    if mode == VOLTAGE:
                        q[q0 + i] += readout_grad[e, i] * step_w[n]
                    elif mode == MAX_VAR and event_step[e, i] == n:
                        q[q0 + i] += readout_grad[e, i]
                    elif mode == PER_STEP:
                        q[q0 + i] += step_grad[n, e, i]
                    if n == num_steps - 1:
                        q[q0 + i] -= tau_m[q0 + i] * final_kick[e, i]
        # Jumps of the LIF neurons that spiked in step n.
        for r in range(lo, hi):
            col = col_map[rec_i[e, r, 1]]
            li = col_layer[col]
            if lay_i[li, L_KIND] != LIF:
                continue
            i = col - lay_i[li, L_Q]
            den = np.float64(rec_f[e, r, 1])
            if den < min_den:
                count += 1
                den = min_den
            numer = q[col] * np.float64(rec_f[e, r, 0]) + jump[col]
            if li == out_index and mode == TTFS and event_step[e, i] == n:
                numer -= tau_m[col] * spike_time_grad[e, i]
            value = numer / den
            r0 = lay_i[li, L_REG]
            if r0 >= 0:
                value += reg[e, r0 + i]
            q[col] = value
        for c in range(num_conns):
            b0, n_post = con_i[c, K_B], con_i[c, K_NPOST]
            qp = lay_i[con_i[c, K_POST], L_Q] - b0
            # Only a LIF source's jump reads b one step later (blater).
            if lay_i[con_i[c, K_PRE], L_KIND] == LIF:
                for j in range(b0, b0 + n_post):
                    blater[U(j)] = badj[U(j)]
            if con_i[c, K_EXP] != 0:
                for j in range(b0, b0 + n_post):
                    badj[U(j)] = badj[U(j)] * beta[U(j)] + c_in[U(j)] * q[U(qp + j)]
            else:
                for j in range(b0, b0 + n_post):
                    # (0.0 + x, not x: the same bits as the exponential case's sum, -0.0 too.)
                    badj[U(j)] = 0.0 + c_in[U(j)] * q[U(qp + j)]
        n -= 1
    clamped[e] = count


@njit(cache=True, nogil=True, inline='always')
def _sweep_borrowed(e, start, num_steps, dt, out_index, mode, min_den, tables, recs, drive,
                    grads, clamped, work):
    """:func:`_sweep_entry` on borrowed views (see ``compiled_backend._borrow``)."""
    (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, weights, col_map, col_layer,
     powers) = tables
    rec_i, rec_f, counts = recs
    event_step, readout_grad, step_w, spike_time_grad, final_kick, step_grad, reg = drive
    q_size, b_size = alpha.shape[0], beta.shape[0]
    _sweep_entry(
        e, start, num_steps, dt, out_index, mode, min_den,
        (borrowed(lay_i), borrowed(alpha), borrowed(tau_m), borrowed(con_i), borrowed(c_in),
         borrowed(beta), borrowed(outgoing), borrowed(weights), borrowed(col_map),
         borrowed(col_layer), borrowed(powers)),
        (borrowed(rec_i), borrowed(rec_f), borrowed(counts)),
        (borrowed(event_step), borrowed(readout_grad), borrowed(step_w),
         borrowed(spike_time_grad), borrowed(final_kick), borrowed(step_grad), borrowed(reg)),
        borrowed(grads), borrowed(clamped),
        (borrowed(work[e, :q_size]), borrowed(work[e, q_size:q_size + b_size]),
         borrowed(work[e, q_size + b_size:q_size + 2 * b_size]),
         borrowed(work[e, q_size + 2 * b_size:2 * q_size + 2 * b_size])))


@njit(cache=True, nogil=True, inline='always')
def _first_step(start, find_start, event_step, spike_time_grad, final_kick):
    """The step the sweep starts from: ``start``, or with ``find_start`` the latest hit.

    With ``find_start`` (a first_spike_time output without regulariser) and
    no final kick, nothing has a source after the latest step with a
    spike-time gradient (:func:`._update_kernels.latest_hit`, -1: none).
    """
    if not find_start:
        return start
    for b in range(final_kick.shape[0]):
        for i in range(final_kick.shape[1]):
            if final_kick[b, i] != 0.0:
                return start
    return latest_hit(event_step, spike_time_grad)


@njit(cache=True, parallel=True)
def sweep(start, find_start, num_steps, dt, out_index, mode, min_den, lay_i, alpha, tau_m,
          con_i, c_in, beta, outgoing, weights, rec_i, rec_f, counts, col_map, col_layer,
          event_step, readout_grad, step_w, spike_time_grad, final_kick, step_grad, reg, grads,
          clamped, powers, real, out):
    """Sweep every batch entry in parallel from the first step down to 0; sum the gradients.

    Returns the number of spikes whose jump denominator was clamped (every
    entry's), and leaves in ``out`` the tree sum of the first ``real``
    entries' gradients (:func:`tree_sum_rows`; zeros when no step has a
    source).  One call does all of a batch's compiled backward work.

    Parameters
    ----------
    start : int
        Step to start from (``num_steps - 1``).
    find_start : bool
        Start from the latest step with a spike-time gradient instead, if no
        entry has a final kick (see :func:`_first_step`).
    lay_i : numpy.ndarray of int64, shape (layers, 7)
        Layer table (``L_*`` columns; ``L_Q``: the layer's first joined index).
    alpha, tau_m : numpy.ndarray of float64, shape (all layers' neurons,)
        Per neuron, by joined index.
    con_i : numpy.ndarray of int64, shape (connections, 7)
    c_in, beta : numpy.ndarray of float64, shape (all connections' targets,)
        Per target neuron of each connection (at ``K_B``).
    weights : numpy.ndarray of float64, shape (weights,)
        Every connection's weights, flat (at ``K_W``).
    rec_i, rec_f : numpy.ndarray, int32 / float32, shape (batch, capacity, 2)
        Spike records, in step order per entry: ``(step, column)`` and
        ``(I, I - V)`` (the current and jump denominator at a LIF spike).
    counts : numpy.ndarray of int64, shape (batch,)
        Records per entry.
    col_map : numpy.ndarray of int64
        Joined neuron index of each record column.
    col_layer : numpy.ndarray of int64, shape (all layers' neurons,)
        Layer of each joined index.
    event_step, readout_grad, spike_time_grad, final_kick
        The output drive, shape (batch, num_outputs) (``readout_grad`` already
        scaled by ``1 / num_steps`` for avg_var).
    step_w : numpy.ndarray of float64, shape (num_steps,)
        Weight of each step's voltage readout source (all 1 except for
        avg_var_exp_weight, the forward pass's float32 weights).
    step_grad : numpy.ndarray of float64, shape (num_steps, batch, num_outputs)
        Mode ``PER_STEP``: the per-timestep loss's ``dL/dV`` of every step
        (any shape otherwise; not read).
    reg : numpy.ndarray of float64, shape (batch, columns)
        Regulariser increments of the layers with ``L_REG >= 0``.
    grads : numpy.ndarray of float64, shape (batch, weights)
        Work: each entry's ``dL/dW`` (flat, per connection at ``K_W``).
    clamped : numpy.ndarray of int64, shape (batch,)
        Work: spikes whose denominator was raised to ``min_den``, per entry.
    powers : numpy.ndarray of float64, shape (num_steps + 1, neurons + 2 * targets)
        Row ``k``: ``alpha^k`` per neuron, then ``beta^k`` and ``T_k`` per
        connection target (see :func:`_skip_silent`); one row: no skipping.
    real : int
        Entries whose gradients are summed (the rest are batch padding).
    out : numpy.ndarray of float64, shape (weights,)
        The summed gradient.
    """
    first = _first_step(start, find_start, event_step, spike_time_grad, final_kick)
    if first < 0:
        out[:] = 0.0
        return 0
    work = np.empty((grads.shape[0], 2 * (alpha.shape[0] + beta.shape[0])))
    tables = (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, weights, col_map, col_layer,
              powers)
    drive = (event_step, readout_grad, step_w, spike_time_grad, final_kick, step_grad, reg)
    for e in prange(grads.shape[0]):
        _sweep_borrowed(e, first, num_steps, dt, out_index, mode, min_den, tables,
                        (rec_i, rec_f, counts), drive, grads, clamped, work)
    tree_sum_rows(grads, real, out)
    return clamped.sum()


@njit(cache=True, nogil=True)
def sweep_serial(start, find_start, num_steps, dt, out_index, mode, min_den, lay_i, alpha,
                 tau_m, con_i, c_in, beta, outgoing, weights, rec_i, rec_f, counts, col_map,
                 col_layer, event_step, readout_grad, step_w, spike_time_grad, final_kick,
                 step_grad, reg, grads, clamped, powers, real, out):
    """:func:`sweep` on the calling thread alone."""
    first = _first_step(start, find_start, event_step, spike_time_grad, final_kick)
    if first < 0:
        out[:] = 0.0
        return 0
    work = np.empty((grads.shape[0], 2 * (alpha.shape[0] + beta.shape[0])))
    tables = (lay_i, alpha, tau_m, con_i, c_in, beta, outgoing, weights, col_map, col_layer,
              powers)
    drive = (event_step, readout_grad, step_w, spike_time_grad, final_kick, step_grad, reg)
    for e in range(grads.shape[0]):
        _sweep_borrowed(e, first, num_steps, dt, out_index, mode, min_den, tables,
                        (rec_i, rec_f, counts), drive, grads, clamped, work)
    tree_sum_rows(grads, real, out)
    return clamped.sum()


@njit(cache=True, nogil=True)
def _tree_reduce(work, count):
    """Leave the tree sum of ``work[:count]`` in ``work[0]`` (split at ``lo + ceil(n / 2)``).

    The recursion of :func:`spikehooks.communicators.tree.tree_sum`, walked
    with an explicit stack (numba's disk cache cannot hold recursive
    functions): a node adds its right subtree's sum into its left one's
    once both are complete.
    """
    # (lo, hi, stage): stage 0 = left subtree next, 1 = right next, 2 = add.
    stack = np.empty((64, 3), dtype=np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, count, 0
    top = 1
    while top > 0:
        lo, hi, stage = stack[top - 1, 0], stack[top - 1, 1], stack[top - 1, 2]
        if hi - lo < 2:
            top -= 1
            continue
        mid = lo + (hi - lo + 1) // 2
        if stage == 2:
            left, right = work[lo], work[mid]
            for j in range(left.shape[0]):
                left[j] = left[j] + right[j]
            top -= 1
            continue
        stack[top - 1, 2] = stage + 1
        stack[top, 0], stack[top, 1], stack[top, 2] = (lo, mid, 0) if stage == 0 else (mid, hi, 0)
        top += 1


@njit(cache=True, nogil=True)
def tree_sum_rows(work, count, out):
    """``out = `` the tree sum of ``work[:count]`` (float64, ``work`` destroyed).

    The same additions in the same order as
    :func:`spikehooks.communicators.tree.tree_sum`, so the same bits: each
    node adds its right subtree's sum to its left one's, element by element.
    """
    if count == 0:
        out[:] = 0.0
        return
    _tree_reduce(work, count)
    out[:] = work[0]


@njit(cache=True, nogil=True)
def flatten_weights(weights, out):
    """Copy the 2-D weight arrays ``weights`` (a tuple), row by row, into ``out`` (float64).

    ``np.concatenate`` of their flat views in one call: float32 to float64 is
    exact, so the same values, without a temporary list of views.
    """
    k = 0
    for w in literal_unroll(weights):
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                out[k] = w[i, j]
                k += 1
