"""Compiled helper of :mod:`._trace_recorder` (imported only with numba installed)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def denominators(mask, isyn, scale, v_thresh, out):
    """``out = scale * isyn - v_thresh`` (float32) where ``mask``, 0 elsewhere."""
    steps, batch, n = mask.shape
    for t in range(steps):
        for b in range(batch):
            for i in range(n):
                out[t, b, i] = scale * isyn[t, b, i] - v_thresh if mask[t, b, i] \
                    else np.float32(0.0)
