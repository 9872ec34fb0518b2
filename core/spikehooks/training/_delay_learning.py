"""Learnable synaptic delays (mlGeNN's ``delay_learn_conns`` and ``delay_optimiser``).

Each learned connection keeps a float32 delay ``d`` per synapse, in
timesteps.  The dynamics use ``round(d)`` (halves away from zero) clipped
to ``[0, max_delay_steps]``: a spike of step ``n`` reaches the target's
``inSyn`` in step ``n + 1 + round(d)``, as for a fixed delay.  After every
batch the delay optimiser moves ``d`` along the gradient below and clips it
to ``[0, max_delay_steps]``, after the weight update, as mlGeNN does.

The delay gradient is that of the discrete model: moving one spike's
arrival through synapse ``(i, j)`` from step ``m = n + 1 + k`` to ``m + 1``
changes the loss, to first order, by ``w_ij (b_j[m + 1] - b_j[m])``, with
``b = dL/dJ`` the adjoint of the synapse's ``inSyn`` (see
:mod:`spikehooks.training._backward`), so::

    dL/dd_ij = w_ij * sum over spikes n of i: (b_j[n + 2 + k] - b_j[n + 1 + k])

per unit of ``d`` (one timestep).  It is the forward-difference form of
EventProp's ``w (lambda_V - lambda_I)`` at the arrival (mlGeNN's
``DelayGradient``), and approaches ``dt`` times the derivative of the
continuous-time loss with respect to the arrival time as ``dt`` -> 0 (tested
against the float64 event-driven reference, tolerances in docs/training.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigurationError


def delay_gradient_rows(fwd: Any, conn: Any, weight: np.ndarray, b_hist: np.ndarray,
                        num_steps: int) -> np.ndarray:
    """Per-example delay gradients of one delayed connection.

    Parameters
    ----------
    fwd : ForwardResult
        The rows being processed.
    conn : Conn
        The connection, with ``delays`` (int32, shape (n_pre, n_post)).
    weight : numpy.ndarray of float64, shape (n_pre, n_post)
    b_hist : numpy.ndarray of float64, shape (>= num_steps + max delay + 2, rows, n_post)
        ``b`` of every step (zeros after the trial).
    num_steps : int

    Returns
    -------
    numpy.ndarray of float64, shape (rows, n_pre, n_post)
        ``dL/dd`` per example and synapse, ``d`` in timesteps.
    """
    assert conn.delays is not None
    pre = fwd.spikes[conn.pre].astype(np.float64)
    out = np.zeros((pre.shape[1], *weight.shape))
    for k in np.unique(conn.delays):
        k = int(k)
        step = b_hist[2 + k:num_steps + 2 + k] - b_hist[1 + k:num_steps + 1 + k]
        out += np.einsum("nbi,nbj->bij", pre, step) * (conn.delays == k)
    out *= weight
    return out


def round_delays(values: np.ndarray, max_delay_steps: int) -> np.ndarray:
    """Whole-step delays the dynamics use: ``round(d)`` clipped to ``[0, max_delay_steps]``.

    Parameters
    ----------
    values : numpy.ndarray of float32
        Learned delays in timesteps.
    max_delay_steps : int

    Returns
    -------
    numpy.ndarray of int32, same shape
    """
    # floor(d + 0.5) is C's round() (halves away from zero) for d >= 0; below 0 both clip to 0.
    return np.clip(np.floor(values.astype(np.float64) + 0.5), 0, max_delay_steps).astype(np.int32)


class LearnedDelays:
    """The float delays of the learned connections, their optimiser and the rounding.

    Parameters
    ----------
    entries : list of (int, Connection)
        Graph connection index and connection, per learned connection.
    optimiser : Optimiser
        The delay optimiser.
    backend : Backend
        Offers ``get_delays`` and ``set_delays``.
    graph : Graph
        The training graph; its connections' ``delays`` follow the rounded delays.

    Attributes
    ----------
    values : dict of str to numpy.ndarray of float32, shape (n_pre, n_post)
        ``"<connection name>/delay"`` -> the learned delays in timesteps.
    """

    def __init__(self, entries: list[tuple[int, Any]], optimiser: Any, backend: Any,
                 graph: Any):
        self.entries = entries
        self.optimiser = optimiser
        self.backend = backend
        self.graph = graph
        self.values: dict[str, np.ndarray] = {}
        for _, conn in entries:
            current = backend.get_delays(conn)
            shape = (conn.source.num_neurons, conn.target.num_neurons)
            start = np.zeros(shape, np.float32) if current is None else current
            self.values[self.key(conn)] = np.asarray(start, np.float32).copy()
        self.push()

    @staticmethod
    def key(conn: Any) -> str:
        """The learnable-state key of a connection's delays."""
        return f"{conn.name}/delay"

    @property
    def keys(self) -> list[str]:
        """The keys of :attr:`values`, in the order of the learned connections."""
        return [self.key(conn) for _, conn in self.entries]

    def push(self) -> None:
        """Give the backend and the graph the rounded delays."""
        for index, conn in self.entries:
            rounded = round_delays(self.values[self.key(conn)], conn.max_delay_steps)
            mask = self.graph.conns[index].mask
            if mask is not None:
                rounded = np.where(mask, rounded, 0).astype(np.int32)
            self.backend.set_delays(conn, rounded)
            self.graph.conns[index].delays = rounded

    def step(self, gradients: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
        """One optimiser step on the delays, then clip them and push the rounded ones.

        Parameters
        ----------
        gradients : dict of int to numpy.ndarray of float64
            Graph connection index -> ``dL/dd`` (timesteps).

        Returns
        -------
        dict of str to numpy.ndarray
            The gradients by key.
        """
        by_key = {self.key(conn): gradients[index] for index, conn in self.entries}
        with np.errstate(over="ignore", invalid="ignore"):
            self.optimiser.update(self.values, by_key)
        for _, conn in self.entries:
            values = self.values[self.key(conn)]
            np.clip(values, 0.0, float(conn.max_delay_steps), out=values)
        self.push()
        return by_key

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the learned delays by key."""
        return {key: value.copy() for key, value in self.values.items()}

    def check_state(self, state: Any) -> None:
        """Refuse learned delays that do not fit these connections (nothing changes)."""
        shapes = {key: value.shape for key, value in self.values.items()}
        given = ({key: tuple(np.shape(v)) for key, v in dict(state).items()}
                 if isinstance(state, dict) else None)
        if given != shapes:
            raise ConfigurationError(
                f"training state delays must hold this network's learned delays {shapes}; got "
                f"{given}. Load a state saved by a network with the same delay_learn_conns."
            )
        for key, value in state.items():
            value = np.asarray(value)
            if not np.all(np.isfinite(value)):
                raise ConfigurationError(
                    f"training state delays {key!r} must be finite; got non-finite values. "
                    f"Load another checkpoint."
                )

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` (checked first) and push the rounded delays."""
        self.check_state(state)
        for key, value in state.items():
            self.values[key][...] = np.asarray(value, np.float32)
        self.push()


__all__ = ["LearnedDelays", "delay_gradient_rows", "round_delays"]
