"""What e-prop carries from one batch into the next, and the batch's sums that use it.

mlGeNN 2.4.0's e-prop resets only the readout between batches: neuron
state, the filtered spike trains ``ZFilter``, ``Psi``, the errors ``E``,
the softmax and every synapse's ``eFiltered`` (and ALIF ``epsilonA``) run
on.  Because GeNN's synapses read the neuron state of the previous step,
the first step of a batch reads the last step of the previous batch.  So
the batch's factor series has ``T`` entries ``p = 0 .. T-1``: entry 0 is
the carried state, entry ``p`` the neuron state after step ``p - 1``.

:class:`EPropCarry` holds that state per local batch row;
:func:`hidden_sums` turns one hidden population's series into its
connections' ``DeltaG`` and advances their per-synapse traces
(``docs/eprop.md`` derives every term).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigurationError


def filter_backward(series: np.ndarray, alpha: float) -> np.ndarray:
    """In place: ``x(p) += alpha * x(p + 1)`` from the last entry back; returns ``series``.

    So ``x(p)`` becomes ``sum_{p' >= p} alpha^(p' - p) x(p')``.  A loop over
    steps of whole-row operations: faster here than ``np.cumsum`` along the
    step axis, and exact to the recursion.
    """
    for p in range(len(series) - 2, -1, -1):
        series[p] += alpha * series[p + 1]
    return series


#: Above this fraction of spiking entries the spike products are dense (BLAS) products.
DENSE_FRACTION = 0.02


class EPropCarry:
    """The e-prop state one batch leaves to the next, per local batch row.

    Parameters
    ----------
    layout : EPropLayout
    rows : int
        Local batch rows (the backend's ``batch_size``).

    Attributes
    ----------
    z : dict
        Source population -> float64 ``(rows, n)``: ``ZFilter`` after the last step.
    psi, e_hid : dict
        Hidden population -> float64 ``(rows, n)``: ``Psi`` and the learning
        signal ``E`` of the last step.
    e_out, softmax : numpy.ndarray of float64, shape (rows, num_outputs)
        The output error of the last step, and the softmax of its ``V``.
    ef, epsa : dict
        Connection into a hidden population -> float32 ``(rows, n_pre,
        n_post)``: ``eFiltered`` and (adaptive targets only) ``epsilonA``.
    started : numpy.ndarray of bool, shape (rows,)
        Rows that have run a batch (their softmax is no longer mlGeNN's initial 0).
    """

    def __init__(self, layout: Any, rows: int):
        self.rows = int(rows)
        k = layout.output.num_neurons
        self.z = {p: np.zeros((rows, p.num_neurons)) for p in layout.sources}
        self.psi = {s.population: np.zeros((rows, s.population.num_neurons))
                    for s in layout.hidden}
        self.e_hid = {pop: np.zeros_like(a) for pop, a in self.psi.items()}
        self.e_out = np.zeros((rows, k))
        self.softmax = np.zeros((rows, k))
        adaptive = {s.population for s in layout.hidden if s.adaptive}
        self.ef = {c: np.zeros((rows, c.source.num_neurons, c.target.num_neurons), np.float32)
                   for c in layout.hidden_conns}
        self.epsa = {c: np.zeros_like(self.ef[c]) for c in layout.hidden_conns
                     if c.target in adaptive}
        self.started = np.zeros(rows, bool)

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every array by a flat name (``"z:<population>"``, ``"ef:<connection>"``)."""
        out = {f"z:{p.name}": a.copy() for p, a in self.z.items()}
        out.update({f"psi:{p.name}": a.copy() for p, a in self.psi.items()})
        out.update({f"e_hid:{p.name}": a.copy() for p, a in self.e_hid.items()})
        out.update({f"ef:{c.name}": a.copy() for c, a in self.ef.items()})
        out.update({f"epsa:{c.name}": a.copy() for c, a in self.epsa.items()})
        out.update({"e_out": self.e_out.copy(), "softmax": self.softmax.copy(),
                    "started": self.started.copy()})
        return out

    def _slots(self) -> dict[str, np.ndarray]:
        """The live arrays by the names of :meth:`state`."""
        slots = {f"z:{p.name}": a for p, a in self.z.items()}
        slots.update({f"psi:{p.name}": a for p, a in self.psi.items()})
        slots.update({f"e_hid:{p.name}": a for p, a in self.e_hid.items()})
        slots.update({f"ef:{c.name}": a for c, a in self.ef.items()})
        slots.update({f"epsa:{c.name}": a for c, a in self.epsa.items()})
        slots.update({"e_out": self.e_out, "softmax": self.softmax, "started": self.started})
        return slots

    def check(self, state: Any, owner: str) -> None:
        """Refuse a saved carry that does not fit, naming the entries."""
        want = {k: v.shape for k, v in self._slots().items()}
        got = {k: np.shape(v) for k, v in dict(state).items()}
        if got != want:
            differ = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
            raise ConfigurationError(
                f"{owner} must hold e-prop's carried traces of this network and batch size; "
                f"got entries {differ[:4]} that differ in name or shape. Load state saved "
                f"from the same network and batch size."
            )

    def renew_synapses(self, connection: Any, renewed: np.ndarray) -> None:
        """Zero the traces of synapses rewiring removed or created (every batch row).

        ``renewed``: bool ``(n_pre, n_post)``; GeNN gives a new synapse fresh variables.
        """
        for traces in (self.ef, self.epsa):
            if connection in traces:
                traces[connection][:, renewed] = 0.0

    def load(self, state: dict[str, np.ndarray]) -> None:
        """Copy what :meth:`state` returned into the live arrays."""
        for name, array in self._slots().items():
            array[...] = state[name]


def _spike_rows(spikes: np.ndarray, post: np.ndarray, out: np.ndarray) -> None:
    """``out[b] += sum_s z(s, b)^T post(s, b)`` for every row ``b``, event-driven.

    Parameters
    ----------
    spikes : numpy.ndarray of bool, shape (steps, rows, n_pre)
    post : numpy.ndarray of float64, shape (steps, rows, n_post)
    out : numpy.ndarray, shape (rows, n_pre, n_post)
        Added to in place.
    """
    rows, n_pre = spikes.shape[1], spikes.shape[2]
    if spikes.size and np.count_nonzero(spikes) > DENSE_FRACTION * spikes.size:
        # Dense spike trains: one BLAS product per row beats gathering a row per spike.
        for b in range(rows):
            out[b] += spikes[:, b].T.astype(np.float64) @ post[:, b]
        return
    step, row, pre = np.nonzero(spikes)
    if not len(step):
        return
    key = row * n_pre + pre
    order = np.argsort(key, kind="stable")
    key, step, row = key[order], step[order], row[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.add.reduceat(post[step, row], first, axis=0)
    flat = out.reshape(rows * n_pre, -1)
    flat[key[first]] += sums


def adaptation_backward(psi: np.ndarray, g: np.ndarray, rho: float, beta: float) -> tuple[
        np.ndarray, np.ndarray]:
    """``H(p) = psi(p+1) g(p+1) + (rho - beta psi(p+1)) H(p+1)``, ``H(T-1) = 0``.

    Parameters
    ----------
    psi, g : numpy.ndarray of float64, shape (T, rows, n)

    Returns
    -------
    h : numpy.ndarray of float64, shape (T, rows, n)
    h_start : numpy.ndarray of float64, shape (rows, n)
        ``H(-1)``, the factor of the carried ``epsilonA``.
    """
    h = np.zeros_like(g)
    for p in range(len(g) - 2, -1, -1):
        h[p] = psi[p + 1] * g[p + 1] + (rho - beta * psi[p + 1]) * h[p + 1]
    h_start = psi[0] * g[0] + (rho - beta * psi[0]) * h[0]
    return h, h_start


def hidden_sums(spec: Any, layout: Any, conns: list[Any], series: dict[str, np.ndarray],
                traces: dict[str, dict[Any, np.ndarray]], spikes: dict[Any, np.ndarray],
                real: int, c_reg: float, f_target: float, outer: Any) -> dict[Any, np.ndarray]:
    """``DeltaG`` of the connections into one hidden population; advance their traces.

    Works on any block of batch rows (the caller splits large batches so the
    per-step series stay small); every array below holds the same rows.

    Parameters
    ----------
    spec : HiddenSpec
    conns : list of Connection
        The connections into ``spec.population``.
    series : dict
        ``"psi"``, ``"favg"``, ``"e_hid"``: float64 ``(T, rows, n)`` series
        (entry 0 carried, entry ``p`` the state after step ``p - 1``).
    traces : dict
        ``"z"``: source population -> float64 ``(rows, n_pre)`` carried
        ``ZFilter``; ``"ef"`` and ``"epsa"`` (adaptive targets): connection
        -> float32 ``(rows, n_pre, n_post)`` carried traces, overwritten in
        place with the state after the batch.
    spikes : dict
        Source population -> bool ``(T, rows, n_pre)`` spikes of steps ``0 .. T-1``.
    real : int
        Rows ``0 .. real - 1`` hold real examples; only they enter ``DeltaG``.
    outer : callable
        ``outer(spikes, post)``: ``sum_{s,b} z^T post`` (the event-driven product).

    Returns
    -------
    dict
        Connection -> float64 ``(n_pre, n_post)`` gradient.
    """
    alpha, steps = layout.alpha, len(series["psi"])
    psi = series["psi"]
    learn = filter_backward(series["e_hid"].copy(), alpha)            # L(p)
    g = learn + c_reg * (series["favg"] - f_target)                   # G(p)
    beta = spec.beta if spec.adaptive else 0.0
    rho = float(layout.rho or 0.0)
    # LIF: no adaptation, H = 0 (the adaptive terms below are skipped).
    h: Any = 0.0
    h_start = ha_start = np.zeros(0)
    if spec.adaptive:
        h, h_start = adaptation_backward(psi, g, rho, beta)
    cbar = filter_backward(psi * (g - beta * h), alpha)
    del g, h
    # The carried traces' own advance: weights a(p) = alpha^(T-1-p) in place of G.
    decay = alpha ** np.arange(steps - 1, -1, -1, dtype=np.float64)[:, None, None]
    ha: Any = 0.0
    if spec.adaptive:
        ha, ha_start = adaptation_backward(psi, np.broadcast_to(decay, psi.shape).copy(), rho,
                                           beta)
    dbar = filter_backward(psi * (decay - beta * ha), alpha)
    del ha
    grads: dict[Any, np.ndarray] = {}
    for conn in conns:
        src = conn.source
        zc, ef0 = traces["z"][src], traces["ef"][conn]
        grad = outer(spikes[src][:steps - 1, :real], cbar[1:, :real])
        grad += zc[:real].T @ cbar[0, :real]
        grad += _row_contract(ef0[:real], alpha * learn[0, :real])
        new_ef = ef0 * np.float32(alpha ** steps)
        _add_row_outer(new_ef, zc, dbar[0])
        if spec.adaptive:
            epsa0 = traces["epsa"][conn]
            grad -= beta * _row_contract(epsa0[:real], h_start[:real])
            for b in range(len(new_ef)):
                new_ef[b] -= beta * ha_start[b] * epsa0[b]
            epsa0[...] = _advance_epsa(psi, rho, beta, zc, epsa0, spikes[src], alpha)
        _spike_rows(spikes[src][:steps - 1], dbar[1:], new_ef)
        ef0[...] = new_ef
        grads[conn] = grad
    return grads


def _row_contract(traces: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``sum_b traces[b] * factor[b]`` (float64 ``(n_pre, n_post)``), one row at a time.

    Row by row keeps the temporaries at one row's size (the traces may be large).
    """
    out = np.zeros(traces.shape[1:])
    for b in range(len(traces)):
        out += traces[b] * factor[b]
    return out


def _add_row_outer(out: np.ndarray, pre: np.ndarray, post: np.ndarray) -> None:
    """``out[b] += outer(pre[b], post[b])`` for every row (float32 ``out``)."""
    for b in range(len(out)):
        out[b] += np.outer(pre[b], post[b])


def _advance_epsa(psi: np.ndarray, rho: float, beta: float, zc: np.ndarray,
                  epsa0: np.ndarray, spikes: np.ndarray, alpha: float) -> np.ndarray:
    """``epsilonA`` after the batch: ``R(-1) epsa0 + sum_p Z(p) psi(p) R(p)`` per row.

    ``R(p) = prod_{p < v <= T-1} (rho - beta psi(v))``.
    """
    steps = len(psi)
    keep = np.empty_like(psi)
    keep[steps - 1] = 1.0
    for p in range(steps - 2, -1, -1):
        keep[p] = (rho - beta * psi[p + 1]) * keep[p + 1]
    start = (rho - beta * psi[0]) * keep[0]
    dbar = filter_backward(psi * keep, alpha)
    new = epsa0 * start[:, None, :].astype(np.float32)
    _add_row_outer(new, zc, dbar[0])
    _spike_rows(spikes[:steps - 1], dbar[1:], new)
    return new


__all__ = ["EPropCarry", "adaptation_backward", "filter_backward", "hidden_sums"]
