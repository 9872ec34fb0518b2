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
from numba import njit, prange

# Layer table columns (int64) and kinds.
L_KIND, L_SIZE, L_Q, L_SPIKE, L_OUT_START, L_OUT_COUNT, L_REG = range(7)
INPUT, LIF, LI = range(3)
# Per-neuron float64 columns (rows: every layer's neurons, at L_Q).
LF_ALPHA, LF_TAU_M = range(2)
# Connection table columns (int64).
K_PRE, K_POST, K_EXP, K_B, K_W, K_NPRE, K_NPOST = range(7)
# Per-target-neuron float64 columns (rows: every connection's targets, at K_B).
KF_C_IN, KF_BETA = range(2)
# Output readout modes (PER_STEP: a per-timestep loss's dL/dV of every step).
VOLTAGE, MAX_VAR, TTFS, PER_STEP = range(4)


@njit(cache=True, nogil=True)
def _add_into(dst, src):
    """``dst += src`` (vectorised by LLVM)."""
    for j in range(dst.shape[0]):
        dst[j] += src[j]


@njit(cache=True, nogil=True)
def _scale(dst, factor):
    """``dst *= factor``, one factor per entry."""
    for j in range(dst.shape[0]):
        dst[j] = dst[j] * factor[j]


@njit(cache=True, nogil=True)
def _update_b(b, q_post, exponential, beta, c_in):
    """``b = beta b + c_in q_post`` (exponential) or ``c_in q_post`` (delta), per entry."""
    for j in range(b.shape[0]):
        value = b[j] * beta[j] if exponential else 0.0
        b[j] = value + c_in[j] * q_post[j]


@njit(cache=True, nogil=True)
def _sweep_entry(e, start, num_steps, dt, out_index, mode, min_den, lay_i, lay_f, con_i, con_f,
                 outgoing, weights, spikes, dens, curs, event_step, readout_grad, step_w,
                 spike_time_grad, final_kick, step_grad, reg, q_size, b_size, grads, clamped):
    """Sweep batch entry ``e`` (see :func:`sweep`)."""
    num_layers, num_conns = lay_i.shape[0], con_i.shape[0]
    q = np.zeros(q_size)
    badj = np.zeros(b_size)
    # b one step later (n + 2 while step n is processed), for the spike-delay rate.
    blater = np.zeros(b_size)
    inv_dt = -1.0 / dt
    jump = np.zeros(q_size)
    # Step n's spiking ids of layer l, ascending, in fired_ids[s0:s0 + num_fired[l]]
    # (s0 = the layer's first spike column): gathered once per step, read by every phase.
    fired_ids = np.empty(max(spikes.shape[2], 1), dtype=np.int64)
    num_fired = np.zeros(num_layers, dtype=np.int64)
    g = grads[e]
    g[:] = 0.0
    count = 0
    for n in range(start, -1, -1):
        for li in range(num_layers):
            size, s0 = lay_i[li, L_SIZE], lay_i[li, L_SPIKE]
            fired = spikes[e, n, s0:s0 + size]
            # Branch-free gathering of the spiking ids (spikes are rare and unpredictable).
            found = 0
            for i in range(size):
                fired_ids[s0 + found] = i
                found += 1 if fired[i] else 0
            num_fired[li] = found
        # Synapse phase: adjoints still hold step n + 1.
        for c in range(num_conns):
            pre, n_post = con_i[c, K_PRE], con_i[c, K_NPOST]
            s0, b0, w0 = lay_i[pre, L_SPIKE], con_i[c, K_B], con_i[c, K_W]
            bc = badj[b0:b0 + n_post]
            for k in range(num_fired[pre]):
                i = fired_ids[s0 + k]
                _add_into(g[w0 + i * n_post:w0 + (i + 1) * n_post], bc)
        for li in range(num_layers):
            if lay_i[li, L_KIND] != LIF:
                continue
            s0, q0 = lay_i[li, L_SPIKE], lay_i[li, L_Q]
            for k in range(num_fired[li]):
                i = fired_ids[s0 + k]
                fb = 0.0
                for k in range(lay_i[li, L_OUT_COUNT]):
                    c = outgoing[lay_i[li, L_OUT_START] + k]
                    n_post, b0, w0 = con_i[c, K_NPOST], con_i[c, K_B], con_i[c, K_W]
                    row = w0 + i * n_post
                    # Delaying the spike by one step moves its arrival from n + 1 to
                    # n + 2: u = -(b[n + 2] - b[n + 1]) / dt per unit weight.
                    for j in range(n_post):
                        u = (blater[b0 + j] - badj[b0 + j]) * inv_dt
                        fb += u * weights[row + j]
                jump[q0 + i] = fb * lay_f[q0 + i, LF_TAU_M]
        # Neuron phase: move every layer to step n.
        for li in range(num_layers):
            kind = lay_i[li, L_KIND]
            if kind == INPUT:
                continue
            size, q0, s0 = lay_i[li, L_SIZE], lay_i[li, L_Q], lay_i[li, L_SPIKE]
            tau_m = lay_f[q0:q0 + size, LF_TAU_M]
            ql = q[q0:q0 + size]
            _scale(ql, lay_f[q0:q0 + size, LF_ALPHA])
            if li == out_index:
                for i in range(size):
                    if mode == VOLTAGE:
                        ql[i] += readout_grad[e, i] * step_w[n]
                    elif mode == MAX_VAR and event_step[e, i] == n:
                        ql[i] += readout_grad[e, i]
                    elif mode == PER_STEP:
                        ql[i] += step_grad[n, e, i]
                    if n == num_steps - 1:
                        ql[i] -= tau_m[i] * final_kick[e, i]
            if kind != LIF:
                continue
            for k in range(num_fired[li]):
                i = fired_ids[s0 + k]
                den = np.float64(dens[e, n, s0 + i])
                if den < min_den:
                    count += 1
                    den = min_den
                numer = ql[i] * np.float64(curs[e, n, s0 + i]) + jump[q0 + i]
                if li == out_index and mode == TTFS and event_step[e, i] == n:
                    numer -= tau_m[i] * spike_time_grad[e, i]
                value = numer / den
                r0 = lay_i[li, L_REG]
                if r0 >= 0:
                    value += reg[e, r0 + i]
                ql[i] = value
        for c in range(num_conns):
            b0, n_post = con_i[c, K_B], con_i[c, K_NPOST]
            qp = lay_i[con_i[c, K_POST], L_Q]
            exp = con_i[c, K_EXP] != 0
            blater[b0:b0 + n_post] = badj[b0:b0 + n_post]
            _update_b(badj[b0:b0 + n_post], q[qp:qp + n_post], exp,
                      con_f[b0:b0 + n_post, KF_BETA], con_f[b0:b0 + n_post, KF_C_IN])
    clamped[e] = count


@njit(cache=True, parallel=True)
def sweep(start, num_steps, dt, out_index, mode, min_den, lay_i, lay_f, con_i, con_f,
          outgoing, weights, spikes, dens, curs, event_step, readout_grad, step_w,
          spike_time_grad, final_kick, step_grad, reg, q_size, b_size, grads, clamped):
    """Sweep the adjoints from step ``start`` down to 0, for every batch entry in parallel.

    Parameters
    ----------
    spikes : numpy.ndarray of bool, shape (batch, num_steps, neurons of all layers)
        Entry-major, so one entry's sweep reads its steps from one block.
    dens : numpy.ndarray of float32, same shape
        Jump denominators ``I - V`` at LIF spikes (``V`` before the reset).
    curs : numpy.ndarray of float32, same shape
        The current ``I`` at LIF spikes.
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
        Filled with each entry's ``dL/dW`` (flat, per connection at ``K_W``).
    clamped : numpy.ndarray of int64, shape (batch,)
        Spikes whose denominator was raised to ``min_den``.
    """
    for e in prange(spikes.shape[0]):
        _sweep_entry(e, start, num_steps, dt, out_index, mode, min_den, lay_i, lay_f, con_i,
                     con_f, outgoing, weights, spikes, dens, curs, event_step, readout_grad,
                     step_w, spike_time_grad, final_kick, step_grad, reg, q_size, b_size,
                     grads, clamped)


@njit(cache=True, nogil=True)
def sweep_serial(start, num_steps, dt, out_index, mode, min_den, lay_i, lay_f, con_i, con_f,
                 outgoing, weights, spikes, dens, curs, event_step, readout_grad, step_w,
                 spike_time_grad, final_kick, step_grad, reg, q_size, b_size, grads, clamped):
    """:func:`sweep` on the calling thread alone."""
    for e in range(spikes.shape[0]):
        _sweep_entry(e, start, num_steps, dt, out_index, mode, min_den, lay_i, lay_f, con_i,
                     con_f, outgoing, weights, spikes, dens, curs, event_step, readout_grad,
                     step_w, spike_time_grad, final_kick, step_grad, reg, q_size, b_size,
                     grads, clamped)


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
