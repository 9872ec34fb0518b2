"""numba kernels: e-prop's per-step factors from the compiled backend's trace of a batch.

The compiled backend runs the whole batch in one call and keeps every
step's spikes, ``V``, ``Isyn`` and ``RefracTime`` (its trace).  These
kernels walk that trace once, row by row (batch rows are independent, so
``prange`` over them leaves the result independent of the thread count),
and compute what :class:`~spikehooks.training._eprop.EPropRecorder`
computes step by step on the NumPy backend, with the same operations in
the same order and precision: the pseudo-derivative ``psi`` (float32
``V`` before the reset, float64 triangle), the filtered rate ``FAvg`` and
filtered spike trains ``ZFilter`` (float64), the output error ``E`` and
the softmax.  Only ``exp`` may differ from NumPy's in the last bit.
Imported only when the compiled backend trains.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _hidden_row(b, v, isyn, refrac, spikes, v0, alpha, v_thresh, refractory, favg,
                alpha_favg, psi_out, favg_out, a, adaptive, beta):
    steps, n = v.shape[0], v.shape[2]
    thresh32, beta32, one32, zero32 = (np.float32(v_thresh), np.float32(beta), np.float32(1.0),
                                       np.float32(0.0))
    scale = 0.3 / v_thresh
    gain = 1.0 - alpha_favg
    for i in range(n):
        v_prev = v0[b, i]
        f = favg[b, i]
        for t in range(steps):
            fired = spikes[t, b, i]
            v_now = v[t, b, i]
            # V before the reset: a neuron that fired integrated this step's input.
            v_pre = alpha * v_prev + isyn[t, b, i] if fired else v_now
            v_prev = v_now
            threshold = v_thresh
            if adaptive:
                # The NumPy recorder's float32 Vthresh + Beta * (A - spike): the reset
                # added 1 to the traced A.
                a_pre = a[t, b, i] - (one32 if fired else zero32)
                threshold = np.float64(thresh32 + beta32 * a_pre)
            psi = scale * max(0.0, 1.0 - abs((np.float64(v_pre) - threshold) / v_thresh))
            if refractory and refrac[t, b, i] > 0.0 and not fired:
                psi = 0.0
            psi_out[t, b, i] = np.float32(psi)
            f = f * alpha_favg
            f = f + (gain if fired else 0.0)
            favg_out[t, b, i] = np.float32(f)
        favg[b, i] = f


@njit(cache=True, nogil=True, parallel=True)
def hidden_factors(v, isyn, refrac, spikes, v0, alpha, v_thresh, refractory, favg, alpha_favg,
                   psi_out, favg_out, a, adaptive, beta):
    """``psi`` and ``FAvg`` of a LIF or ALIF population for every step and batch row.

    Parameters
    ----------
    v, isyn, refrac : numpy.ndarray of float32, shape (T, batch, n)
        Traced ``V`` (after the reset), ``Isyn`` and ``RefracTime`` (ms).
    spikes : numpy.ndarray of bool, shape (T, batch, n)
    v0 : numpy.ndarray of float32, shape (batch, n)
        ``V`` before the batch's first step.
    alpha : numpy.float32
        ``exp(-dt / tau_mem)``.
    v_thresh : float
    refractory : bool
    favg : numpy.ndarray of float64, shape (batch, n)
        ``FAvg`` before the batch; left holding its value after the batch.
    alpha_favg : float
        ``exp(-dt / tau_reg)``.
    psi_out, favg_out : numpy.ndarray of float32, shape (T, batch, n)
        Filled with every step's ``psi`` and ``FAvg``.
    a : numpy.ndarray of float32, shape (T, batch, n)
        Traced adaptation ``A`` (after the reset) of an ALIF population; read only
        when ``adaptive``.
    adaptive : bool
        ALIF: the threshold of ``psi`` is ``v_thresh + beta * A`` (A before the reset).
    beta : float
        ALIF's adaptation strength.
    """
    for b in prange(v.shape[1]):
        _hidden_row(b, v, isyn, refrac, spikes, v0, alpha, v_thresh, refractory, favg,
                    alpha_favg, psi_out, favg_out, a, adaptive, beta)


@njit(cache=True, nogil=True)
def hidden_factors_serial(v, isyn, refrac, spikes, v0, alpha, v_thresh, refractory, favg,
                          alpha_favg, psi_out, favg_out, a, adaptive, beta):
    """:func:`hidden_factors` on the calling thread alone."""
    for b in range(v.shape[1]):
        _hidden_row(b, v, isyn, refrac, spikes, v0, alpha, v_thresh, refractory, favg,
                    alpha_favg, psi_out, favg_out, a, adaptive, beta)


@njit(cache=True, nogil=True)
def filter_spikes(spikes, z, alpha):
    """``ZFilter`` through the batch: ``z <- alpha z + spike`` per step (float64, in place).

    Parameters
    ----------
    spikes : numpy.ndarray of bool, shape (T, batch, n)
    z : numpy.ndarray of float64, shape (batch, n)
    """
    for t in range(spikes.shape[0]):
        for b in range(spikes.shape[1]):
            for i in range(spikes.shape[2]):
                z[b, i] = z[b, i] * alpha + (1.0 if spikes[t, b, i] else 0.0)


@njit(cache=True, nogil=True)
def softmax_errors(v, labels, real, softmax, error, softmax_sum):
    """Cross-entropy: ``E(t) = softmax(V(t-1)) - onehot`` for the real rows; softmax runs on.

    Parameters
    ----------
    v : numpy.ndarray of float32, shape (T, batch, k)
        The output's traced ``V``.
    labels : numpy.ndarray of int64, shape (real,)
    softmax : numpy.ndarray of float64, shape (batch, k)
        The softmax of the last ``V`` before the batch; left holding the last step's.
    error : numpy.ndarray of float64, shape (T, batch, k)
        Filled for rows ``< real`` (padding rows keep 0: no target).
    softmax_sum : numpy.ndarray of float64, shape (real, k)
        Added to: the sum over steps of the previous step's softmax.
    """
    steps, batch, k = v.shape
    ex = np.empty(k)
    for b in range(batch):
        for t in range(steps):
            if b < real:
                for j in range(k):
                    error[t, b, j] = softmax[b, j] - (1.0 if j == labels[b] else 0.0)
                    softmax_sum[b, j] += softmax[b, j]
            top = v[t, b, 0]
            for j in range(1, k):
                top = max(top, v[t, b, j])
            total = 0.0
            for j in range(k):
                ex[j] = np.exp(np.float64(v[t, b, j]) - np.float64(top))
                total += ex[j]
            for j in range(k):
                softmax[b, j] = ex[j] / total


__all__ = ["filter_spikes", "hidden_factors", "hidden_factors_serial", "softmax_errors"]
