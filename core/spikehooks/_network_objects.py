"""Populations and connections: the nodes and edges of a network description."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .connectivity import Connectivity, known_max_delay
from .errors import ConfigurationError
from .neurons import Neuron
from .plugins import registry
from .synapses import Synapse


def _active_network(what: str, example: str) -> Any:
    from ._network_context import current_network

    network = current_network()
    if network is None:
        raise ConfigurationError(
            f"{what} must be created inside a network context; got none active. "
            f"Write:\n    network = SequentialNetwork()\n    with network:\n        {example}"
        )
    return network


def create(kind: str, spec: Any, expected: type, owner: str) -> Any:
    """Resolve ``spec`` through the registry and check the object's type."""
    obj = registry.create(kind, spec, expected=expected)
    if isinstance(obj, type):
        raise ConfigurationError(
            f"{owner} must be a {expected.__name__} object or name; got the class "
            f"{obj.__name__}. Instantiate it: {obj.__name__}(...)."
        )
    if not isinstance(obj, expected):
        raise ConfigurationError(
            f"{owner} must be a {expected.__name__} object or name; got "
            f"{type(obj).__name__}. Pass e.g. a spikehooks.{expected.__module__.split('.')[-1]} "
            f"object or a registered name."
        )
    return obj


def _check_shape(shape: Any, owner: str) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    def is_size(d: Any) -> bool:
        return (isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))
                and bool(d >= 1))

    if not dims or not all(is_size(d) for d in dims):
        raise ConfigurationError(
            f"{owner} shape must be a positive int or a tuple of positive ints; got {shape!r}. "
            f"Pass e.g. 784 or (28, 28)."
        )
    return tuple(int(d) for d in dims)


def _infer_shapes(connectivity: Connectivity, source: Population, target: Population) -> None:
    """Fill in an omitted shape as mlGeNN does: from a Dense weight array, or OneToOne."""
    from .connectivity import Dense, OneToOne, TiedConnectivity

    weight = getattr(connectivity, "weight", None)
    if isinstance(connectivity, Dense) and isinstance(weight, np.ndarray) and weight.ndim == 2:
        if source.shape is None:
            source.shape = (weight.shape[0],)
        if target.shape is None:
            target.shape = (weight.shape[1],)
    elif isinstance(connectivity, TiedConnectivity):
        # Convolution and pooling give their output shape (mlGeNN's update_target_shape).
        if target.shape is None and source.shape is not None:
            target.shape = connectivity.bind(source.shape, f"Population {target.name!r}")
    elif isinstance(connectivity, OneToOne):
        if target.shape is None and source.shape is not None:
            target.shape = source.shape
        elif source.shape is None and target.shape is not None:
            source.shape = target.shape
    for role, pop in (("source", source), ("target", target)):
        if pop.shape is None:
            raise ConfigurationError(
                f"Population {pop.name!r} shape must be given when the connection's "
                f"{type(connectivity).__name__} cannot infer it; got shape=None as the "
                f"{role}. Pass shape=..., or connect it with Dense(weight array), OneToOne or "
                f"a convolution or pooling connectivity, which infer it as in mlGeNN."
            )


def check_add_to_model(add_to_model: Any, owner: str) -> None:
    """Refuse mlGeNN's ``add_to_model=False`` (an object outside every network)."""
    if add_to_model is not True:
        raise ConfigurationError(
            f"{owner} add_to_model must be True; got {add_to_model!r}. mlGeNN uses False "
            f"internally for objects its layers add to the network themselves; a spikehooks "
            f"object always belongs to the network active in `with network:`, so leave "
            f"add_to_model out (use a SequentialNetwork's InputLayer and Layer for layers)."
        )


class Population:
    """A group of identical neurons.

    Parameters
    ----------
    neuron : Neuron, str or (str, dict)
        The neuron model, e.g. ``LeakyIntegrateFire(tau_mem=10.0)`` or
        ``"leaky_integrate_fire"``.
    shape : int, tuple of int or None
        Shape of the population; neuron ids are flat C-order indices.  None
        (mlGeNN's default): inferred from the first connection that fixes it
        (``Dense`` with a weight array, ``OneToOne``).
    record_spikes : bool
        Allocate a spike recording buffer (needed by ``SpikeRecorder``).
    record_spike_events : bool
        mlGeNN's recording of GeNN spike-like events; spikehooks models emit
        none, so only False is accepted.
    name : str, optional
        Unique name within the network; default ``"pop<i>"``.
    add_to_model : bool
        mlGeNN's switch for objects its layers add themselves; every
        spikehooks population belongs to the active network, so only True.

    Attributes
    ----------
    name : str
    shape : tuple of int
    num_neurons : int
    record_spikes : bool
    neuron : Neuron
    network : Network
    incoming, outgoing : list of Connection
    """

    def __init__(self, neuron: Any, shape: Any = None, record_spikes: bool = False,
                 record_spike_events: bool = False, name: str | None = None,
                 add_to_model: bool = True):
        check_add_to_model(add_to_model, type(self).__name__)
        network = _active_network(
            f"{type(self).__name__}", f"{type(self).__name__}(...)"
        )
        self.neuron: Neuron = create("neurons", neuron, Neuron, f"{type(self).__name__} neuron")
        self._owner = f"{type(self).__name__} {name or ''}".rstrip()
        self.shape = shape
        if record_spike_events:
            raise ConfigurationError(
                f"{self._owner} record_spike_events must be False; got True. mlGeNN's "
                f"spike-like events come from GeNN event thresholds, which no spikehooks model "
                f"has, so nothing would be recorded. Use record_spikes=True and SpikeRecorder."
            )
        self.record_spike_events = False
        self.record_spikes = bool(record_spikes)
        self.incoming: list[Connection] = []
        self.outgoing: list[Connection] = []
        self.network = network
        if record_spikes and not self.neuron.spiking:
            raise ConfigurationError(
                f"Population {name or ''} record_spikes must be False for the non-spiking "
                f"{type(self.neuron).__name__}; got True. Record its V with a VarRecorder."
            )
        self.name: str = network._add_population(self, name)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the population (None until a connection infers it)."""
        return self._shape

    @shape.setter
    def shape(self, shape: Any) -> None:
        self._shape = None if shape is None else _check_shape(shape, self._owner)
        self._num_neurons = None if self._shape is None else math.prod(self._shape)

    @property
    def num_neurons(self) -> int:
        """Number of neurons (the product of ``shape``)."""
        if self._num_neurons is None:
            raise ConfigurationError(
                f"Population {getattr(self, 'name', self._owner)!r} shape must be known; got "
                f"None, and no connection inferred it. Pass shape=..., or connect it with "
                f"Dense(weight array) or OneToOne."
            )
        return self._num_neurons

    @property
    def population(self) -> Population:
        """The population itself (mlGeNN's layers expose ``.population``)."""
        return self

    def __call__(self) -> Population:
        """The population itself.

        mlGeNN holds populations and connections by weak reference, so its
        code calls ``conn.source()``, ``conn.target()`` or ``c()`` for each
        of ``pop.incoming_connections``; those calls port unchanged.
        """
        return self

    @property
    def incoming_connections(self) -> list[Connection]:
        """mlGeNN's name for :attr:`incoming` (a copy)."""
        return list(self.incoming)

    @property
    def outgoing_connections(self) -> list[Connection]:
        """mlGeNN's name for :attr:`outgoing` (a copy)."""
        return list(self.outgoing)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, shape={self.shape}, "
                f"neuron={type(self.neuron).__name__}, record_spikes={self.record_spikes})")


class Connection:
    """Synapses from one population to another.

    Parameters
    ----------
    source, target : Population
        Pre- and postsynaptic populations (layers are populations too).
    connectivity : Connectivity, str or (str, dict)
        E.g. ``Dense(weights)``.
    synapse : Synapse, str or (str, dict)
        ``"delta"`` (default) or e.g. ``Exponential(5.0)``.
    name : str, optional
        Unique name within the network; default ``"conn<i>"``.  Learnable
        state is keyed ``"<name>/weight"``.
    max_delay_steps : int, optional
        The largest synaptic delay (timesteps) this connection may have;
        required when delays come from an initializer.  A delay beyond it is
        an error.
    add_to_model : bool
        Only True (see :class:`Population`).
    """

    def __init__(self, source: Population, target: Population, connectivity: Any,
                 synapse: Any = "delta", name: str | None = None,
                 max_delay_steps: int | None = None, add_to_model: bool = True):
        check_add_to_model(add_to_model, "Connection")
        network = _active_network("Connection", "Connection(source, target, Dense(w))")
        for role, pop in (("source", source), ("target", target)):
            if not isinstance(pop, Population):
                raise ConfigurationError(
                    f"Connection {role} must be a Population or layer; got "
                    f"{type(pop).__name__}. Pass the object returned by Population(...)."
                )
            if pop.network is not network:
                raise ConfigurationError(
                    f"Connection {role} must belong to the active network; got population "
                    f"{pop.name!r} of another network. Create both ends in the same network."
                )
        if not source.neuron.spiking:
            raise ConfigurationError(
                f"Connection source must be a spiking population; got {source.name!r} with "
                f"the non-spiking {type(source.neuron).__name__}. Connect from a spiking layer."
            )
        if target.neuron.is_input:
            raise ConfigurationError(
                f"Connection target must not be an input population; got {target.name!r} with "
                f"{type(target.neuron).__name__}. Connect into a hidden or output population."
            )
        self.source = source
        self.target = target
        self.connectivity: Connectivity = create("connectivity", connectivity, Connectivity,
                                                 "Connection connectivity")
        self.synapse: Synapse = create("synapses", synapse, Synapse, "Connection synapse")
        _infer_shapes(self.connectivity, source, target)
        owner = f"Connection {name or f'{source.name}->{target.name}'!r}"
        check_synapse = getattr(self.synapse, "check", None)
        if check_synapse is not None:
            check_synapse(target.num_neurons, owner)
        self.connectivity.check_shapes(source.shape, target.shape, owner)
        self.max_delay_steps = _check_max_delay(self.connectivity, max_delay_steps, owner)
        #: Whether max_delay_steps was passed (learned delays need it, as in mlGeNN).
        self.max_delay_steps_given = max_delay_steps is not None
        self.name: str = network._add_connection(self, name)
        source.outgoing.append(self)
        target.incoming.append(self)

    def __call__(self) -> Connection:
        """The connection itself (mlGeNN's code dereferences connections by calling them)."""
        return self

    def __repr__(self) -> str:
        return (f"Connection(name={self.name!r}, source={self.source.name!r}, "
                f"target={self.target.name!r}, connectivity={self.connectivity!r}, "
                f"synapse={self.synapse!r})")


def _check_max_delay(connectivity: Any, max_delay_steps: Any, label: str) -> int:
    """Return the connection's maximum delay in steps, checked against ``max_delay_steps``."""
    if max_delay_steps is not None and (
            isinstance(max_delay_steps, bool)
            or not isinstance(max_delay_steps, (int, np.integer)) or max_delay_steps < 0):
        raise ConfigurationError(
            f"{label} max_delay_steps must be an int >= 0 or None; got {max_delay_steps!r}. "
            f"Pass the largest delay in timesteps, e.g. max_delay_steps=20."
        )
    known = known_max_delay(getattr(connectivity, "delay", 0))
    if known is None and max_delay_steps is None:
        raise ConfigurationError(
            f"{label} max_delay_steps must be given when delays come from an initializer; got "
            f"None. Pass max_delay_steps=<largest delay in timesteps>."
        )
    if known is not None and max_delay_steps is not None and known > max_delay_steps:
        raise ConfigurationError(
            f"{label} delay must be at most max_delay_steps={max_delay_steps}; got a delay of "
            f"{known} steps. Raise max_delay_steps or shorten the delays."
        )
    return int(max_delay_steps if max_delay_steps is not None else known or 0)


__all__ = ["Connection", "Population", "check_add_to_model"]
