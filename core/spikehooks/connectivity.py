"""Connectivity: which pre neurons reach which post neurons, with what weight.

Weights are given as a number, an array or an initializer (see
:mod:`spikehooks.initializers`).  Arrays are pre-major: ``weight[i_pre, j_post]``
for :class:`Dense` (shape ``(n_pre, n_post)``), one value per neuron for
:class:`OneToOne` (shape ``(n,)``).  Multi-dimensional populations use
flat C-order neuron indices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._mlgenn_missing import module_getattr as _mlgenn_getattr
from .checks import integer
from .errors import ConfigurationError
from .initializers import Initializer, check_shape, materialise, resolve_value


def _check_delay(delay: Any, owner: str) -> Any:
    """An int >= 0, an int-valued array >= 0 (per synapse) or an Initializer, in timesteps."""
    if isinstance(delay, (int, np.integer)) or isinstance(delay, bool):
        return integer(delay, owner, "delay", "an int >= 0 (timesteps)", "Pass delay=0.",
                       lambda v: v >= 0)
    value = resolve_value(delay, f"{owner} delay")
    if isinstance(value, np.ndarray) and (np.any(value < 0) or np.any(value != np.round(value))):
        raise ConfigurationError(
            f"{owner} delay must hold whole numbers of timesteps >= 0; got an array with "
            f"values in [{value.min()}, {value.max()}]. Round it and clip it at 0."
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return int(value)
    return value


def known_max_delay(delay: Any) -> int | None:
    """The largest delay a ``delay`` value can give, or None for an initializer."""
    if isinstance(delay, Initializer):
        return None
    return int(np.max(delay)) if np.size(delay) else 0


class Connectivity:
    """Base class of connectivity.

    Attributes
    ----------
    weight : float, numpy.ndarray or Initializer
        The weight specification, resolved.
    delay : int
        Extra axonal delay in timesteps (0: a spike of step ``i`` arrives in ``i + 1``).
    """

    weight: Any
    delay: Any = 0

    def check(self, num_pre: int, num_post: int, owner: str) -> None:
        """Raise :class:`ConfigurationError` if this connectivity cannot join the sizes."""

    def check_shapes(self, source_shape: tuple[int, ...], target_shape: tuple[int, ...],
                     owner: str) -> None:
        """Check the populations' shapes; by default only their sizes matter."""
        self.check(math.prod(source_shape), math.prod(target_shape), owner)

    def build_delays(self, num_pre: int, num_post: int,
                     rng: np.random.Generator) -> np.ndarray | None:
        """Draw the per-synapse delays in timesteps (after the weights).

        Returns
        -------
        numpy.ndarray of int32, shape (num_pre, num_post), or None
            None when every delay is 0.  Initializer draws are rounded to whole
            steps and clipped at 0.
        """
        delay = self.delay
        if isinstance(delay, (int, np.integer)):
            return None if delay == 0 else np.full((num_pre, num_post), int(delay), np.int32)
        drawn = materialise(delay, (num_pre, num_post), rng)
        steps = np.maximum(np.round(drawn), 0).astype(np.int32)
        return steps if steps.any() else None

    def build_for(self, connection: Any,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """Draw the weights of ``connection`` (see :meth:`build`).

        Backends call this rather than :meth:`build`: a connectivity whose
        synapses depend on the connection itself (``FixedProbability``
        without self-connections) sees its source and target.
        """
        return self.build(connection.source.num_neurons, connection.target.num_neurons, rng)

    def build(
        self, num_pre: int, num_post: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Draw the weights.

        Returns
        -------
        weight : numpy.ndarray of float32, shape (num_pre, num_post)
            Dense, pre-major; absent synapses are 0.
        mask : numpy.ndarray of bool, shape (num_pre, num_post), or None
            Which synapses exist; None for all-to-all.
        """
        raise NotImplementedError


class Dense(Connectivity):
    """All-to-all connectivity.

    Parameters
    ----------
    weight : float, array of shape (n_pre, n_post), or Initializer
        Synaptic weights.
    delay : int, array of shape (n_pre, n_post), or Initializer
        Delay in timesteps on top of the one-step transmission: a spike of
        step ``i`` reaches the target in step ``i + 1 + delay``.  Per-synapse
        arrays must hold whole numbers; initializer draws are rounded and need
        ``Connection(..., max_delay_steps=...)``.
    """

    def __init__(self, weight: Any, delay: Any = 0):
        self.weight = resolve_value(weight, "Dense weight")
        self.delay = _check_delay(delay, "Dense")

    def check(self, num_pre: int, num_post: int, owner: str) -> None:
        check_shape(self.weight, (num_pre, num_post), f"{owner} weight")
        check_shape(self.delay, (num_pre, num_post), f"{owner} delay")

    def build(self, num_pre, num_post, rng):
        return materialise(self.weight, (num_pre, num_post), rng), None

    def __repr__(self) -> str:
        return f"Dense(weight={_describe(self.weight)}, delay={_describe(self.delay)})"


class FixedProbability(Connectivity):
    """Each pre-post pair is connected independently with probability ``p``.

    Parameters
    ----------
    p : float
        Connection probability in [0, 1].
    weight : float, array of shape (n_pre, n_post), or Initializer
        Weights of the existing synapses.
    allow_self_connections : bool
        Only matters when a population is connected to itself: False
        (default, as in mlGeNN) never connects neuron ``i`` to itself, so each
        pair ``i != j`` exists with probability ``p`` and the diagonal is
        empty (expected count ``p * n * (n - 1)``); True lets the diagonal
        be drawn like any other pair.  Between two different populations
        every pair is drawn either way.
    delay : int, array of shape (n_pre, n_post), or Initializer
        Delay in timesteps on top of the one-step transmission: a spike of
        step ``i`` reaches the target in step ``i + 1 + delay``.  Per-synapse
        arrays must hold whole numbers; initializer draws are rounded and need
        ``Connection(..., max_delay_steps=...)``.
    """

    def __init__(self, p: float, weight: Any, allow_self_connections: bool = False,
                 delay: Any = 0):
        if not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
            raise ConfigurationError(
                f"FixedProbability p must be a probability in [0, 1]; got {p!r}. "
                f"Pass e.g. FixedProbability(0.1, weight)."
            )
        self.p = float(p)
        self.weight = resolve_value(weight, "FixedProbability weight")
        if not isinstance(allow_self_connections, (bool, np.bool_)):
            raise ConfigurationError(
                f"FixedProbability allow_self_connections must be True or False; got "
                f"{allow_self_connections!r}. It is the third positional parameter, as in "
                f"mlGeNN: pass FixedProbability(p, weight, delay=...) to give a delay."
            )
        self.allow_self_connections = bool(allow_self_connections)
        self.delay = _check_delay(delay, "FixedProbability")
        #: bool (n_pre, n_post) synapses to use instead of a fresh draw; set when
        #: an mlGeNN checkpoint with its sparse indices is loaded into the network.
        self.mask: np.ndarray | None = None

    def check(self, num_pre: int, num_post: int, owner: str) -> None:
        check_shape(self.weight, (num_pre, num_post), f"{owner} weight")
        check_shape(self.delay, (num_pre, num_post), f"{owner} delay")

    def build(self, num_pre, num_post, rng):
        mask = rng.random((num_pre, num_post)) < self.p
        # The draw above still happens with a loaded mask, so that the random
        # streams of every other connection stay those of the unloaded network.
        if self.mask is not None:
            mask = self.mask.copy()
        weight = materialise(self.weight, (num_pre, num_post), rng)
        weight[~mask] = 0.0
        return weight, mask

    def build_for(self, connection, rng):
        weight, mask = super().build_for(connection, rng)
        # GeNN's no-autapse draw (what mlGeNN asks for here) gives each pair
        # i != j probability p and never the diagonal: the same as clearing the
        # diagonal of an all-pairs draw, which keeps every random stream as it is.
        # A loaded structure (an mlGeNN checkpoint's indices) is taken as it is.
        if (not self.allow_self_connections and connection.source is connection.target
                and self.mask is None and mask is not None):
            np.fill_diagonal(mask, False)
            np.fill_diagonal(weight, 0.0)
        return weight, mask

    def __repr__(self) -> str:
        return (f"FixedProbability(p={self.p}, weight={_describe(self.weight)}, "
                f"allow_self_connections={self.allow_self_connections}, "
                f"delay={_describe(self.delay)})")


class OneToOne(Connectivity):
    """Neuron ``i`` of the source drives neuron ``i`` of the target.

    Parameters
    ----------
    weight : float, array of shape (n,), or Initializer
        One weight per neuron pair.
    delay : int, array of shape (n,), or Initializer
        Delay in timesteps on top of the one-step transmission, one per
        neuron pair (as ``weight``); see :class:`Dense` for the rules.
    """

    def __init__(self, weight: Any, delay: Any = 0):
        self.weight = resolve_value(weight, "OneToOne weight")
        self.delay = _check_delay(delay, "OneToOne")

    def build_delays(self, num_pre, num_post, rng):
        # One delay per pair, drawn like the weights (shape (n,)), on the diagonal.
        if isinstance(self.delay, (int, np.integer)):
            return super().build_delays(num_pre, num_post, rng)
        drawn = materialise(self.delay, (num_pre,), rng)
        steps = np.maximum(np.round(drawn), 0).astype(np.int32)
        if not steps.any():
            return None
        delays = np.zeros((num_pre, num_post), dtype=np.int32)
        np.fill_diagonal(delays, steps)
        return delays

    def check(self, num_pre: int, num_post: int, owner: str) -> None:
        if num_pre != num_post:
            raise ConfigurationError(
                f"{owner} OneToOne needs source and target of equal size; got {num_pre} and "
                f"{num_post} neurons. Use Dense or FixedProbability instead."
            )
        check_shape(self.weight, (num_pre,), f"{owner} weight")
        check_shape(self.delay, (num_pre,), f"{owner} delay")

    def build(self, num_pre, num_post, rng):
        diagonal = materialise(self.weight, (num_pre,), rng)
        weight = np.zeros((num_pre, num_post), dtype=np.float32)
        np.fill_diagonal(weight, diagonal)
        return weight, np.eye(num_pre, dtype=bool)

    def __repr__(self) -> str:
        return f"OneToOne(weight={_describe(self.weight)}, delay={_describe(self.delay)})"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {value.shape}>"
    return repr(value)


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


# The convolution family subclasses Connectivity, so it is imported last.
from ._convolution import (  # noqa: E402
    AvgPool2D,
    AvgPoolConv2D,
    AvgPoolDense2D,
    Conv2D,
    Conv2DTranspose,
    TiedConnectivity,
)

__all__ = ["AvgPool2D", "AvgPoolConv2D", "AvgPoolDense2D", "Connectivity", "Conv2D",
           "Conv2DTranspose", "Dense", "FixedProbability", "Initializer", "OneToOne",
           "TiedConnectivity"]
