"""Deep R rewiring (Bellec et al. 2018) for e-prop, as mlGeNN 2.4.0 applies it.

Every potential synapse of a rewired connection has a fixed sign, drawn
once; only *active* synapses exist (carry a weight, take part in the
simulation and in learning).  After every optimiser step an active synapse
whose weight no longer has its sign becomes *dormant* (its weight is 0 and
stays so), and as many dormant positions are activated at random, each with
weight 0, so the total number of active synapses of the connection never
changes.  An optional L1 term adds ``+C`` (excitatory) or ``-C``
(inhibitory) per example of the batch to every active synapse's gradient
before the optimiser step.  ``docs/eprop.md`` states the rule and where this
implementation chooses.

The connection keeps its dense ``(num_pre, num_post)`` weight array; the
backend's sparse mask (``get_weight_mask``) is the set of active synapses
and is edited in place, so the simulation, the gradient masking,
``save_connectivity`` and checkpoints all see the rewired structure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigurationError

#: GeNN sizes the rows of a FixedProbability matrix so that the draw of all
#: rows overflows with probability 1 - 0.9999.
ROW_QUANTILE = 0.9999
#: Mixed into ``rng_seed`` so Deep R draws from its own stream and leaves every
#: other random stream (shuffling, initialisation) as it is without Deep R.
_STREAM_TAG = 0x44656570


def binomial_inverse_cdf(quantile: float, n: int, p: float) -> int:
    """Smallest ``k`` with ``P(X <= k) >= quantile`` for ``X ~ Binomial(n, p)``.

    Computed in float64 from the tail: ``P(X > k) <= 1 - quantile``, the
    tail summed from ``k = n`` down so that quantiles close to 1 keep their
    precision.

    Parameters
    ----------
    quantile : float
        In [0, 1].
    n : int
        Number of trials (>= 0).
    p : float
        Success probability in [0, 1].

    Returns
    -------
    int
        In ``[0, n]``.
    """
    if p <= 0.0 or n == 0 or quantile <= 0.0:
        return 0
    if p >= 1.0 or quantile >= 1.0:
        return n
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    allowed = 1.0 - quantile
    tail = 0.0
    for k in range(n, -1, -1):
        # tail holds P(X > k) here; adding P(X = k) gives P(X > k - 1).
        if tail > allowed:
            return k + 1
        tail += math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                         + k * log_p + (n - k) * log_q)
    return 0


def row_capacity(connection: Any, mask: np.ndarray) -> int:
    """Most active synapses one row of ``connection`` may hold (GeNN's row stride).

    ``FixedProbability(p)``: GeNN's bound ``binomial_inverse_cdf(0.9999 **
    (1 / num_pre), num_post, p)``; with a loaded structure (an mlGeNN
    checkpoint's indices) the longest loaded row, as pygenn sizes rows given
    as indices; ``OneToOne``: 1.  Never less than the longest row of
    ``mask``, which this draw may exceed where GeNN's would have failed.
    """
    conn = connection.connectivity
    longest = int(mask.sum(axis=1).max()) if mask.size else 0
    p = getattr(conn, "p", None)
    if p is not None and getattr(conn, "mask", None) is None:
        num_pre, num_post = mask.shape
        bound = binomial_inverse_cdf(ROW_QUANTILE ** (1.0 / max(num_pre, 1)), num_post, p)
        return max(bound, longest)
    return longest


class RewiredConnection:
    """The Deep R state of one connection.

    Attributes
    ----------
    connection : Connection
    key : str
        The connection's learnable key, ``"<name>/weight"``.
    mask : numpy.ndarray of bool, shape (num_pre, num_post)
        The backend's live mask of active synapses (edited in place).
    inhibitory : numpy.ndarray of bool, shape (num_pre, num_post)
        Fixed sign of every potential synapse (True: the weight must be < 0).
    capacity : int
        Most active synapses per row.
    num_rewirings, num_failed_rewirings : int
        Of the last rewiring: synapses made dormant (and as many activated),
        and random row choices rejected because the row was full (mlGeNN's
        ``NumRewirings`` and ``NumFailedRewirings``).
    """

    def __init__(self, connection: Any, mask: np.ndarray):
        self.connection = connection
        self.key = f"{connection.name}/weight"
        self.mask = mask
        self.inhibitory = np.zeros(mask.shape, bool)
        self.capacity = row_capacity(connection, mask)
        #: Synapses the last rewiring removed or created (GeNN gives them fresh variables).
        self.renewed = np.zeros(mask.shape, bool)
        self.num_rewirings = 0
        self.num_failed_rewirings = 0


class DeepR:
    """Deep R rewiring of a compiled e-prop network's connections.

    Parameters
    ----------
    backend : NumpyBackend
        Offers ``get_weight`` and ``get_weight_mask`` (live arrays).
    connections : list of Connection
        The rewired connections, each with a sparse mask.
    l1_strength : float
        mlGeNN's ``deep_r_l1_strength`` ``C`` (>= 0; 0 disables the L1 term).
    batch_size : int
        The compiled (global) batch size ``B``: mlGeNN adds ``C`` to each of
        its ``B`` per-example gradient copies before they are summed.
    rng_seed : int
        Seeds Deep R's own generator (signs of never-active synapses, which
        rows and positions are activated).

    Attributes
    ----------
    rewired : list of RewiredConnection
    initialised : bool
        Whether the signs were set (at the start of an epoch numbered 0, or
        of the first epoch trained).
    """

    def __init__(self, backend: Any, connections: list[Any], l1_strength: float,
                 batch_size: int, rng_seed: int):
        self.backend = backend
        self.l1_strength = float(l1_strength)
        self.batch_size = int(batch_size)
        self.rewired = [RewiredConnection(c, backend.get_weight_mask(c)) for c in connections]
        self.rng = np.random.default_rng([int(rng_seed), _STREAM_TAG])
        self.initialised = False

    def by_connection(self, connection: Any) -> RewiredConnection:
        """The :class:`RewiredConnection` of ``connection``."""
        for rc in self.rewired:
            if rc.connection is connection:
                return rc
        raise KeyError(connection)

    # ------------------------------------------------------------- the rule
    def on_epoch_begin(self, epoch: int) -> None:
        """mlGeNN's ``DeepRInit``: set the signs at an epoch numbered 0 (and before any first).

        mlGeNN runs it when epoch 0 begins, so every ``train()`` starting at
        epoch 0 sets the signs again from the weights; a run resumed from a
        checkpoint carries them in the checkpoint instead.
        """
        if epoch == 0 or not self.initialised:
            self.initialise()

    def initialise(self) -> None:
        """Draw every sign at random (1/2 each), then take active synapses' from their weight.

        An active synapse with a weight < 0 is inhibitory, any other
        excitatory (a weight of exactly 0 counts as excitatory, as the sign
        test ``g < 0`` says).
        """
        for rc in self.rewired:
            weight = self.backend.get_weight(rc.connection)
            rc.inhibitory[...] = self.rng.random(rc.mask.shape) < 0.5
            rc.inhibitory[rc.mask] = weight[rc.mask] < 0.0
        self.initialised = True

    def add_l1(self, gradients: dict[str, np.ndarray]) -> None:
        """Add the L1 term to the gradients (by learnable key) of active synapses, in place.

        ``+C * B`` for excitatory and ``-C * B`` for inhibitory synapses: the
        optimiser subtracts the gradient, so both move towards 0.
        """
        if self.l1_strength <= 0.0:
            return
        step = self.l1_strength * self.batch_size
        for rc in self.rewired:
            grad = gradients[rc.key]
            grad += np.where(rc.inhibitory, -step, step) * rc.mask

    def rewire(self, optimiser: Any) -> None:
        """After the optimiser step: deactivate sign-flipped synapses, activate as many.

        Parameters
        ----------
        optimiser : Optimiser
            Its per-weight moments of every deactivated or activated synapse
            are zeroed (GeNN zeroes a new synapse's variables; a dormant one's
            weight then stays exactly 0 under any optimiser).
        """
        for rc in self.rewired:
            weight = self.backend.get_weight(rc.connection)
            dormant = rc.mask & ((weight < 0.0) != rc.inhibitory)
            rc.mask[dormant] = False
            weight[dormant] = 0.0
            optimiser.reset_slots(rc.key, dormant)
            total = int(np.count_nonzero(dormant))
            activations, failed = self._choose_rows(rc.mask.sum(axis=1), total, rc.capacity)
            activated = np.zeros_like(dormant)
            for row in np.flatnonzero(activations):
                free = np.flatnonzero(~rc.mask[row])
                activated[row, self.rng.choice(free, int(activations[row]), replace=False)] = True
            rc.mask[activated] = True
            weight[activated] = 0.0
            optimiser.reset_slots(rc.key, activated)
            rc.num_rewirings, rc.num_failed_rewirings = total, failed
            rc.renewed = dormant | activated

    def _choose_rows(self, row_length: np.ndarray, total: int,
                     capacity: int) -> tuple[np.ndarray, int]:
        """mlGeNN's row choice: each of ``total`` activations goes to a uniformly drawn row.

        A draw of a full row (``row_length + activations == capacity``) is
        rejected and counted.  Draws are taken ``remaining`` at a time and
        accepted in order, which is the one-at-a-time loop on the same stream.

        Returns
        -------
        activations : numpy.ndarray of int64, shape (num_pre,)
        failed : int
        """
        activations = np.zeros(len(row_length), np.int64)
        failed, remaining = 0, total
        while remaining > 0:
            draws = self.rng.integers(0, len(row_length), size=remaining)
            order = np.argsort(draws, kind="stable")
            ordered = draws[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            rank = np.arange(len(ordered)) - np.repeat(starts, np.diff(np.r_[starts, len(ordered)]))
            # The k-th draw of a row in this chunk is accepted while the row has room.
            room = capacity - row_length - activations
            accepted = np.empty(len(draws), bool)
            accepted[order] = rank < room[ordered]
            np.add.at(activations, draws[accepted], 1)
            taken = int(np.count_nonzero(accepted))
            failed += len(draws) - taken
            remaining -= taken
        return activations, failed

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to rewire bit for bit.

        Returns
        -------
        dict
            ``{"rng": generator state, "initialised": bool, "connections":
            {name: {"mask": bool (num_pre, num_post), "inhibitory": bool
            (num_pre, num_post), "last": int64 [num_rewirings,
            num_failed_rewirings]}}}``.
        """
        return {
            "rng": self.rng.bit_generator.state,
            "initialised": bool(self.initialised),
            "connections": {
                rc.connection.name: {
                    "mask": rc.mask.copy(), "inhibitory": rc.inhibitory.copy(),
                    "last": np.array([rc.num_rewirings, rc.num_failed_rewirings], np.int64)}
                for rc in self.rewired},
        }

    def check_state(self, state: Any) -> None:
        """Refuse a Deep R state this network cannot load, changing nothing."""
        want = {rc.connection.name: rc.mask.shape for rc in self.rewired}
        try:
            conns = dict(state["connections"])
            got = {name: tuple(np.shape(entry["mask"])) for name, entry in conns.items()}
            same = got == want and all(
                np.shape(entry["inhibitory"]) == want[name] for name, entry in conns.items())
            kind = dict(state["rng"]).get("bit_generator")
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"training state deep_r must hold rng, initialised and connections; got "
                f"{type(state).__name__} missing {exc}. Load state saved from the same "
                f"network with the same deep_r_conns."
            ) from exc
        if not same or kind != self.rng.bit_generator.state["bit_generator"]:
            raise ConfigurationError(
                f"training state deep_r must hold masks and signs of shapes {want} and a "
                f"{self.rng.bit_generator.state['bit_generator']} generator; got {got} and "
                f"{kind}. Load state saved from the same network with the same deep_r_conns."
            )

    def load_state(self, state: Any) -> None:
        """Restore what :meth:`state_dict` returned (checked first); masks in place."""
        self.check_state(state)
        for rc in self.rewired:
            entry = state["connections"][rc.connection.name]
            rc.mask[...] = np.asarray(entry["mask"], bool)
            rc.inhibitory[...] = np.asarray(entry["inhibitory"], bool)
            rc.num_rewirings, rc.num_failed_rewirings = (int(v) for v in entry["last"])
        self.rng.bit_generator.state = state["rng"]
        self.initialised = bool(state["initialised"])


__all__ = ["DeepR", "RewiredConnection", "binomial_inverse_cdf", "row_capacity"]
