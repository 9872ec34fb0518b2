"""e-prop's eligibility traces and weight gradients, as mlGeNN 2.4.0 accumulates them.

The forward pass is the backend's own simulation (e-prop's learning signal
does not act on the dynamics).  :class:`EPropRecorder`, a step observer,
keeps per step what the traces need: spikes of every presynaptic
population, each hidden neuron's pseudo-derivative ``psi`` and filtered
rate ``FAvg``, and the output error ``E``.  At the end of the batch
:meth:`EPropRecorder.gradients` returns what mlGeNN's per-synapse
``DeltaG`` holds after the batch, summed over examples, and advances the
state carried into the next batch (:mod:`._eprop_carry`: as in mlGeNN,
nothing but the readout is reset between batches).

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

from . import _eprop_carry
from ._eprop_carry import EPropCarry, filter_backward, hidden_sums
from ._eprop_layout import EPropLayout, HiddenSpec
from ._eprop_trace import collect_trace, trace_variables

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

    Every local batch row is recorded, padding rows too: their state runs
    on into the next batch (mlGeNN resets nothing but the readout), while
    only the real examples' rows enter ``DeltaG``.  Padding rows have no
    target, so their output error is 0.

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
        its local rows on the rows :meth:`begin` names (``docs/eprop.md``).

    Attributes
    ----------
    num_real : int
        Real (not padding) examples of the current batch.
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
    rows : numpy.ndarray of int64, shape (batch_size,)
        The ``favg`` rows of the local batch rows.
    carry : EPropCarry
        The state the last batch left (``ZFilter``, ``Psi``, ``E``, softmax,
        per-synapse ``eFiltered``/``epsilonA``), which the next batch starts from.
    """

    def __init__(self, layout: EPropLayout, backend: Any, num_steps: int, dt: float,
                 categorical: bool, tau_reg: float, c_reg: float, f_target: float,
                 num_rows: int | None = None):
        self.layout, self.backend = layout, backend
        self.num_steps, self.categorical = int(num_steps), bool(categorical)
        self.c_reg = float(c_reg)
        self.f_target = float(f_target) * dt / 1000.0   # spikes per step
        self.alpha_favg = math.exp(-dt / float(tau_reg))
        self.batch = int(backend.batch_size)
        rows = self.batch if num_rows is None else int(num_rows)
        #: Filtered spike rate per hidden neuron and batch row; never reset (as in mlGeNN).
        self.favg = {s.population: np.zeros((rows, s.population.num_neurons))
                     for s in layout.hidden}
        self.carry = EPropCarry(layout, self.batch)
        #: A backend that traces the batch in compiled code (the compiled backend): the
        #: factors are computed from its trace after the batch, not step by step.
        self.needs_observer = not hasattr(backend, "start_trace")
        self._favg_now: dict[Any, np.ndarray] = {}
        self._favg_start: dict[Any, np.ndarray] = {}
        self.rows = np.arange(self.batch)
        self.num_real = 0

    # ----------------------------------------------------------- recording
    def begin(self, real: int, targets: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start a batch of ``real`` examples with ``targets`` (labels, or ``(real, T, K)``).

        ``rows`` (int, ``(batch_size,)``): the ``favg`` rows of the local
        batch rows; default ``0 .. batch_size - 1``.
        """
        lay, steps, batch, self.num_real = self.layout, self.num_steps, self.batch, int(real)
        self.rows = np.arange(batch) if rows is None else np.asarray(rows, np.int64)
        # The batch's rows, updated each step and written back by end().
        self._favg_now = {pop: array[self.rows] for pop, array in self.favg.items()}
        self._favg_start = {pop: array.copy() for pop, array in self._favg_now.items()}
        self.targets = np.asarray(targets)
        self._spikes = {p: np.zeros((steps, batch, p.num_neurons), bool) for p in lay.sources}
        self._psi = {s.population: np.zeros((steps, batch, s.population.num_neurons),
                                            np.float32) for s in lay.hidden}
        self._favg_hist = {s.population: np.zeros((steps, batch, s.population.num_neurons),
                                                  np.float32) for s in lay.hidden}
        k = lay.output.num_neurons
        self._error = np.zeros((steps, batch, k))
        self._v_out = np.zeros((steps, batch, k), np.float32)
        self._onehot = np.zeros((batch, k))
        if self.categorical:
            self._onehot[np.arange(real), self.targets[:real]] = 1.0
        self._softmax = self.carry.softmax.copy()
        self._started = self.carry.started.copy()
        # ZFilter runs through the batch from the carried value (read by the next batch).
        self._zfilter = {p: a.copy() for p, a in self.carry.z.items()}
        self.spikes = {p: a[:, :real] for p, a in self._spikes.items()}
        self.psi = {p: a[:, :real] for p, a in self._psi.items()}
        self.favg_hist = {p: a[:, :real] for p, a in self._favg_hist.items()}
        self.error, self.v_out = self._error[:, :real], self._v_out[:, :real]
        #: mlGeNN's training readout for cross-entropy: the sum over steps of the
        #: softmax of the previous step's V.
        self.softmax_sum = np.zeros((real, k))
        self._v_prev = {s.population: self.backend.live_vars(s.population)["V"].copy()
                        for s in lay.hidden}
        if not self.needs_observer:
            self.backend.start_trace(trace_variables(lay))

    def __call__(self, t: int) -> None:
        """Keep step ``t`` (called by the backend after the step)."""
        real, backend, alpha = self.num_real, self.backend, self.layout.alpha
        for pop in self.layout.sources:
            spiked = backend.get_spike_mask(pop)
            self._spikes[pop][t] = spiked
            zf = self._zfilter[pop]
            zf *= alpha
            zf += spiked
        for spec in self.layout.hidden:
            self._hidden_step(spec, t)
        v = backend.live_vars(self.layout.output)["V"]
        self._v_out[t] = v
        if self.categorical:
            self._error[t, :real] = self._softmax[:real] - self._onehot[:real]
            self.softmax_sum += self._softmax[:real]
            shifted = np.asarray(v, np.float64) - v.max(axis=1, keepdims=True)
            ex = np.exp(shifted)
            self._softmax = ex / ex.sum(axis=1, keepdims=True)
        else:
            self._error[t, :real] = v[:real] - self.targets[:real, t].reshape(real, -1)

    def _hidden_step(self, spec: HiddenSpec, t: int) -> None:
        pop = spec.population
        live = self.backend.live_vars(pop)
        spiked = self.backend.get_spike_mask(pop)
        v = live["V"]
        # psi uses V before the reset: for a spiking neuron rebuild it from the
        # previous V and this step's input (a spiking neuron integrated this step).
        alpha = np.float32(self.layout.alpha)
        isyn = self.backend.get_synaptic_input(pop)
        v_pre = np.where(spiked, alpha * self._v_prev[pop] + isyn, v)
        self._v_prev[pop] = v.copy()
        threshold: Any = spec.v_thresh
        if spec.adaptive:
            a_pre = live["A"] - spiked   # the reset added 1 to A
            threshold = spec.v_thresh + spec.beta * a_pre
        busy = None
        if spec.refractory:
            # A neuron that spiked was not refractory before its reset set RefracTime.
            busy = (live["RefracTime"] > 0.0) & ~spiked
        self._psi[pop][t] = pseudo_derivative(v_pre, threshold, spec.v_thresh, busy)
        favg = self._favg_now[pop]
        favg *= self.alpha_favg
        favg += spiked * (1.0 - self.alpha_favg)
        self._favg_hist[pop][t] = favg

    def end(self) -> dict[Any, np.ndarray]:
        """Write the batch's filtered rates back to ``favg``; return them (``(batch_size, n)``).

        On a tracing backend, first computes the whole batch's factors from its trace.
        """
        if not self.needs_observer:
            collect_trace(self)
            self.backend.stop_trace()
        for pop, now in self._favg_now.items():
            self.favg[pop][self.rows] = now
        return self._favg_now

    # ----------------------------------------------------------- gradients
    def loss(self) -> float:
        """e-prop's objective, summed over steps, mean over the batch's examples.

        Cross-entropy ``-sum_t log softmax(V(t-1))[label]`` (the first step
        of a row's first batch, whose previous softmax is mlGeNN's initial 0,
        is left out), or ``0.5 * sum_t sum_k (V - y*)^2``.
        """
        real = max(self.num_real, 1)
        if self.categorical:
            rows = np.arange(self.num_real)
            # E = softmax - one-hot, so softmax[label] = 1 + E[label].
            prob = 1.0 + self.error[:, rows, self.targets[:self.num_real]]
            prob[0, ~self._started[:self.num_real]] = 1.0
            return float(-np.log(np.clip(prob, 1e-300, None)).sum() / real)
        return float(0.5 * np.sum(self.error ** 2) / real)

    def gradients(self, weights: dict[Any, np.ndarray]) -> tuple[dict[Any, np.ndarray], np.ndarray]:
        """mlGeNN's ``DeltaG`` of every trained connection, summed over the batch.

        Also advances :attr:`carry` to the state after the batch, so call it
        once per batch, after :meth:`end`.

        Parameters
        ----------
        weights : dict
            Connection -> float32 ``(num_pre, num_post)`` weights of the batch
            (the feedback of the output error to hidden neurons).

        Returns
        -------
        grads : dict
            Connection -> float64 ``(num_pre, num_post)`` gradient ``+dL/dw``.
        bias : numpy.ndarray of float64, shape (num_outputs,)
            mlGeNN's ``DeltaBias``: the output error summed over steps and examples.
        """
        lay, carry, real = self.layout, self.carry, self.num_real
        # Entry 0 of each series is the carried state of the previous batch's last
        # step (mlGeNN's synapses read it in this batch's first step); entry p the
        # state after step p - 1, so the last step's state is left to the next batch.
        e_out = np.concatenate([carry.e_out[None], self._error[:-1]])
        feedback = {}
        for spec in lay.hidden:
            pop = spec.population
            # E_h(p) = W E_out(p - 1) for p >= 1; entry 0 is the carried E_h.
            fed = np.zeros((self.num_steps, self.batch, pop.num_neurons))
            fed[0] = carry.e_hid[pop]
            for conn in lay.output_conns:
                if conn.source is pop:
                    fed[1:] += e_out[:-1] @ np.asarray(weights[conn], np.float64).T
            feedback[pop] = fed
        grads: dict[Any, np.ndarray] = {}
        for spec in lay.hidden:
            pop = spec.population
            conns = [c for c in lay.hidden_conns if c.target is pop]
            # Blocks of rows keep the float64 (T, rows, n) series of the sums small.
            block = max(1, _BLOCK_BYTES // (64 * self.num_steps * pop.num_neurons))
            for r0 in range(0, self.batch, block):
                rows = slice(r0, min(r0 + block, self.batch))
                series = {
                    "psi": np.concatenate([carry.psi[pop][None, rows],
                                           self._psi[pop][:-1, rows]]).astype(np.float64),
                    "favg": np.concatenate([self._favg_start[pop][None, rows],
                                            self._favg_hist[pop][:-1, rows]]),
                    "e_hid": feedback[pop][:, rows],
                }
                traces = {"z": {c.source: carry.z[c.source][rows] for c in conns},
                          "ef": {c: carry.ef[c][rows] for c in conns},
                          "epsa": {c: a[rows] for c, a in carry.epsa.items() if c in conns}}
                spikes = {c.source: self._spikes[c.source][:, rows] for c in conns}
                part = hidden_sums(spec, lay, conns, series, traces, spikes,
                                   min(max(real - r0, 0), rows.stop - r0),
                                   self.c_reg, self.f_target, _spike_outer)
                for conn, grad in part.items():
                    grads[conn] = grads[conn] + grad if conn in grads else grad
        out_coeff = filter_backward(e_out[:, :real].copy(), lay.alpha)
        for conn in lay.output_conns:
            grads[conn] = _spike_outer(self._spikes[conn.source][:-1, :real], out_coeff[1:])
            grads[conn] += carry.z[conn.source][:real].T @ out_coeff[0]
        self._advance(weights)
        return grads, self.error.sum(axis=(0, 1))

    def _advance(self, weights: dict[Any, np.ndarray]) -> None:
        """Leave the batch's last-step state in :attr:`carry` for the next batch."""
        carry, lay = self.carry, self.layout
        last_out = carry.e_out if self.num_steps < 2 else self._error[-2]
        for spec in lay.hidden:
            pop = spec.population
            carry.psi[pop] = self._psi[pop][-1].astype(np.float64)
            e_hid = np.zeros_like(carry.e_hid[pop])
            for conn in lay.output_conns:
                if conn.source is pop:
                    e_hid += last_out @ np.asarray(weights[conn], np.float64).T
            carry.e_hid[pop] = e_hid
        carry.e_out = self._error[-1].copy()
        carry.softmax = self._softmax.copy()
        carry.z = {p: a.copy() for p, a in self._zfilter.items()}
        carry.started[:] = True


#: Memory for the float64 per-step series of one block of rows in the end-of-batch sums.
_BLOCK_BYTES = 1 << 28
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
    if spikes.size and np.count_nonzero(spikes) > _eprop_carry.DENSE_FRACTION * spikes.size:
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
