"""Network descriptions, shaped like mlGeNN's so scripts port by changing imports.

Example
-------
>>> from spikehooks import InputLayer, Layer, SequentialNetwork
>>> from spikehooks.connectivity import Dense
>>> from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate
>>> network = SequentialNetwork()
>>> with network:
...     inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 4, name="input")
...     out = Layer(Dense(0.5), LeakyIntegrate(readout="sum_var"), 2, name="output")
>>> [p.name for p in network.populations]
['input', 'output']
"""

from __future__ import annotations

from typing import Any

from . import _network_context
from ._default_params import check_default_params
from ._network_objects import Connection, Population, create
from .errors import ConfigurationError
from .neurons import Neuron


class Network:
    """A set of populations and connections; a context manager collecting them.

    Objects created inside ``with network:`` belong to it.  Names are unique
    within a network and stable: unnamed populations are ``"pop<i>"`` and
    unnamed connections ``"conn<i>"``, ``i`` counting from 0 in creation order.

    Parameters
    ----------
    default_params : dict, optional
        mlGeNN's per-model defaults: model class -> ``{argument: value}``,
        used for the arguments not passed to a model constructed inside
        ``with network:``.  ``SequentialNetwork(default_params)`` with
        ``spikehooks.compilers.event_prop_compiler.default_params`` sets up a
        network for EventProp.

    Attributes
    ----------
    populations : list of Population
        In creation order.
    connections : list of Connection
        In creation order.
    """

    def __init__(self, default_params: Any = None) -> None:
        self.default_params = check_default_params(default_params, type(self).__name__)
        self.populations: list[Population] = []
        self.connections: list[Connection] = []

    def __enter__(self) -> Network:
        _network_context.push(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _network_context.pop(self)

    # --------------------------------------------------------------- lookup
    def get_population(self, name: str) -> Population:
        """Return the population called ``name``."""
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise ConfigurationError(
            f"network population name must be one of "
            f"{[p.name for p in self.populations]}; got {name!r}."
        )

    def get_connection(self, name: str) -> Connection:
        """Return the connection called ``name``."""
        for conn in self.connections:
            if conn.name == name:
                return conn
        raise ConfigurationError(
            f"network connection name must be one of "
            f"{[c.name for c in self.connections]}; got {name!r}."
        )

    def load(self, keys: Any = (), serialiser: Any = "numpy") -> None:
        """Use learnable state saved under ``keys`` as this network's weights.

        mlGeNN's ``network.load``: call it before compiling.  See
        :func:`spikehooks.serialisers.load`.
        """
        from .serialisers import load

        load(self, keys, serialiser)

    # ---------------------------------------------------------- registration
    def _unique_name(self, name: str | None, prefix: str, count: int, kind: str) -> str:
        taken = {p.name for p in self.populations} | {c.name for c in self.connections}
        if name is None:
            index = count
            while f"{prefix}{index}" in taken:
                index += 1
            return f"{prefix}{index}"
        if not isinstance(name, str) or not name or "/" in name:
            raise ConfigurationError(
                f"{kind} name must be a non-empty string without '/'; got {name!r}. "
                f"Pick a plain name such as 'hidden'."
            )
        if name in taken:
            raise ConfigurationError(
                f"{kind} name must be unique within the network; got {name!r} twice. "
                f"Give each population and connection its own name."
            )
        return name

    def _add_population(self, pop: Population, name: str | None) -> str:
        unique = self._unique_name(name, "pop", len(self.populations), "Population")
        self.populations.append(pop)
        return unique

    def _add_connection(self, conn: Connection, name: str | None) -> str:
        unique = self._unique_name(name, "conn", len(self.connections), "Connection")
        self.connections.append(conn)
        return unique

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(populations={[p.name for p in self.populations]}, "
                f"connections={[c.name for c in self.connections]})")


class SequentialNetwork(Network):
    """A feed-forward stack: one :class:`InputLayer`, then :class:`Layer` objects.

    Attributes
    ----------
    layers : list of InputLayer or Layer
        In creation order.
    """

    def __init__(self, default_params: Any = None) -> None:
        super().__init__(default_params)
        self.layers: list[Population] = []


def _sequential_network(kind: str, example: str) -> SequentialNetwork:
    network = _network_context.current_network()
    if not isinstance(network, SequentialNetwork):
        got = "none active" if network is None else f"a {type(network).__name__}"
        raise ConfigurationError(
            f"{kind} must be created inside a SequentialNetwork context; got {got}. Write:\n"
            f"    network = SequentialNetwork()\n    with network:\n        {example}"
        )
    return network


class InputLayer(Population):
    """The first layer of a :class:`SequentialNetwork`: a population fed with data.

    Parameters
    ----------
    neuron : Neuron, str or (str, dict)
        An input model, e.g. ``IntegrateFireInput(v_thresh=5.0)``.
    shape : int, tuple of int or None
        Shape of the input; None: inferred from the next layer's connectivity.
    record_spikes : bool
        Allocate a spike recording buffer.
    record_spike_events : bool
        Only False (see :class:`Population`).
    name : str, optional
        Unique name; default ``"pop<i>"``.
    """

    def __init__(self, neuron: Any, shape: Any = None, record_spikes: bool = False,
                 record_spike_events: bool = False, name: str | None = None):
        network = _sequential_network("InputLayer", "InputLayer(IntegrateFireInput(), 784)")
        if network.layers:
            raise ConfigurationError(
                f"InputLayer must be the first layer of its SequentialNetwork; got it after "
                f"{network.layers[-1].name!r}. Create the InputLayer first."
            )
        model = create("neurons", neuron, Neuron, "InputLayer neuron")
        if not model.is_input:
            raise ConfigurationError(
                f"InputLayer neuron must be an input model (IntegrateFireInput, SpikeInput, "
                f"PoissonInput); got {type(model).__name__}. Use Layer for other models."
            )
        super().__init__(model, shape, record_spikes, record_spike_events, name)
        network.layers.append(self)


class Layer(Population):
    """A layer of a :class:`SequentialNetwork`, connected from the previous layer.

    Parameters
    ----------
    connectivity : Connectivity, str or (str, dict)
        Connectivity from the previous layer, e.g. ``Dense(w)``.
    neuron : Neuron, str or (str, dict)
        The neuron model.
    shape : int, tuple of int or None
        Shape of the layer; None: inferred from ``connectivity`` (a ``Dense``
        weight array or ``OneToOne``), as in mlGeNN.
    synapse : Synapse, str or (str, dict)
        Synapse model of the connection (default ``"delta"``).
    record_spikes : bool
        Allocate a spike recording buffer.
    record_spike_events : bool
        Only False (see :class:`Population`).
    max_delay_steps : int, optional
        The connection's largest synaptic delay in timesteps (see
        :class:`Connection`); needed when delays come from an initializer.
    name : str, optional
        Unique population name; default ``"pop<i>"``.

    Attributes
    ----------
    connection : Connection
        The connection from the previous layer (named ``"conn<i>"``).
    """

    def __init__(self, connectivity: Any, neuron: Any, shape: Any = None, synapse: Any = "delta",
                 record_spikes: bool = False, record_spike_events: bool = False,
                 max_delay_steps: int | None = None, name: str | None = None):
        network = _sequential_network("Layer", "Layer(Dense(w), LeakyIntegrateFire(), 128)")
        if not network.layers:
            raise ConfigurationError(
                "Layer must follow another layer of its SequentialNetwork; got none before it. "
                "Create an InputLayer first."
            )
        previous = network.layers[-1]
        super().__init__(neuron, shape, record_spikes, record_spike_events, name)
        try:
            self.connection = Connection(previous, self, connectivity, synapse,
                                         max_delay_steps=max_delay_steps)
        except ConfigurationError:
            network.populations.remove(self)
            raise
        network.layers.append(self)


__all__ = [
    "Connection",
    "InputLayer",
    "Layer",
    "Network",
    "Population",
    "SequentialNetwork",
]
