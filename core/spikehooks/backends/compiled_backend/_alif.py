"""The compiled step of ``AdaptiveLeakyIntegrateFire`` (ALIF) for one batch entry.

It does the NumPy backend's ALIF update (``numpy_backend/_kernels.py``,
``_adaptive_lif``) float32 operation by float32 operation, neuron by
neuron instead of array by array (each neuron's operations depend only on
its own values, so the order across neurons does not matter):

1. ``V = V * Alpha``, ``V = V + Isyn`` (skipped while refractory unless
   ``integrate_during_refrac``); ``A = A * Rho``; ``RefracTime -= dt``
   while ``RefracTime > 0`` (only with ``tau_refrac``);
2. the readout of ``V`` (``sum_var``, ``avg_var`` ...);
3. spike if ``V >= Vthresh + (Beta * A)`` (and ``RefracTime <= 0``);
4. on a spike: ``V = V - (Vthresh - Vreset)`` (``relative_reset``) or
   ``V = Vreset``; ``A = A + 1``; ``RefracTime = TauRefrac``;
5. the spike readout (``spike_count``, ``first_spike_time``).

Parameters given per neuron (GeNN's variables ``Vthresh``, ``Vreset``,
``Beta``, ``Alpha``, ``Rho``, ``TauRefrac``) are read from the state every
step, as the NumPy backend reads its live arrays, so a callback's edits
take effect alike.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._neurons import readout_after_reset, readout_after_v
from ._tables import (
    INTEGRATE_IN_REFRAC,
    P_A,
    P_ALPHA_VAR,
    P_BETA_VAR,
    P_FLAGS,
    P_ISYN,
    P_N,
    P_REFRAC,
    P_RESET_VAR,
    P_RHO_VAR,
    P_SPIKE,
    P_THRESH_VAR,
    P_TREFRAC_VAR,
    P_V,
    PF_ALPHA,
    PF_BETA,
    PF_DT,
    PF_RESET,
    PF_RHO,
    PF_TAU_REFRAC,
    PF_THRESH,
    REFRACTORY,
    RELATIVE_RESET,
)


# Not inlined (unlike the other population loops): inlined into the step loop of
# every kernel variant it made the first compilation about 3 s longer and the
# 784-128-10 inference kernel, which has no adaptive neuron, about 15 % slower
# (code layout of the inlined loop).  One call per population and step; it takes
# no slice, so it needs numba's runtime no more than the step loop does.
@njit(cache=True, nogil=True)
def alif(b, p, pop_i, pop_f, fstate, spikes, now, step_w):
    """Update, fire and reset ALIF population ``p`` for batch entry ``b``.

    Parameters
    ----------
    b, p : int
        Batch entry and population (row of ``pop_i`` / ``pop_f``).
    pop_i, pop_f : numpy.ndarray, int64 / float32
        The population tables (see :mod:`._tables`).
    fstate : numpy.ndarray of float32, shape (batch, columns)
        ``V``, ``A``, ``RefracTime``, ``Isyn`` (already injected), readout and
        per-neuron parameters; updated in place.
    spikes : numpy.ndarray of bool, shape (batch, spiking neurons)
        This step's spike flags, written.
    now : numpy.float32
        The step's time in ms (``first_spike_time``).
    step_w : numpy.float32
        ``avg_var_exp_weight``'s weight of the step.
    """
    n, vcol, acol, scol = pop_i[p, P_N], pop_i[p, P_V], pop_i[p, P_A], pop_i[p, P_SPIKE]
    tvar, rvar = pop_i[p, P_THRESH_VAR], pop_i[p, P_RESET_VAR]
    avar, fvar = pop_i[p, P_ALPHA_VAR], pop_i[p, P_TREFRAC_VAR]
    bvar, hvar = pop_i[p, P_BETA_VAR], pop_i[p, P_RHO_VAR]
    thresh, reset = pop_f[p, PF_THRESH], pop_f[p, PF_RESET]
    alpha, rho, beta = pop_f[p, PF_ALPHA], pop_f[p, PF_RHO], pop_f[p, PF_BETA]
    tau_refrac, dt32 = pop_f[p, PF_TAU_REFRAC], pop_f[p, PF_DT]
    flags = pop_i[p, P_FLAGS]
    relative = (flags & RELATIVE_RESET) != 0
    refractory = (flags & REFRACTORY) != 0
    always = (flags & INTEGRATE_IN_REFRAC) != 0
    isyn, rcol = pop_i[p, P_ISYN], pop_i[p, P_REFRAC]
    zero, one = np.float32(0.0), np.float32(1.0)
    for i in range(n):
        if avar >= 0:
            alpha = fstate[b, avar + i]
        if hvar >= 0:
            rho = fstate[b, hvar + i]
        if bvar >= 0:
            beta = fstate[b, bvar + i]
        if tvar >= 0:
            thresh = fstate[b, tvar + i]
        if rvar >= 0:
            reset = fstate[b, rvar + i]
        if fvar >= 0:
            tau_refrac = fstate[b, fvar + i]
        v, a = fstate[b, vcol + i], fstate[b, acol + i]
        refrac = zero
        if refractory:
            refrac = fstate[b, rcol + i]
            busy = refrac > zero
            if always or not busy:
                v = v * alpha
                v = v + fstate[b, isyn + i]
            a = a * rho
            if busy:
                refrac = refrac - dt32
        else:
            v = v * alpha
            v = v + fstate[b, isyn + i]
            a = a * rho
        readout_after_v(b, p, pop_i, pop_f, fstate, i, v, step_w)
        # GeNN's threshold: V >= (Vthresh + (Beta * A)), in float32.
        fired = v >= thresh + beta * a
        if refractory:
            fired = fired and refrac <= zero
        if fired:
            v = v - (thresh - reset) if relative else reset
            a = a + one
        fstate[b, vcol + i] = v
        fstate[b, acol + i] = a
        if refractory:
            fstate[b, rcol + i] = tau_refrac if fired else refrac
        spikes[b, scol + i] = fired
        readout_after_reset(b, p, pop_i, fstate, i, fired, now)


__all__ = ["alif"]
