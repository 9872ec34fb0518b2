"""Compiled helpers of the training step (imported only with numba installed).

Used by the training loop on the compiled backend; each gives the same bits
as the NumPy code it replaces, without its temporary arrays.  No fast-math:
LLVM may then neither reorder operations nor fuse multiply-adds.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# error_model="numpy": a division by zero gives inf instead of raising, so the loop has no
# branch and LLVM vectorises it (packed sqrt and division, correctly rounded like the
# scalar ones: the same bits, about twice as fast).  The denominator sqrt(v c2) + eps is
# never 0 here anyway (epsilon > 0 is checked), so nothing that raised now passes.
@njit(cache=True, nogil=True, error_model="numpy")
def adam_step(weight, grad, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, alpha, c1,
              c2, epsilon):
    """One Adam step of one array, in place, as :meth:`spikehooks.optimisers.Adam._update_one`.

    Parameters
    ----------
    weight : numpy.ndarray of float32, shape (n,)
        Updated in place.
    grad, m, v : numpy.ndarray of float64, shape (n,)
        Gradient; first and second moments (updated in place).
    beta1, one_minus_beta1, beta2, one_minus_beta2, alpha, c1, c2, epsilon : float
        The hyperparameters, ``1 - beta`` and the bias corrections as the NumPy
        update computes them (Python floats).

    Notes
    -----
    The NumPy update's operations element by element, in its order:
    ``m = m b1 + (1 - b1) g``, ``v = v b2 + ((1 - b2) g) g``, then
    ``w = w - float32(((alpha m) c1) / (sqrt(v c2) + eps))``.
    """
    for i in range(weight.shape[0]):
        g = grad[i]
        mi = m[i] * beta1 + one_minus_beta1 * g
        vi = v[i] * beta2 + (one_minus_beta2 * g) * g
        m[i] = mi
        v[i] = vi
        step = ((alpha * mi) * c1) / (np.sqrt(vi * c2) + epsilon)
        weight[i] = weight[i] - np.float32(step)


@njit(cache=True, nogil=True)
def all_finite(values):
    """Return whether every entry of the 1-D float array ``values`` is finite."""
    for i in range(values.shape[0]):
        if not np.isfinite(values[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def latest_hit(event_step, spike_time_grad):
    """The latest ``event_step`` whose ``spike_time_grad`` is not 0, or -1 (int64 (batch, n))."""
    latest = -1
    for b in range(event_step.shape[0]):
        for i in range(event_step.shape[1]):
            if spike_time_grad[b, i] != 0.0 and event_step[b, i] > latest:
                latest = event_step[b, i]
    return latest
