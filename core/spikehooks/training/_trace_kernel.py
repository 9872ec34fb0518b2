"""Compiled helper of :mod:`._trace_recorder` (imported only with numba installed)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def jump_terms(mask, isyn, v_end, scale, alpha, neuron_scale, cur, den):
    """Currents ``I`` and denominators ``I - V`` at the spikes of ``mask`` (float32).

    ``scale``, ``alpha`` and ``neuron_scale`` are float32 arrays of shape (n,),
    one value per neuron.

    ``cur = scale * isyn`` and ``den = cur - V`` where ``mask``, 0 elsewhere, with
    ``V = v_prev * alpha + neuron_scale * isyn`` the voltage of the step before
    the reset, rebuilt from ``v_prev``, the voltage at the end of the previous
    step (0 before the first), with the backend's own float32 operations.
    """
    steps, batch, n = mask.shape
    zero = np.float32(0.0)
    for t in range(steps):
        for b in range(batch):
            for i in range(n):
                if mask[t, b, i]:
                    v_prev = v_end[t - 1, b, i] if t > 0 else zero
                    v = v_prev * alpha[i]
                    v = v + neuron_scale[i] * isyn[t, b, i]
                    current = scale[i] * isyn[t, b, i]
                    cur[t, b, i] = current
                    den[t, b, i] = current - v
                else:
                    cur[t, b, i] = zero
                    den[t, b, i] = zero


@njit(cache=True, nogil=True)
def update_jump_terms(mask, isyn, v_end, scale, alpha, neuron_scale, cur, den, spk):
    """:func:`jump_terms` into arrays that hold the previous batch's result.

    ``spk`` holds the spikes ``cur`` and ``den`` were last filled for (all
    False for fresh zero arrays) and receives ``mask``.  Only entries whose
    spike changed, or that spike now, are written: spikes are rare, so this
    reads two bool arrays instead of writing two float32 ones (the batch's
    terms are the same as :func:`jump_terms` fills).
    """
    steps, batch, n = mask.shape
    zero = np.float32(0.0)
    # Entry by entry: the trace and the joined arrays are stored entry-major.
    for b in range(batch):
        for t in range(steps):
            for i in range(n):
                now, before = mask[t, b, i], spk[t, b, i]
                if now:
                    v_prev = v_end[t - 1, b, i] if t > 0 else zero
                    v = v_prev * alpha[i]
                    v = v + neuron_scale[i] * isyn[t, b, i]
                    current = scale[i] * isyn[t, b, i]
                    cur[t, b, i] = current
                    den[t, b, i] = current - v
                    spk[t, b, i] = True
                elif before:
                    cur[t, b, i] = zero
                    den[t, b, i] = zero
                    spk[t, b, i] = False


@njit(cache=True, nogil=True)
def update_spikes(mask, spk):
    """``spk[...] = mask``, writing only the entries that changed (spikes are rare)."""
    steps, batch, n = mask.shape
    for b in range(batch):
        for t in range(steps):
            for i in range(n):
                if mask[t, b, i] != spk[t, b, i]:
                    spk[t, b, i] = mask[t, b, i]
