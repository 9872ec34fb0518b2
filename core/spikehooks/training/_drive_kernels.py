"""Compiled loss drive and accuracy of the common first-spike-time case (numba only).

For a ``first_spike_time`` output trained with ``RelativeMeanSquareError``
(mlGeNN's Yin-Yang setup), :func:`ttfs_relative_mse` gives the loss value
and the spike-time gradient that :func:`._drive.output_drive` computes with
NumPy, bit for bit: the same float64 operations in the same order, and
NumPy's own summation order (:func:`numpy_sum`).  At batch size 1 the NumPy
version's two dozen small-array calls cost several times the arithmetic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: NumPy's pairwise summation block (``PW_BLOCKSIZE``).
_BLOCK = 128


@njit(cache=True, nogil=True)
def _block_sum(a, lo, n):
    """NumPy's pairwise sum of ``a[lo:lo + n]`` for ``n <= 128``: eight running sums."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def numpy_sum(a):
    """``a.sum()`` of a contiguous 1-D float64 array with NumPy's bits.

    NumPy starts a float sum from its identity 0.0 and adds the pairwise sum
    of the entries: blocks of up to 128 summed with eight running sums,
    longer runs split in two at a multiple of 8 near the middle, halves
    added left + right (walked here with an explicit stack: numba's disk
    cache cannot hold recursive functions).
    """
    n = a.shape[0]
    if n <= _BLOCK:
        return 0.0 + _block_sum(a, 0, n)
    los = np.empty(64, dtype=np.int64)
    sizes = np.empty(64, dtype=np.int64)
    stages = np.empty(64, dtype=np.int64)
    lefts = np.empty(64, dtype=np.float64)
    los[0], sizes[0], stages[0] = 0, n, 0
    top, ret = 1, 0.0
    while top > 0:
        i = top - 1
        lo, m = los[i], sizes[i]
        if m <= _BLOCK:
            ret = _block_sum(a, lo, m)
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if stages[i] == 0:
            stages[i] = 1
            los[top], sizes[top], stages[top] = lo, half, 0
            top += 1
        elif stages[i] == 1:
            lefts[i] = ret
            stages[i] = 2
            los[top], sizes[top], stages[top] = lo + half, m - half, 0
            top += 1
        else:
            ret = lefts[i] + ret
            top -= 1
    return 0.0 + ret


@njit(cache=True, nogil=True)
def ttfs_relative_mse(readout, event, labels, total, delta, grad_t):
    """Loss and spike-time gradient of ``RelativeMeanSquareError`` on first-spike times.

    Parameters
    ----------
    readout : numpy.ndarray of float32, shape (batch, K)
        The ``first_spike_time`` readout (``-t`` in ms).
    event : numpy.ndarray of int64, shape (batch, K)
        First spike step, -1 for a silent output (counted as firing at
        ``total``).
    labels : numpy.ndarray of int64, shape (batch,)
    total : float
        Trial length ``num_steps * dt`` in ms.
    delta : float
        The loss's ``delta`` (ms).
    grad_t : numpy.ndarray of float64, shape (batch, K)
        Receives ``dL/dt`` where the output fired, 0 elsewhere.

    Returns
    -------
    float
        The batch-mean loss.
    """
    batch, k = readout.shape
    scale = float(max(batch, 1))
    diff = np.empty((batch, k), dtype=np.float64)
    sums = np.empty(batch, dtype=np.float64)
    # t = -(readout, or -total where silent); diff = (t_y - t) + delta, 0 at the label.
    for b in range(batch):
        y = labels[b]
        t_y = -(np.float64(readout[b, y]) if event[b, y] >= 0 else -total)
        for j in range(k):
            t_j = -(np.float64(readout[b, j]) if event[b, j] >= 0 else -total)
            diff[b, j] = (t_y - t_j) + delta
        diff[b, y] = 0.0
        sums[b] = numpy_sum(diff[b])
    value = (0.5 * numpy_sum((diff * diff).reshape(-1))) / scale
    for b in range(batch):
        y = labels[b]
        for j in range(k):
            # NumPy: grad_x = -grad / batch with grad = -diff (sum at the label),
            # then dL/dt = -grad_x where fired.
            g = -((-sums[b]) / scale) if j == y else -(diff[b, j] / scale)
            grad_t[b, j] = g if event[b, j] >= 0 else 0.0
    return value


@njit(cache=True, nogil=True)
def count_correct(readout, labels):
    """Entries whose readout argmax (NumPy's: the first maximum, a NaN first) is the label."""
    batch, k = readout.shape
    correct = 0
    for b in range(batch):
        best = 0
        value = readout[b, 0]
        if not np.isnan(value):
            for j in range(1, k):
                v = readout[b, j]
                if np.isnan(v):
                    best = j
                    break
                if v > value:
                    best, value = j, v
        correct += best == labels[b]
    return correct
