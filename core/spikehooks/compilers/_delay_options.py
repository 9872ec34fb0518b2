"""EventPropCompiler's delay-learning options: checked before anything is built.

mlGeNN's ``delay_learn_conns`` (the connections whose delays are learned)
and ``delay_optimiser`` (their optimiser; by default one like the weight
optimiser).  The learning itself is :mod:`spikehooks.training._delay_learning`.
"""

from __future__ import annotations

import logging
from typing import Any

from ..connectivity import Dense, FixedProbability
from ..errors import ConfigurationError
from ..optimisers import Optimiser
from ..plugins import registry

log = logging.getLogger("spikehooks")


def check_delay_learn_conns(conns: Any) -> list[Any]:
    """Return ``delay_learn_conns`` as a list of connections, refusing anything else.

    A layer of a ``SequentialNetwork`` stands for its incoming connection, as in mlGeNN.
    """
    from .._network_objects import Connection

    if conns is None:
        return []
    if isinstance(conns, Connection) or isinstance(getattr(conns, "connection", None),
                                                   Connection):
        conns = [conns]
    try:
        listed = [c.connection if isinstance(getattr(c, "connection", None), Connection)
                  else c for c in conns]
    except TypeError:
        listed = None
    if listed is None or not all(isinstance(c, Connection) for c in listed):
        raise ConfigurationError(
            f"EventPropCompiler delay_learn_conns must be a sequence of Connection objects; "
            f"got {conns!r}. Pass e.g. delay_learn_conns=[conn], conn the object Connection(...) "
            f"returned (or a SequentialNetwork layer)."
        )
    unique: list[Any] = []
    for conn in listed:
        if conn not in unique:
            unique.append(conn)
    return unique


def check_optimiser(value: Any, name: str) -> Optimiser:
    """Refuse an optimiser specification that did not give an Optimiser."""
    if not isinstance(value, Optimiser):
        raise ConfigurationError(
            f"EventPropCompiler {name} must be an Optimiser, a name ('adam', 'sgd') or "
            f"(name, params); got {value!r}. Pass e.g. {name}=Adam(0.001)."
        )
    return value


def make_delay_optimiser(spec: Any, optimiser: Optimiser, delay_spec: Any) -> Optimiser:
    """The delay optimiser: ``delay_spec``, or by default a fresh copy of the weight optimiser.

    A copy (same class and hyperparameters, its own step count and moments)
    rather than the same object: one Adam step per batch for the weights and
    one for the delays, as mlGeNN's separate optimiser updates.
    """
    if delay_spec is not None:
        return check_optimiser(registry.create("optimisers", delay_spec, expected=Optimiser),
                               "delay_optimiser")
    if isinstance(spec, Optimiser):
        return type(optimiser)(**{name: getattr(optimiser, name)
                                  for name in optimiser.param_names})
    return check_optimiser(registry.create("optimisers", spec, expected=Optimiser), "optimiser")


def check_learned_connections(network: Any, conns: list[Any]) -> None:
    """Refuse learned-delay connections this trainer cannot learn, before the backend is built."""
    for conn in conns:
        if conn not in network.connections:
            raise ConfigurationError(
                f"EventPropCompiler delay_learn_conns must hold connections of the compiled "
                f"network; got {conn.name!r}, which is not one of "
                f"{[c.name for c in network.connections]}. Pass this network's connections."
            )
        if not isinstance(conn.connectivity, (Dense, FixedProbability)):
            raise ConfigurationError(
                f"EventPropCompiler delay_learn_conns connection {conn.name!r} must have Dense "
                f"or FixedProbability connectivity; got {type(conn.connectivity).__name__}. "
                f"Learn delays on a dense or sparse connection."
            )
        if not getattr(conn, "max_delay_steps_given", True) or conn.max_delay_steps is None:
            raise ConfigurationError(
                f"Connection {conn.name!r} max_delay_steps must be given when its delays are "
                f"learned (delay_learn_conns); got None. Pass e.g. Connection(..., "
                f"max_delay_steps=50): learned delays are clipped to [0, max_delay_steps]."
            )


def numpy_backend(compiler: Any, network: Any) -> Any:
    """The NumPy backend for ``network`` with ``compiler``'s settings (no backend options)."""
    backend_class = registry.resolve("backends", "numpy")
    return backend_class(network, batch_size=compiler.batch_size, dt=compiler.dt,
                         num_timesteps=compiler.example_timesteps,
                         rng_seed=compiler.rng_seed)


__all__ = ["check_delay_learn_conns", "check_learned_connections", "check_optimiser",
           "make_delay_optimiser", "numpy_backend"]
