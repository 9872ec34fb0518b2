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
