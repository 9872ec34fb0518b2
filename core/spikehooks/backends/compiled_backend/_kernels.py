"""The compiled time loop: every step of a batch in one call, batch entries across cores.

One step (the NumPy backend's order, float32 operation by operation, so the
two backends agree bit for bit):

1. every connection adds the rows of the weights of the spikes its source
   emitted in the previous step, one row at a time in ascending pre id
   (GeNN's single-threaded CPU order), to its accumulator;
2. every population, in creation order, sums its connections' input into
   ``Isyn`` (exponential synapses decay after injecting), updates, fires,
   resets, updates its readout and packs its spikes into the recording
   buffer.

Batch entries are independent, so ``prange`` over them makes the result
independent of the number of threads.  No fast-math: LLVM may then neither
reorder sums nor fuse multiply-adds.

The entry loop sees its arrays through :func:`._borrow.borrowed` views, so
the views and slices its inlined helpers take are not reference counted
(those atomic counts took over half of a small network's step).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._borrow import borrowed
from ._tables import (
    AVG_EXP,
    AVG_VAR,
    C_DECAY_AT,
    C_DELAY,
    C_EXPONENTIAL,
    C_ISCALE_AT,
    C_ONE_TO_ONE,
    C_OUT,
    C_POST,
    C_PRE,
    C_RING,
    C_RING_SIZE,
    C_ROW_START,
    C_SCALED,
    C_SRC_SPIKE,
    C_WEIGHT,
    CF_DECAY,
    CF_ISCALE,
    FIRST_SPIKE,
    IF,
    IF_INPUT,
    INTEGRATE_IN_REFRAC,
    LI,
    LIF,
    MAX_VAR,
    NO_READOUT,
    P_ACC,
    P_ALPHA_VAR,
    P_BIAS,
    P_DATA,
    P_FLAGS,
    P_FRAME_STEPS,
    P_FRAMES,
    P_INJ_COUNT,
    P_INJ_START,
    P_INPUT,
    P_ISYN,
    P_KIND,
    P_LONE_DELTA,
    P_N,
    P_POINTER,
    P_READOUT,
    P_REC,
    P_REFRAC,
    P_RESET_VAR,
    P_SPIKE,
    P_THRESH_VAR,
    P_TREFRAC_VAR,
    P_UNIFORM,
    P_V,
    PF_ALPHA,
    PF_AVG_SCALE,
    PF_DROP,
    PF_DT,
    PF_ONE_MINUS_ALPHA,
    PF_RESET,
    PF_TAU_REFRAC,
    PF_THRESH,
    POISSON,
    REFRACTORY,
    RELATIVE_RESET,
    SCALE_I,
    SPIKE_COUNT,
    SPIKE_INPUT,
    SUM_VAR,
)


@njit(cache=True, nogil=True)
def _add_row(dst, src):
    """``dst[j] += src[j]``: one weight row into the accumulator (vectorised by LLVM)."""
    for j in range(dst.shape[0]):
        dst[j] += src[j]


@njit(cache=True, nogil=True)
def _deliver_delayed(b, t, c, conn_i, weights, delays, row_ptr, cols, fstate, fired, fired_ids):
    """A delayed connection: spikes into the ring slots ``t + d``, then slot ``t`` out.

    Per ring entry the additions come in ascending pre id, as the NumPy
    backend's sequential delayed delivery makes them (absent synapses of a
    sparse connection are skipped; NumPy adds their 0).
    """
    n_pre, n_post = conn_i[c, C_PRE], conn_i[c, C_POST]
    out, w0, d0 = conn_i[c, C_OUT], conn_i[c, C_WEIGHT], conn_i[c, C_DELAY]
    size, r0 = conn_i[c, C_RING_SIZE], conn_i[c, C_RING]
    exponential = conn_i[c, C_EXPONENTIAL] != 0
    sparse = conn_i[c, C_ROW_START] >= 0
    ring = fstate[b, r0:r0 + size * n_post]
    num_fired = 0
    for pre in range(n_pre):
        fired_ids[num_fired] = pre
        num_fired += 1 if fired[pre] else 0
    for k in range(num_fired):
        pre = fired_ids[k]
        base = pre * n_post
        if sparse:
            r = conn_i[c, C_ROW_START] + pre
            for q in range(row_ptr[r], row_ptr[r + 1]):
                j = cols[q]
                slot = (t + delays[d0 + base + j]) % size
                ring[slot * n_post + j] += weights[w0 + base + j]
        else:
            for j in range(n_post):
                slot = (t + delays[d0 + base + j]) % size
                ring[slot * n_post + j] += weights[w0 + base + j]
    acc = fstate[b, out:out + n_post]
    now = (t % size) * n_post
    for j in range(n_post):
        acc[j] = acc[j] + ring[now + j] if exponential else ring[now + j]
        ring[now + j] = np.float32(0.0)


@njit(cache=True, nogil=True, inline='always')
def _add_rows(acc, weights, w0, n_post, ids, count):
    """Add the weight rows of ``ids[:count]`` to ``acc``, one row after another.

    Four rows per pass over ``acc``: ``acc[j] = (((acc[j] + r0[j]) + r1[j]) + r2[j]) + r3[j]``
    is the same float32 additions in the same order as four passes, so the
    sums are bit for bit those of row-by-row delivery, but ``acc`` is loaded
    and stored once per four rows instead of once per row (twice as fast on
    the 784-128 benchmark layer).
    """
    k = 0
    while k + 4 <= count:
        a0 = w0 + ids[k] * n_post
        a1 = w0 + ids[k + 1] * n_post
        a2 = w0 + ids[k + 2] * n_post
        a3 = w0 + ids[k + 3] * n_post
        r0, r1 = weights[a0:a0 + n_post], weights[a1:a1 + n_post]
        r2, r3 = weights[a2:a2 + n_post], weights[a3:a3 + n_post]
        for j in range(n_post):
            acc[j] = (((acc[j] + r0[j]) + r1[j]) + r2[j]) + r3[j]
        k += 4
    while k < count:
        a0 = w0 + ids[k] * n_post
        _add_row(acc, weights[a0:a0 + n_post])
        k += 1


@njit(cache=True, nogil=True, inline='always')
def _deliver(b, t, c, conn_i, conn_f, weights, delays, row_ptr, cols, fstate, spikes,
             fired_ids):
    """Add connection ``c``'s previous-step spikes into its accumulator, entry ``b``."""
    n_pre, n_post = conn_i[c, C_PRE], conn_i[c, C_POST]
    src, out, w0 = conn_i[c, C_SRC_SPIKE], conn_i[c, C_OUT], conn_i[c, C_WEIGHT]
    exponential = conn_i[c, C_EXPONENTIAL] != 0
    fired = spikes[b, src:src + n_pre]
    if conn_i[c, C_DELAY] >= 0:
        _deliver_delayed(b, t, c, conn_i, weights, delays, row_ptr, cols, fstate, fired,
                         fired_ids)
        return
    acc = fstate[b, out:out + n_post]
    if conn_i[c, C_ONE_TO_ONE] != 0:
        # The NumPy backend multiplies the 0/1 spike by the diagonal weight.
        for i in range(n_post):
            s = np.float32(1.0) if fired[i] else np.float32(0.0)
            value = s * weights[w0 + i * n_post + i]
            acc[i] = acc[i] + value if exponential else value
        return
    if not exponential:
        acc[:] = np.float32(0.0)
    sparse = conn_i[c, C_ROW_START] >= 0
    # Branch-free gathering of the spiking ids, ascending (spikes are rare and
    # unpredictable: a branch per neuron would mispredict at every spike).
    num_fired = 0
    for pre in range(n_pre):
        fired_ids[num_fired] = pre
        num_fired += 1 if fired[pre] else 0
    if not sparse:
        _add_rows(acc, weights, w0, n_post, fired_ids, num_fired)
        return
    for k in range(num_fired):
        pre = fired_ids[k]
        row = weights[w0 + pre * n_post:w0 + (pre + 1) * n_post]
        # Absent synapses hold weight 0: skipping them leaves every sum as it is.
        r = conn_i[c, C_ROW_START] + pre
        for k in range(row_ptr[r], row_ptr[r + 1]):
            j = cols[k]
            acc[j] += row[j]


@njit(cache=True, nogil=True, inline='always')
def _inject(b, p, pop_i, conn_i, conn_f, inj, fstate, consts):
    """``Isyn = in_1 + in_2 + ...`` in connection order; exponential inputs then decay."""
    n, isyn = pop_i[p, P_N], pop_i[p, P_ISYN]
    start, count = pop_i[p, P_INJ_START], pop_i[p, P_INJ_COUNT]
    for k in range(count):
        c = inj[start + k]
        src = conn_i[c, C_OUT]
        scaled = conn_i[c, C_SCALED] != 0
        exponential = conn_i[c, C_EXPONENTIAL] != 0
        d0 = conn_i[c, C_DECAY_AT]
        if d0 >= 0:
            # A synapse tau per target neuron: ExpDecay and IScale per neuron.
            s0 = conn_i[c, C_ISCALE_AT]
            _inject_each(fstate[b, isyn:isyn + n], fstate[b, src:src + n], scaled,
                         consts[s0:s0 + n] if s0 >= 0 else consts[d0:d0 + n], k == 0,
                         consts[d0:d0 + n])
        else:
            _inject_one(fstate[b, isyn:isyn + n], fstate[b, src:src + n], scaled,
                        conn_f[c, CF_ISCALE], k == 0, exponential, conn_f[c, CF_DECAY])


@njit(cache=True, nogil=True, inline='always')
def _inject_one(total, acc, scaled, scale, first, exponential, decay):
    """Add one connection's input ``acc`` (times ``scale``) to ``total``, then decay it."""
    for i in range(total.shape[0]):
        value = acc[i] * scale if scaled else acc[i]
        total[i] = value if first else total[i] + value
        if exponential:
            acc[i] = acc[i] * decay


@njit(cache=True, nogil=True, inline='always')
def _inject_each(total, acc, scaled, scale, first, decay):
    """:func:`_inject_one` of an exponential synapse with ``scale`` and ``decay`` per neuron."""
    for i in range(total.shape[0]):
        value = acc[i] * scale[i] if scaled else acc[i]
        total[i] = value if first else total[i] + value
        acc[i] = acc[i] * decay[i]


@njit(cache=True, nogil=True, inline='always')
def _readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w):
    kind = pop_i[p, P_READOUT]
    col = pop_i[p, P_ACC] + i
    if kind == SUM_VAR:
        fstate[b, col] = fstate[b, col] + v
    elif kind == MAX_VAR:
        acc = fstate[b, col]
        # np.maximum: NaN wins.
        if v > acc or v != v:
            fstate[b, col] = v
    elif kind == AVG_VAR:
        fstate[b, col] = fstate[b, col] + v * pop_f[p, PF_AVG_SCALE]
    elif kind == AVG_EXP:
        fstate[b, col] = fstate[b, col] + v * step_w


@njit(cache=True, nogil=True, inline='always')
def _readout_after_reset(b, p, pop_i, fstate, i, spiked, now):
    kind = pop_i[p, P_READOUT]
    col = pop_i[p, P_ACC] + i
    if kind == SPIKE_COUNT:
        fstate[b, col] = fstate[b, col] + (np.float32(1.0) if spiked else np.float32(0.0))
    elif kind == FIRST_SPIKE and spiked:
        value = -now
        acc = fstate[b, col]
        if value > acc or value != value:
            fstate[b, col] = value


@njit(cache=True, nogil=True, inline='always')
def _if_input(V, inp, fired, thresh, reset):
    """IntegrateFireInput on one entry's slices (contiguous: LLVM vectorises it)."""
    for i in range(V.shape[0]):
        v = V[i] + inp[i]
        f = v >= thresh
        fired[i] = f
        V[i] = reset if f else v


@njit(cache=True, nogil=True, inline='always')
def _lif_plain(V, isyn, fired, alpha, one_minus_alpha, thresh, reset, drop, scale_i,
               relative):
    """LIF without refractory time or readout on one entry's slices (vectorisable).

    The same float32 operations as the general loop in :func:`_update`.
    """
    for i in range(V.shape[0]):
        current = isyn[i] * one_minus_alpha if scale_i else isyn[i]
        v = V[i] * alpha
        v = v + current
        f = v >= thresh
        if relative:
            V[i] = v - drop if f else v
        else:
            V[i] = reset if f else v
        fired[i] = f


@njit(cache=True, nogil=True, inline='always')
def _accumulate(acc, i, v, readout, avg_scale):
    """Add neuron ``i``'s voltage ``v`` of this step to its readout accumulator ``acc[i]``."""
    if readout == SUM_VAR:
        acc[i] = acc[i] + v
    elif readout == MAX_VAR:
        # np.maximum: NaN wins.
        if v > acc[i] or v != v:
            acc[i] = v
    elif readout == AVG_VAR or readout == AVG_EXP:
        acc[i] = acc[i] + v * avg_scale


@njit(cache=True, nogil=True, inline='always')
def _li(V, isyn, bias, has_bias, alpha, one_minus_alpha, scale_i, acc, readout, avg_scale):
    """LeakyIntegrate and its voltage readout on one entry's slices (vectorisable).

    ``avg_scale`` is avg_var's ``1 / T``, or avg_var_exp_weight's weight of the step.
    """
    for i in range(V.shape[0]):
        v = V[i] * alpha
        v = v + (isyn[i] * one_minus_alpha if scale_i else isyn[i])
        if has_bias:
            v = v + bias[i]
        V[i] = v
        _accumulate(acc, i, v, readout, avg_scale)


@njit(cache=True, nogil=True, inline='always')
def _li_each(V, isyn, bias, has_bias, alpha, scale_i, acc, readout, avg_scale):
    """:func:`_li` with ``Alpha`` per neuron (``1 - Alpha`` derived each step, in float32)."""
    for i in range(V.shape[0]):
        a = alpha[i]
        v = V[i] * a
        v = v + (isyn[i] * (np.float32(1.0) - a) if scale_i else isyn[i])
        if has_bias:
            v = v + bias[i]
        V[i] = v
        _accumulate(acc, i, v, readout, avg_scale)


@njit(cache=True, nogil=True, inline='always')
def _update(b, t, r, batch, p, pop_i, pop_f, fstate, spikes, consts, data_f, data_b, uniforms,
            spike_times, pointers, now, step_w):
    """Update, fire and reset population ``p`` for entry ``b`` at step ``t``.

    ``step_w`` is avg_var_exp_weight's float32 weight of step ``t``.
    """
    kind, n = pop_i[p, P_KIND], pop_i[p, P_N]
    vcol, scol = pop_i[p, P_V], pop_i[p, P_SPIKE]
    # Parameters given per neuron live in fstate (GeNN variables a callback may edit).
    tvar, rvar = pop_i[p, P_THRESH_VAR], pop_i[p, P_RESET_VAR]
    avar, fvar = pop_i[p, P_ALPHA_VAR], pop_i[p, P_TREFRAC_VAR]
    if kind == IF_INPUT:
        thresh, reset = pop_f[p, PF_THRESH], pop_f[p, PF_RESET]
        frames = pop_i[p, P_FRAMES]
        icol = pop_i[p, P_INPUT]
        if frames > 1:
            frame = min(t // pop_i[p, P_FRAME_STEPS], frames - 1)
            base = pop_i[p, P_DATA] + (frame * batch + b) * n
            for i in range(n):
                fstate[b, icol + i] = data_f[base + i]
        if tvar >= 0 or rvar >= 0:
            for i in range(n):
                v = fstate[b, vcol + i] + fstate[b, icol + i]
                f = v >= (fstate[b, tvar + i] if tvar >= 0 else thresh)
                spikes[b, scol + i] = f
                fstate[b, vcol + i] = (fstate[b, rvar + i] if rvar >= 0 else reset) if f else v
            return
        _if_input(fstate[b, vcol:vcol + n], fstate[b, icol:icol + n], spikes[b, scol:scol + n],
                  thresh, reset)
    elif kind == SPIKE_INPUT:
        base = pop_i[p, P_POINTER] + b * n
        for i in range(n):
            p = pointers[base + i]
            fired = spike_times[p] <= now
            spikes[b, scol + i] = fired
            if fired:
                pointers[base + i] = p + 1
    elif kind == POISSON:
        frames = pop_i[p, P_FRAMES]
        frame = min(t // pop_i[p, P_FRAME_STEPS], frames - 1)
        base = pop_i[p, P_DATA] + (frame * batch + b) * n
        ubase = pop_i[p, P_UNIFORM] + b * n
        for i in range(n):
            spikes[b, scol + i] = (uniforms[r, ubase + i] >= data_f[base + i]) and \
                data_b[base + i]
    elif kind == IF:
        thresh, reset = pop_f[p, PF_THRESH], pop_f[p, PF_RESET]
        isyn = pop_i[p, P_ISYN]
        for i in range(n):
            v = fstate[b, vcol + i] + fstate[b, isyn + i]
            _readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w)
            fired = v >= (fstate[b, tvar + i] if tvar >= 0 else thresh)
            spikes[b, scol + i] = fired
            if fired:
                v = fstate[b, rvar + i] if rvar >= 0 else reset
            fstate[b, vcol + i] = v
            _readout_after_reset(b, p, pop_i, fstate, i, fired, now)
    elif kind == LIF:
        thresh, reset, drop = pop_f[p, PF_THRESH], pop_f[p, PF_RESET], pop_f[p, PF_DROP]
        alpha, one_minus_alpha = pop_f[p, PF_ALPHA], pop_f[p, PF_ONE_MINUS_ALPHA]
        flags = pop_i[p, P_FLAGS]
        scale_i = (flags & SCALE_I) != 0
        relative = (flags & RELATIVE_RESET) != 0
        refractory = (flags & REFRACTORY) != 0
        always = (flags & INTEGRATE_IN_REFRAC) != 0
        tau_refrac = pop_f[p, PF_TAU_REFRAC]
        dt32 = pop_f[p, PF_DT]
        isyn, rcol = pop_i[p, P_ISYN], pop_i[p, P_REFRAC]
        per_neuron = tvar >= 0 or rvar >= 0 or avar >= 0 or fvar >= 0
        if not refractory and pop_i[p, P_READOUT] == NO_READOUT and not per_neuron:
            _lif_plain(fstate[b, vcol:vcol + n], fstate[b, isyn:isyn + n],
                       spikes[b, scol:scol + n], alpha, one_minus_alpha, thresh, reset, drop,
                       scale_i, relative)
            return
        for i in range(n):
            # The NumPy backend derives 1 - Alpha and Vthresh - Vreset from per-neuron
            # variables every step, in float32: the same operations here.
            if avar >= 0:
                alpha = fstate[b, avar + i]
                one_minus_alpha = np.float32(1.0) - alpha
            if tvar >= 0:
                thresh = fstate[b, tvar + i]
            if rvar >= 0:
                reset = fstate[b, rvar + i]
            if tvar >= 0 or rvar >= 0:
                drop = thresh - reset
            if fvar >= 0:
                tau_refrac = fstate[b, fvar + i]
            current = fstate[b, isyn + i]
            if scale_i:
                current = current * one_minus_alpha
            v = fstate[b, vcol + i]
            if refractory:
                refrac = fstate[b, rcol + i]
                busy = refrac > np.float32(0.0)
                if always or not busy:
                    v = v * alpha
                    v = v + current
                if busy:
                    refrac = refrac - dt32
            else:
                v = v * alpha
                v = v + current
            _readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w)
            fired = v >= thresh
            if refractory:
                fired = fired and refrac <= np.float32(0.0)
            if fired:
                v = v - drop if relative else reset
            fstate[b, vcol + i] = v
            if refractory:
                fstate[b, rcol + i] = tau_refrac if fired else refrac
            spikes[b, scol + i] = fired
            _readout_after_reset(b, p, pop_i, fstate, i, fired, now)
    elif kind == LI:
        alpha, one_minus_alpha = pop_f[p, PF_ALPHA], pop_f[p, PF_ONE_MINUS_ALPHA]
        scale_i = (pop_i[p, P_FLAGS] & SCALE_I) != 0
        isyn, bias = pop_i[p, P_ISYN], pop_i[p, P_BIAS]
        V = fstate[b, vcol:vcol + n]
        readout = pop_i[p, P_READOUT]
        acc = fstate[b, pop_i[p, P_ACC]:pop_i[p, P_ACC] + n] if readout != NO_READOUT else V
        scale = step_w if readout == AVG_EXP else pop_f[p, PF_AVG_SCALE]
        bias_v = consts[bias:bias + n] if bias >= 0 else V
        if avar >= 0:
            _li_each(V, fstate[b, isyn:isyn + n], bias_v, bias >= 0, fstate[b, avar:avar + n],
                     scale_i, acc, readout, scale)
        else:
            _li(V, fstate[b, isyn:isyn + n], bias_v, bias >= 0, alpha, one_minus_alpha,
                scale_i, acc, readout, scale)


@njit(cache=True, nogil=True)
def _record(b, t, p, pop_i, spikes, record):
    """Pack entry ``b``'s spikes into row ``t % rows`` (bit ``i % 32`` of word ``i // 32``)."""
    n, scol, wcol = pop_i[p, P_N], pop_i[p, P_SPIKE], pop_i[p, P_REC]
    row = t % record.shape[0]
    for w in range((n + 31) // 32):
        word = np.uint32(0)
        for bit in range(min(32, n - w * 32)):
            if spikes[b, scol + w * 32 + bit]:
                word |= np.uint32(1) << np.uint32(bit)
        record[row, b, wcol + w] = word


@njit(cache=True, nogil=True, inline='always')
def _keep_spikes(b, t, p, pop_i, spikes, fstate, v_prev, rec_pop, rec_consts, rec_i, rec_f,
                 rec_state):
    """Append entry ``b``'s spikes of population ``p`` in step ``t`` to its spike records.

    One record per spike, ascending neuron id: ``rec_i[b, k] = (t, spike column)``;
    for a population with ``rec_pop[p] == 2`` (LIF) also ``rec_f[b, k] = (I, I - V)``,
    the current and jump denominator EventProp needs, with the NumPy training
    recorder's float32 operations: ``I = scale Isyn`` and
    ``V = alpha V_prev + neuron_scale Isyn`` (``V_prev``: ``v_prev``, the voltage
    before this step's update, 0 in a batch's first step), from ``rec_consts[col] =
    (scale, alpha, neuron_scale)``.
    """
    n, scol = pop_i[p, P_N], pop_i[p, P_SPIKE]
    fired = spikes[b, scol:scol + n]
    total = 0
    for i in range(n):
        total += 1 if fired[i] else 0
    if total == 0:
        return
    k = rec_state[b, 0]
    jump = rec_pop[p] == 2
    isyn = fstate[b, pop_i[p, P_ISYN]:pop_i[p, P_ISYN] + n]
    for i in range(n):
        if fired[i]:
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


@njit(cache=True, nogil=True)
def _run_entry(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr,
               cols, fstate, spikes, record, consts, data_f, data_b, uniforms, spike_times,
               pointers, trace_cols, trace_f, trace_spikes, step_weights, fired_ids, records):
    """Simulate timesteps ``t0 .. t1 - 1`` of batch entry ``b``.

    Every array is a :func:`borrowed` view (see the module docstring);
    ``fired_ids`` is scratch space of at least ``spikes.shape[1]`` int64.
    ``records`` is ``(rec_pop, rec_consts, rec_i, rec_f, rec_state, v_prev)``
    (see :func:`run_steps`; ``v_prev``: float32 scratch of at least the
    largest population's size).  One tuple: a call of more than 30 arguments
    compiles to a ``*args`` call, which numba cannot inline.
    With spike records (``rec_state`` not empty) the entry starts at step
    ``rec_state[b, 1]`` if that is later than ``t0``, and stops before a step
    its records might not have room for, leaving that step in ``rec_state[b, 1]``.
    """
    rec_pop, rec_consts, rec_i, rec_f, rec_state, v_prev = records
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
    for t in range(t_first, t1):
        if recording and rec_state[b, 0] + per_step > rec_i.shape[1]:
            # A step may add a record per recorded neuron: stop for more room.
            rec_state[b, 1] = t
            return
        now = np.float32(t) * dt
        step_w = step_weights[t] if step_weights.shape[0] > t else np.float32(0.0)
        for c in range(num_conns):
            _deliver(b, t, c, conn_i, conn_f, weights, delays, row_ptr, cols, fstate, spikes,
                     fired_ids)
        for p in range(num_pops):
            if pop_i[p, P_INJ_COUNT] > 0 and pop_i[p, P_LONE_DELTA] == 0:
                _inject(b, p, pop_i, conn_i, conn_f, inj, fstate, consts)
            keep = recording and rec_pop[p] > 0
            if keep and rec_pop[p] == 2:
                v0, n = pop_i[p, P_V], pop_i[p, P_N]
                v_prev[:n] = fstate[b, v0:v0 + n]
            _update(b, t, t - t0, batch, p, pop_i, pop_f, fstate, spikes, consts, data_f,
                    data_b, uniforms, spike_times, pointers, now, step_w)
            if keep:
                _keep_spikes(b, t, p, pop_i, spikes, fstate, v_prev, rec_pop, rec_consts,
                             rec_i, rec_f, rec_state)
            if pop_i[p, P_REC] >= 0:
                _record(b, t, p, pop_i, spikes, record)
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
                  pointers, trace_cols, trace_f, trace_spikes, step_weights, fired_ids, v_prev,
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
               borrowed(step_weights), borrowed(fired_ids),
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
    # Per entry: scratch for the spiking ids of a step.
    scratch = np.empty((fstate.shape[0], max(spikes.shape[1], 1)), dtype=np.int64)
    v_scratch = np.empty((fstate.shape[0], max(v_size, 1)), dtype=np.float32)
    records = (rec_pop, rec_consts, rec_i, rec_f, rec_state)
    for b in prange(fstate.shape[0]):
        _run_borrowed(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays,
                      row_ptr, cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                      spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                      scratch[b], v_scratch[b], records)


@njit(cache=True, nogil=True)
def run_steps_serial(t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays, row_ptr,
                     cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                     spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                     rec_pop, rec_consts, rec_i, rec_f, rec_state, v_size):
    """:func:`run_steps` on the calling thread alone (one thread or one entry: no hand-off)."""
    scratch = np.empty((fstate.shape[0], max(spikes.shape[1], 1)), dtype=np.int64)
    v_scratch = np.empty((fstate.shape[0], max(v_size, 1)), dtype=np.float32)
    records = (rec_pop, rec_consts, rec_i, rec_f, rec_state)
    for b in range(fstate.shape[0]):
        _run_borrowed(b, t0, t1, dt, pop_i, pop_f, conn_i, conn_f, inj, weights, delays,
                      row_ptr, cols, fstate, spikes, record, consts, data_f, data_b, uniforms,
                      spike_times, pointers, trace_cols, trace_f, trace_spikes, step_weights,
                      scratch[b], v_scratch[b], records)
