"""Per-population loops of the compiled time loop (one batch entry's contiguous slices).

Each loop does the NumPy backend's float32 operations in its order, so the
two backends agree bit for bit; :mod:`._update` picks the loop of a
population.  The spiking loops return how many neurons fired, so the id
list (:func:`._gather.gather`) is only built in a step with spikes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._tables import (
    AVG_EXP,
    AVG_VAR,
    C_DECAY_AT,
    C_EXPONENTIAL,
    C_ISCALE_AT,
    C_OUT,
    C_SCALED,
    CF_DECAY,
    CF_ISCALE,
    FIRST_SPIKE,
    MAX_VAR,
    P_ACC,
    P_INJ_COUNT,
    P_INJ_START,
    P_ISYN,
    P_N,
    P_READOUT,
    PF_AVG_SCALE,
    SPIKE_COUNT,
    SUM_VAR,
)


@njit(cache=True, nogil=True, inline='always')
def inject(b, p, pop_i, conn_i, conn_f, inj, fstate, consts):
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
            inject_each(fstate[b, isyn:isyn + n], fstate[b, src:src + n], scaled,
                        consts[s0:s0 + n] if s0 >= 0 else consts[d0:d0 + n], k == 0,
                        consts[d0:d0 + n])
        else:
            inject_one(fstate[b, isyn:isyn + n], fstate[b, src:src + n], scaled,
                       conn_f[c, CF_ISCALE], k == 0, exponential, conn_f[c, CF_DECAY])


@njit(cache=True, nogil=True, inline='always')
def inject_one(total, acc, scaled, scale, first, exponential, decay):
    """Add one connection's input ``acc`` (times ``scale``) to ``total``, then decay it."""
    for i in range(total.shape[0]):
        value = acc[i] * scale if scaled else acc[i]
        total[i] = value if first else total[i] + value
        if exponential:
            acc[i] = acc[i] * decay


@njit(cache=True, nogil=True, inline='always')
def inject_each(total, acc, scaled, scale, first, decay):
    """:func:`inject_one` of an exponential synapse with ``scale`` and ``decay`` per neuron."""
    for i in range(total.shape[0]):
        value = acc[i] * scale[i] if scaled else acc[i]
        total[i] = value if first else total[i] + value
        acc[i] = acc[i] * decay[i]


@njit(cache=True, nogil=True, inline='always')
def readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w):
    """Neuron ``i``'s voltage readout of this step (general loops: a table lookup each)."""
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
def readout_after_reset(b, p, pop_i, fstate, i, spiked, now):
    """Neuron ``i``'s spike readout of this step (``now``: the step's time in ms)."""
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
def accumulate(acc, i, v, readout, avg_scale):
    """Add neuron ``i``'s voltage ``v`` of this step to its readout accumulator ``acc[i]``."""
    if readout == SUM_VAR:
        acc[i] = acc[i] + v
    elif readout == MAX_VAR:
        # np.maximum: NaN wins.
        a = acc[i]
        acc[i] = v if v > a or v != v else a
    elif readout == AVG_VAR or readout == AVG_EXP:
        acc[i] = acc[i] + v * avg_scale


@njit(cache=True, nogil=True, inline='always')
def li(V, isyn, bias, has_bias, alpha, one_minus_alpha, scale_i, acc, readout, avg_scale):
    """LeakyIntegrate and its voltage readout on one entry's slices (vectorisable).

    ``avg_scale`` is avg_var's ``1 / T``, or avg_var_exp_weight's weight of the step.
    """
    for i in range(V.shape[0]):
        v = V[i] * alpha
        v = v + (isyn[i] * one_minus_alpha if scale_i else isyn[i])
        if has_bias:
            v = v + bias[i]
        V[i] = v
        accumulate(acc, i, v, readout, avg_scale)


@njit(cache=True, nogil=True, inline='always')
def li_each(V, isyn, bias, has_bias, alpha, scale_i, acc, readout, avg_scale):
    """:func:`li` with ``Alpha`` per neuron (``1 - Alpha`` derived each step, in float32)."""
    for i in range(V.shape[0]):
        a = alpha[i]
        v = V[i] * a
        v = v + (isyn[i] * (np.float32(1.0) - a) if scale_i else isyn[i])
        if has_bias:
            v = v + bias[i]
        V[i] = v
        accumulate(acc, i, v, readout, avg_scale)


@njit(cache=True, nogil=True, inline='always')
def if_input(V, inp, fired, thresh, reset):
    """IntegrateFireInput on one entry's slices (vectorised); returns the spike count."""
    count = 0
    for i in range(V.shape[0]):
        v = V[i] + inp[i]
        f = v >= thresh
        fired[i] = f
        V[i] = reset if f else v
        count += 1 if f else 0
    return count


@njit(cache=True, nogil=True, inline='always')
def lif_fused(V, isyn, acc, fired, v_prev, inject, iscale, decay, alpha, one_minus_alpha,
              thresh, reset, drop, relative):
    """LIF without refractory time, per-neuron parameters or voltage readout, in one pass.

    With ``inject`` the population's one incoming connection (one synapse
    tau) is injected in the same pass, as :func:`inject_one` does it:
    ``Isyn = acc * iscale``, then ``acc *= decay``; without it ``Isyn`` holds
    the input already.  ``current = Isyn * one_minus_alpha``.  A factor the
    model does not have is passed as 1.0 (``x * 1.0`` is ``x``, bit for bit),
    so the loop has no branch on the model's flags and LLVM vectorises it;
    ``inject`` should be a literal at the call site.  The voltage before the
    update goes to ``v_prev`` (read by the spike records).  The same float32
    operations, in the same order, as the general loop of
    :func:`._update.update`.

    Returns
    -------
    int
        How many neurons fired (their flags are in ``fired``).
    """
    count = 0
    for i in range(V.shape[0]):
        if inject:
            x = acc[i]
            value = x * iscale
            isyn[i] = value
            acc[i] = x * decay
        else:
            value = isyn[i]
        current = value * one_minus_alpha
        vp = V[i]
        v_prev[i] = vp
        v = vp * alpha
        v = v + current
        f = v >= thresh
        fired_v = v - drop if relative else reset
        V[i] = fired_v if f else v
        fired[i] = f
        count += 1 if f else 0
    return count


__all__ = ["accumulate", "if_input", "inject", "inject_one", "inject_each", "li",
           "li_each", "lif_fused", "readout_after_reset", "readout_after_v"]
