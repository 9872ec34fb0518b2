"""e-prop's eligibility traces and weight gradients, as mlGeNN 2.4.0 accumulates them.

The forward pass is the backend's own simulation (e-prop's learning signal
does not act on the dynamics).  :class:`EPropRecorder`, a step observer,
keeps per step what the traces need: spikes of every presynaptic
population, each hidden neuron's pseudo-derivative ``psi`` and filtered
rate ``FAvg``, and the output error ``E``.  At the end of the batch
:meth:`EPropRecorder.gradients` returns what mlGeNN's per-synapse
``DeltaG`` holds after the batch, summed over examples.

mlGeNN updates, per synapse and step, a filtered eligibility trace and adds
``eFiltered * E_post`` to ``DeltaG``.  Every term is a product of a
presynaptic factor (the filtered spike train ``ZFilter``) and postsynaptic
factors, so the sum over steps is rewritten here as one matrix product
``ZFilter^T @ C`` with a per-neuron coefficient ``C`` found by a backward
recursion over the stored postsynaptic factors (exact algebra, no
approximation; ``docs/eprop.md`` derives it).  This keeps memory at
``steps x examples x neurons`` instead of one trace per synapse and example.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._eprop_layout import EPropLayout, HiddenSpec

#: mlGeNN's pseudo-derivative slope factor: psi = 0.3 / v_thresh * max(0, 1 - |v - thr| / v_thresh).
PSEUDO_DERIVATIVE_GAMMA = 0.3


def pseudo_derivative(v: np.ndarray, threshold: np.ndarray | float, v_thresh: float,
                      refractory: np.ndarray | None) -> np.ndarray:
    """mlGeNN's surrogate derivative of a spike with respect to ``V``.

    Parameters
    ----------
    v : numpy.ndarray, shape (batch, n)
        Membrane voltage after integration, before any reset (same units as ``v_thresh``).
    threshold : float or numpy.ndarray, shape (batch, n)
        Effective threshold (``v_thresh + beta * A`` for adaptive neurons).
    v_thresh : float
        Base threshold; scales both the height and the width of the triangle.
    refractory : numpy.ndarray of bool, shape (batch, n), or None
        Neurons refractory in this step (their ``psi`` is 0).

    Returns
    -------
    numpy.ndarray of float64, shape (batch, n)
    """
    psi = (PSEUDO_DERIVATIVE_GAMMA / v_thresh) * np.maximum(
        0.0, 1.0 - np.abs((np.asarray(v, np.float64) - threshold) / v_thresh))
    if refractory is not None:
        psi[refractory] = 0.0
    return psi


class EPropRecorder:
    """Step observer keeping one batch's e-prop factors, then its gradients.

    Parameters
    ----------
    layout : EPropLayout
    backend : NumpyBackend
        Offers ``get_spike_mask``, ``get_synaptic_input`` and ``live_vars``.
    num_steps : int
        Steps per example.
    dt : float
        Step in ms.
    categorical : bool
        True for sparse categorical cross-entropy (``E = softmax - one-hot``,
        softmax of the previous step's ``V`` as in mlGeNN), False for mean
        square error (``E = V - y*(t)``).
    tau_reg, c_reg, f_target : float
        mlGeNN's firing-rate regulariser: time constant of ``FAvg`` in ms,
        strength, target rate in Hz.
    num_rows : int, optional
        Rows of ``favg``: the global batch size (default the backend's
        ``batch_size``).  Data-parallel, each rank keeps every row and runs
        its examples on the rows :meth:`begin` names (``docs/scale-out.md``).

    Attributes
    ----------
    num_real : int
        Real (not padding) examples of the current batch; the per-step
        arrays below have this many rows.
    targets : numpy.ndarray
        The batch's int labels ``(num_real,)`` or targets ``(num_real, T, *shape)``.
    spikes : dict
        Source population -> bool ``(T, num_real, n)`` spikes per step.
    psi, favg_hist : dict
        Hidden population -> float32 ``(T, num_real, n)`` pseudo-derivative and
        filtered rate per step.
    error : numpy.ndarray of float64, shape (T, num_real, num_outputs)
        The output error ``E`` per step.
    v_out : numpy.ndarray of float32, shape (T, num_real, num_outputs)
        The output's ``V`` per step.
    favg : dict
        Hidden population -> float64 ``(num_rows, n)`` filtered rate, running on.
    rows : numpy.ndarray of int64, shape (num_real,)
        The ``favg`` rows of the current batch's examples.
    """

    def __init__(self, layout: EPropLayout, backend: Any, num_steps: int, dt: float,
                 categorical: bool, tau_reg: float, c_reg: float, f_target: float,
                 num_rows: int | None = None):
        self.layout, self.backend = layout, backend
        self.num_steps, self.categorical = int(num_steps), bool(categorical)
        self.c_reg = float(c_reg)
        self.f_target = float(f_target) * dt / 1000.0   # spikes per step
        self.alpha_favg = math.exp(-dt / float(tau_reg))
        batch = backend.batch_size if num_rows is None else int(num_rows)
        #: Filtered spike rate per hidden neuron and batch row; never reset (as in mlGeNN).
        self.favg = {s.population: np.zeros((batch, s.population.num_neurons))
                     for s in layout.hidden}
        self._favg_now: dict[Any, np.ndarray] = {}
        self.rows = np.zeros(0, np.int64)
        self.num_real = 0

    # ----------------------------------------------------------- recording
    def begin(self, real: int, targets: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start a batch of ``real`` examples with ``targets`` (labels, or ``(real, T, K)``).

        ``rows`` (int, ``(real,)``): the ``favg`` rows the examples run on;
        default ``0 .. real - 1``.
        """
        lay, steps, self.num_real = self.layout, self.num_steps, int(real)
        self.rows = np.arange(real) if rows is None else np.asarray(rows, np.int64)
        # The batch's rows, updated each step and written back by end().
        self._favg_now = {pop: array[self.rows] for pop, array in self.favg.items()}
        self.targets = np.asarray(targets)
        self.spikes = {p: np.zeros((steps, real, p.num_neurons), bool) for p in lay.sources}
        self.psi = {s.population: np.zeros((steps, real, s.population.num_neurons), np.float32)
                    for s in lay.hidden}
        self.favg_hist = {s.population: np.zeros((steps, real, s.population.num_neurons),
                                                 np.float32) for s in lay.hidden}
        k = lay.output.num_neurons
        self.error = np.zeros((steps, real, k))
        self.v_out = np.zeros((steps, real, k), np.float32)
        self._softmax = np.zeros((real, k))
        #: mlGeNN's training readout for cross-entropy: the sum over steps of the
        #: softmax of the previous step's V.
        self.softmax_sum = np.zeros((real, k))
        self._v_prev = {s.population: self.backend.live_vars(s.population)["V"][:real].copy()
                        for s in lay.hidden}

    def __call__(self, t: int) -> None:
        """Keep step ``t`` (called by the backend after the step)."""
        real, backend = self.num_real, self.backend
        for pop in self.layout.sources:
            self.spikes[pop][t] = backend.get_spike_mask(pop)[:real]
        for spec in self.layout.hidden:
            self._hidden_step(spec, t)
        v = backend.live_vars(self.layout.output)["V"][:real]
        self.v_out[t] = v
        if self.categorical:
            onehot = np.zeros_like(self._softmax)
            onehot[np.arange(real), self.targets[:real]] = 1.0
            self.error[t] = self._softmax - onehot
            self.softmax_sum += self._softmax
            shifted = np.asarray(v, np.float64) - v.max(axis=1, keepdims=True)
            ex = np.exp(shifted)
            self._softmax = ex / ex.sum(axis=1, keepdims=True)
        else:
            self.error[t] = v - self.targets[:real, t].reshape(real, -1)

    def _hidden_step(self, spec: HiddenSpec, t: int) -> None:
        pop, real = spec.population, self.num_real
        live = self.backend.live_vars(pop)
        spiked = self.backend.get_spike_mask(pop)[:real]
        v = live["V"][:real]
        # psi uses V before the reset: for a spiking neuron rebuild it from the
        # previous V and this step's input (a spiking neuron integrated this step).
        alpha = np.float32(self.layout.alpha)
        isyn = self.backend.get_synaptic_input(pop)[:real]
        v_pre = np.where(spiked, alpha * self._v_prev[pop] + isyn, v)
        self._v_prev[pop] = v.copy()
        threshold: Any = spec.v_thresh
        if spec.adaptive:
            a_pre = live["A"][:real] - spiked   # the reset added 1 to A
            threshold = spec.v_thresh + spec.beta * a_pre
        busy = None
        if spec.refractory:
            # A neuron that spiked was not refractory before its reset set RefracTime.
            busy = (live["RefracTime"][:real] > 0.0) & ~spiked
        self.psi[pop][t] = pseudo_derivative(v_pre, threshold, spec.v_thresh, busy)
        favg = self._favg_now[pop]
        favg *= self.alpha_favg
        favg += spiked * (1.0 - self.alpha_favg)
        self.favg_hist[pop][t] = favg

    def end(self) -> dict[Any, np.ndarray]:
        """Write the batch's filtered rates back to ``favg``; return them (``(real, n)``)."""
        for pop, now in self._favg_now.items():
            self.favg[pop][self.rows] = now
        return self._favg_now

    # ----------------------------------------------------------- gradients
    def loss(self) -> float:
        """e-prop's objective, summed over steps, mean over the batch's examples.

        Cross-entropy ``-sum_t log softmax(V(t-1))[label]`` (steps whose
        previous softmax is mlGeNN's initial 0 are left out), or
        ``0.5 * sum_t sum_k (V - y*)^2``.
        """
        real = max(self.num_real, 1)
        if self.categorical:
            rows = np.arange(self.num_real)
            # E = softmax - one-hot, so softmax[label] = 1 + E[label].
            prob = np.clip(1.0 + self.error[1:, rows, self.targets[:self.num_real]], 1e-300, None)
            return float(-np.log(prob).sum() / real)
        return float(0.5 * np.sum(self.error ** 2) / real)

    def gradients(self, weights: dict[Any, np.ndarray]) -> tuple[dict[Any, np.ndarray], np.ndarray]:
        """mlGeNN's ``DeltaG`` of every trained connection, summed over the batch.

        Parameters
        ----------
        weights : dict
            Connection -> float32 ``(num_pre, num_post)`` weights (used for
            the feedback of the output error to hidden neurons).

        Returns
        -------
        grads : dict
            Connection -> float64 ``(num_pre, num_post)`` gradient ``+dL/dw``.
        bias : numpy.ndarray of float64, shape (num_outputs,)
            mlGeNN's ``DeltaBias``: the output error summed over steps and examples.
        """
        lay, steps = self.layout, self.num_steps
        # mlGeNN's synapse step k uses the neuron state of step k - 1: steps
        # 0 .. T-2 of the stored factors contribute, the last one does not.
        used = steps - 1
        # sum_s ZFilter(s)^T C(s) = sum_s z(s)^T Cbar(s) with Cbar the backward
        # alpha-filtered C: the presynaptic factor becomes the (sparse) spike raster.
        coeff = {spec.population: _filter_backward(
            self._hidden_coefficient(spec, weights, used), lay.alpha) for spec in lay.hidden}
        out_coeff = _filter_backward(self.error[:used].copy(), lay.alpha)
        grads: dict[Any, np.ndarray] = {}
        for conn in lay.hidden_conns:
            grads[conn] = _spike_outer(self.spikes[conn.source][:used], coeff[conn.target])
        for conn in lay.output_conns:
            grads[conn] = _spike_outer(self.spikes[conn.source][:used], out_coeff)
        return grads, self.error.sum(axis=(0, 1))

    def _hidden_coefficient(self, spec: HiddenSpec, weights: dict[Any, np.ndarray],
                            used: int) -> np.ndarray:
        """Per-step postsynaptic coefficient ``C`` with ``DeltaG = sum_s ZFilter(s)^T C(s)``.

        Returns
        -------
        numpy.ndarray of float64, shape (used, examples, n)
        """
        lay, pop = self.layout, spec.population
        real, n = self.num_real, pop.num_neurons
        # Learning signal E_h(s): the output error of step s-1 fed back through
        # the hidden -> output weights (mlGeNN's ISynFeedback).  It becomes
        # L(s) = sum_{s' >= s} alpha^(s'-s) E_h(s') (filtered in place).
        total = np.zeros((used, real, n))
        for conn in lay.output_conns:
            if conn.source is pop and used > 1:
                total[1:] += self.error[:used - 1] @ np.asarray(weights[conn], np.float64).T
        _filter_backward(total, lay.alpha)
        # G(s) = L(s) + c_reg * (FAvg(s) - f_target)
        total += self.c_reg * (self.favg_hist[pop][:used] - self.f_target)
        coeff = self.psi[pop][:used].astype(np.float64)
        if not spec.adaptive or used == 0:
            coeff *= total
            return coeff
        # Adaptive: C(s) = psi(s) (G(s) - beta H(s)), H(s) = psi(s+1) G(s+1)
        # + (rho - beta psi(s+1)) H(s+1), H(T-2) = 0 (docs/eprop.md).
        rho, beta = float(lay.rho or 0.0), spec.beta
        adapt = np.zeros((real, n))
        g_next = total[used - 1].copy()
        for s in range(used - 2, -1, -1):
            nxt = coeff[s + 1]   # psi(s + 1), not yet multiplied
            adapt = nxt * g_next + (rho - beta * nxt) * adapt
            g_next = total[s].copy()
            total[s] -= beta * adapt
        coeff *= total
        return coeff


def _filter_backward(series: np.ndarray, alpha: float) -> np.ndarray:
    """In place: ``x(s) += alpha * x(s + 1)`` from the last step back; returns ``series``."""
    for s in range(len(series) - 2, -1, -1):
        series[s] += alpha * series[s + 1]
    return series


#: Above this fraction of spiking (step, example, neuron) entries a dense product is used.
_DENSE_FRACTION = 0.02
#: Spikes gathered per block in :func:`_spike_outer` (bounds the temporary rows).
_EVENT_BLOCK = 32768


def _spike_outer(spikes: np.ndarray, post: np.ndarray) -> np.ndarray:
    """``sum_{s,b} z(s,b)^T post(s,b)``, event-driven over the spikes.

    Parameters
    ----------
    spikes : numpy.ndarray of bool, shape (steps, examples, n_pre)
    post : numpy.ndarray of float64, shape (steps, examples, n_post)

    Returns
    -------
    numpy.ndarray of float64, shape (n_pre, n_post)
    """
    n_pre, n_post = spikes.shape[2], post.shape[2]
    if spikes.size and np.count_nonzero(spikes) > _DENSE_FRACTION * spikes.size:
        # Dense spike trains: one BLAS product beats gathering rows per spike.
        return spikes.reshape(-1, n_pre).T.astype(np.float64) @ post.reshape(-1, n_post)
    out = np.zeros((n_pre, n_post))
    # nonzero of the pre-major view lists spikes grouped by presynaptic neuron.
    pre, step, example = np.nonzero(np.moveaxis(spikes, 2, 0))
    for start in range(0, len(pre), _EVENT_BLOCK):
        stop = min(start + _EVENT_BLOCK, len(pre))
        rows = post[step[start:stop], example[start:stop]]
        ids = pre[start:stop]
        first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        out[ids[first]] += np.add.reduceat(rows, first, axis=0)
    return out

__all__ = ["PSEUDO_DERIVATIVE_GAMMA", "EPropRecorder", "pseudo_derivative"]
