"""One population's step in the compiled time loop: input, update, fire, reset, readout.

:func:`update` does, for one batch entry, what the NumPy backend's
injection and neuron update do, float32 operation by float32 operation,
and leaves the spike flags (``spikes``) and the id list of the neurons that
fired (``ids[s0:s0 + counts[s0]]``, ascending, ``s0`` the population's first
spike column), which delivery, the spike records and the recording buffer
read in place of scanning the flags.

The common LIF (no refractory time, no per-neuron parameters, no voltage
or spike-count readout) takes one fused pass (:func:`._neurons.lif_fused`):
its lone incoming connection's injection, the update, the voltage before
the update (for the spike records) and the spike count; the ids are only
gathered in a step with spikes, and a ``first_spike_time`` readout only
visits them.  Every other case runs the general per-neuron loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._alif import alif
from ._gather import gather
from ._neurons import (
    if_input,
    inject,
    li,
    li_each,
    lif_fused,
    readout_after_reset,
    readout_after_v,
)
from ._tables import (
    ALIF,
    AVG_EXP,
    C_DECAY_AT,
    C_EXPONENTIAL,
    C_OUT,
    C_SCALED,
    CF_DECAY,
    CF_ISCALE,
    FIRST_SPIKE,
    IF,
    IF_INPUT,
    INTEGRATE_IN_REFRAC,
    LI,
    LIF,
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
    SPIKE_INPUT,
)


@njit(cache=True, nogil=True, inline='always')
def _lif_fast(b, p, pop_i, pop_f, conn_i, conn_f, fstate, spikes, now, ids, counts, v_prev,
              fuse, c):
    """LIF without refractory time, per-neuron parameters or voltage readout: one pass.

    ``fuse``: inject connection ``c`` in the pass (else ``Isyn`` is ready).
    """
    n, vcol, scol = pop_i[p, P_N], pop_i[p, P_V], pop_i[p, P_SPIKE]
    isyn, flags = pop_i[p, P_ISYN], pop_i[p, P_FLAGS]
    o0 = conn_i[c, C_OUT] if fuse else isyn
    one = np.float32(1.0)
    # Factors the model does not have are 1.0 (see lif_fused).
    iscale = conn_f[c, CF_ISCALE] if conn_i[c, C_SCALED] != 0 else one
    decay = conn_f[c, CF_DECAY] if conn_i[c, C_EXPONENTIAL] != 0 else one
    oma = pop_f[p, PF_ONE_MINUS_ALPHA] if (flags & SCALE_I) != 0 else one
    alpha, relative = pop_f[p, PF_ALPHA], (flags & RELATIVE_RESET) != 0
    thresh, reset, drop = pop_f[p, PF_THRESH], pop_f[p, PF_RESET], pop_f[p, PF_DROP]
    V, isyn_v, acc = fstate[b, vcol:vcol + n], fstate[b, isyn:isyn + n], fstate[b, o0:o0 + n]
    fired = spikes[b, scol:scol + n]
    # A literal inject flag: two loops, neither with a dead branch.
    if fuse:
        count = lif_fused(V, isyn_v, acc, fired, v_prev, True, iscale, decay, alpha, oma,
                          thresh, reset, drop, relative)
    else:
        count = lif_fused(V, isyn_v, acc, fired, v_prev, False, iscale, decay, alpha, oma,
                          thresh, reset, drop, relative)
    if count > 0:
        gather(fired, ids[scol:scol + n])
        if pop_i[p, P_READOUT] == FIRST_SPIKE:
            # first_spike_time: only the neurons that fired, as readout_after_reset does.
            a0, value = pop_i[p, P_ACC], -now
            for k in range(count):
                col = a0 + ids[scol + k]
                if value > fstate[b, col] or value != value:
                    fstate[b, col] = value
    counts[scol] = count


@njit(cache=True, nogil=True, inline='always')
def _lif(b, p, pop_i, pop_f, fstate, spikes, now, step_w, v_prev, keep_v):
    """The general LIF loop: refractory time, parameters per neuron, any readout."""
    n, vcol, scol = pop_i[p, P_N], pop_i[p, P_V], pop_i[p, P_SPIKE]
    tvar, rvar = pop_i[p, P_THRESH_VAR], pop_i[p, P_RESET_VAR]
    avar, fvar = pop_i[p, P_ALPHA_VAR], pop_i[p, P_TREFRAC_VAR]
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
    if keep_v:
        for i in range(n):
            v_prev[i] = fstate[b, vcol + i]
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
        readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w)
        fired = v >= thresh
        if refractory:
            fired = fired and refrac <= np.float32(0.0)
        if fired:
            v = v - drop if relative else reset
        fstate[b, vcol + i] = v
        if refractory:
            fstate[b, rcol + i] = tau_refrac if fired else refrac
        spikes[b, scol + i] = fired
        readout_after_reset(b, p, pop_i, fstate, i, fired, now)


@njit(cache=True, nogil=True, inline='always')
def update(b, t, r, batch, p, pop_i, pop_f, conn_i, conn_f, inj, fstate, spikes, consts, data_f,
           data_b, uniforms, spike_times, pointers, now, step_w, ids, counts, v_prev, keep_v):
    """Inject, update, fire and reset population ``p`` for entry ``b`` at step ``t``.

    ``r``: the step within this kernel call (the row of ``uniforms``);
    ``now``: the step's time in ms; ``step_w``: avg_var_exp_weight's float32
    weight of step ``t``.  Leaves the population's spike ids in ``ids`` /
    ``counts`` (see the module docstring); with ``keep_v`` (a LIF population
    with jump records) the voltages before the update in ``v_prev``.
    """
    kind, n = pop_i[p, P_KIND], pop_i[p, P_N]
    vcol, scol = pop_i[p, P_V], pop_i[p, P_SPIKE]
    # Parameters given per neuron live in fstate (GeNN variables a callback may edit).
    tvar, rvar = pop_i[p, P_THRESH_VAR], pop_i[p, P_RESET_VAR]
    avar, fvar = pop_i[p, P_ALPHA_VAR], pop_i[p, P_TREFRAC_VAR]
    readout = pop_i[p, P_READOUT]
    fast = kind == LIF and (pop_i[p, P_FLAGS] & REFRACTORY) == 0 and tvar < 0 and rvar < 0 \
        and avar < 0 and fvar < 0 and (readout == NO_READOUT or readout == FIRST_SPIKE)
    num_in, lone = pop_i[p, P_INJ_COUNT], pop_i[p, P_LONE_DELTA] != 0
    c = inj[pop_i[p, P_INJ_START]] if num_in > 0 else 0
    # The fast LIF injects a lone connection with one synapse tau itself.
    fuse = fast and num_in == 1 and not lone and conn_i[c, C_DECAY_AT] < 0
    if num_in > 0 and not lone and not fuse:
        inject(b, p, pop_i, conn_i, conn_f, inj, fstate, consts)
    if fast:
        _lif_fast(b, p, pop_i, pop_f, conn_i, conn_f, fstate, spikes, now, ids, counts, v_prev,
                  fuse, c)
        return
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
        else:
            count = if_input(fstate[b, vcol:vcol + n], fstate[b, icol:icol + n],
                             spikes[b, scol:scol + n], thresh, reset)
            if count == 0:
                counts[scol] = 0
                return
    elif kind == SPIKE_INPUT:
        base = pop_i[p, P_POINTER] + b * n
        count = 0
        for i in range(n):
            q = pointers[base + i]
            fired = spike_times[q] <= now
            spikes[b, scol + i] = fired
            pointers[base + i] = q + (1 if fired else 0)
            ids[scol + count] = i
            count += 1 if fired else 0
        counts[scol] = count
        return
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
            readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w)
            fired = v >= (fstate[b, tvar + i] if tvar >= 0 else thresh)
            spikes[b, scol + i] = fired
            if fired:
                v = fstate[b, rvar + i] if rvar >= 0 else reset
            fstate[b, vcol + i] = v
            readout_after_reset(b, p, pop_i, fstate, i, fired, now)
    elif kind == LIF:
        _lif(b, p, pop_i, pop_f, fstate, spikes, now, step_w, v_prev, keep_v)
    elif kind == ALIF:
        alif(b, p, pop_i, pop_f, fstate, spikes, now, step_w)
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
            li_each(V, fstate[b, isyn:isyn + n], bias_v, bias >= 0, fstate[b, avar:avar + n],
                    scale_i, acc, readout, scale)
        else:
            li(V, fstate[b, isyn:isyn + n], bias_v, bias >= 0, alpha, one_minus_alpha,
               scale_i, acc, readout, scale)
        return
    # Every other spiking population: its ids from its flags.
    counts[scol] = gather(spikes[b, scol:scol + n], ids[scol:scol + n])


__all__ = ["update"]
