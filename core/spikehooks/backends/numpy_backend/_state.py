"""Per-population and per-connection arrays of the NumPy backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...connectivity import TiedConnectivity
from ...errors import ConfigurationError
from ...initializers import materialise
from ...neurons import PoissonInput


class PopulationState:
    """The arrays simulating one population, all with a leading batch axis.

    Attributes
    ----------
    population : Population
        The user's population.
    vars : dict of str to numpy.ndarray of float32, shape (batch, n)
        State variables by backend name (``"V"``, ``"RefracTime"``, ``"VSum"``...).
    initial : dict of str to numpy.ndarray of float32, shape (n,)
        Value each variable is reset to between batches.
    spikes : numpy.ndarray of bool, shape (batch, n), or None
        Which neurons spiked in the latest step (None: non-spiking model).
    spikes_f : numpy.ndarray of float32, shape (batch, n), or None
        The same as 0/1 floats, read by the outgoing connections' delivery in
        the next step (None without outgoing connections).
    isyn : numpy.ndarray of float32, shape (batch, n), or None
        Total synaptic input injected in the latest step (None for inputs).
    record : numpy.ndarray of uint32, shape (rec_steps, batch, n_words), or None
        Spike recording buffer; row ``t % rec_steps`` holds step ``t``.
    input : object
        The current batch's input, inputs only: frame inputs (IntegrateFireInput...)
        ``(frames, batch, n)``; PoissonInput ``(limit, positive)`` arrays of
        that shape; SpikeInput ``(times, pointer)`` flat arrays.
    """

    def __init__(self, population: Any, batch_size: int, rec_steps: int,
                 rng: np.random.Generator, dt: float = 1.0):
        self.population = population
        neuron = population.neuron
        n = population.num_neurons
        shape = (batch_size, n)
        self.vars: dict[str, np.ndarray] = {}
        self.initial: dict[str, np.ndarray] = {}
        for backend_name in neuron.get_var_names().values():
            self.initial[backend_name] = np.zeros(n, dtype=np.float32)
        for user, backend_name in neuron.initial_vars.items():
            if backend_name in self.initial:
                self.initial[backend_name] = materialise(getattr(neuron, user), (n,), rng)
        # Per-neuron parameters are state variables, as in GeNN (Vthresh, Alpha, ...).
        for user, genn_name in neuron.heterogeneous().items():
            self.initial[genn_name] = neuron.param_values(user, n, rng, dt)
        #: Per-neuron bias of models that have one, shape (n,).
        self.bias: Any = materialise(neuron.bias, (n,), rng) if hasattr(neuron, "bias") else None
        #: Set by a trainer that changes ``bias`` in place: added every step even while 0.
        self.bias_trained = False
        if neuron.readout is not None and neuron.readout.accumulates:
            self.initial[neuron.readout.var_name][:] = neuron.readout.initial
        for backend_name, initial in self.initial.items():
            self.vars[backend_name] = np.empty(shape, dtype=np.float32)
            self.vars[backend_name][:] = initial
        self.readonly = {name: _readonly(arr) for name, arr in self.vars.items()}
        # Optional arrays are typed Any: kernels are only built where they exist.
        self.spikes: Any = np.zeros(shape, dtype=bool) if neuron.spiking else None
        self.spikes_f: Any = (
            np.zeros(shape, dtype=np.float32) if population.outgoing else None
        )
        self.isyn: Any = None if neuron.is_input else np.zeros(shape, dtype=np.float32)
        self.record: Any = None
        if population.record_spikes:
            words = -(-n // 32)
            self.record = np.zeros((rec_steps, batch_size, words), dtype=np.uint32)
        self.input: Any = None
        frames = getattr(neuron, "input_frames", 1)
        if getattr(neuron, "frame_input", False):
            self.input = np.zeros((frames, *shape), dtype=np.float32)
        elif isinstance(neuron, PoissonInput):
            self.input = (np.ones((frames, *shape), dtype=np.float32),
                          np.zeros((frames, *shape), dtype=bool))

    def reset_vars(self) -> None:
        """Set every state variable back to its initial value."""
        for name, arr in self.vars.items():
            arr[:] = self.initial[name]

    def reset_in_flight(self) -> None:
        """Clear the latest spikes and synaptic input (nothing carries over)."""
        if self.spikes is not None:
            self.spikes[:] = False
        if self.spikes_f is not None:
            self.spikes_f[:] = 0.0
        if self.isyn is not None:
            self.isyn[:] = 0.0


class ConnectionState:
    """The arrays of one connection.

    Attributes
    ----------
    connection : Connection
        The user's connection.
    weight : numpy.ndarray of float32, shape (n_pre, n_post) or the kernel's shape
        Dense pre-major weights (absent synapses 0); for convolution and
        pooling connectivity the kernel, e.g. ``(kh, kw, c_in, filters)``.
    mask : numpy.ndarray of bool, shape (n_pre, n_post), or None
        Existing synapses of sparse connectivity.
    in_syn : numpy.ndarray of float32, shape (batch, n_post), or None
        Synaptic input accumulator; None when delivery writes straight into
        the target's ``isyn`` (a lone delta connection).
    delays : numpy.ndarray of int32, shape (n_pre, n_post), or None
        Per-synapse delays in timesteps (None: all 0).
    ring : numpy.ndarray of float32, shape (max_delay + 1, batch, n_post), or None
        Input in flight, by arrival step modulo ``max_delay + 1`` (delayed
        connections only).
    """

    def __init__(self, connection: Any, batch_size: int, rng: np.random.Generator):
        self.connection = connection
        self.in_syn: Any = None
        self.delays: np.ndarray | None = None
        self.ring: np.ndarray | None = None
        self.delay_groups: list[tuple[int, np.ndarray]] = []
        conn = connection.connectivity
        if isinstance(conn, TiedConnectivity):
            # Convolution and pooling keep only their kernel: delivery is event
            # driven through the connectivity's row tables (see _synaptic).
            if not isinstance(conn.delay, (int, np.integer)) or conn.delay != 0:
                raise ConfigurationError(
                    f"Connection {connection.name!r} delay must be 0 for "
                    f"{type(conn).__name__} on the numpy backend; got {conn.delay!r}. "
                    f"Convolutions with delays are not supported yet: remove the delay.")
            self.weight = conn.make_kernel(rng)
            self.mask = None
            self.table = self.weight
            self.readonly_weight = _readonly(self.weight)
            return
        weight, self.mask = conn.build_for(connection, rng)
        # The weights are a view of a table with one extra zero row, gathered
        # from (index num_pre = "no spike") by sequential delivery.
        self.table = np.zeros((weight.shape[0] + 1, weight.shape[1]), dtype=np.float32)
        self.table[:-1] = weight
        self.weight = self.table[:-1]
        self.readonly_weight = _readonly(self.weight)
        self.delays = conn.build_delays(
            connection.source.num_neurons, connection.target.num_neurons, rng)
        if self.delays is not None:
            limit = connection.max_delay_steps
            if int(self.delays.max()) > limit:
                raise ConfigurationError(
                    f"Connection {connection.name!r} delay must be at most max_delay_steps="
                    f"{limit}; got a drawn delay of {int(self.delays.max())} steps. Raise "
                    f"max_delay_steps or narrow the delay initializer."
                )
            self.ring = np.zeros((limit + 1, batch_size, connection.target.num_neurons),
                                 np.float32)
            self.set_delays(self.delays)

    def set_delays(self, delays: np.ndarray) -> None:
        """Use ``delays`` (int32, shape (n_pre, n_post), whole timesteps) from now on.

        The caller checks the range; the ring (``max_delay_steps + 1`` slots)
        must exist.  Keeps the per-delay synapse masks the delivery reads.
        """
        self.delays = delays
        self.delay_groups = [(int(k), (delays == k).astype(np.float32))
                             for k in np.unique(delays)]

    def set_weight(self, value: np.ndarray) -> None:
        """Overwrite the weights in place (absent synapses stay 0)."""
        self.weight[...] = value
        if self.mask is not None:
            self.weight[~self.mask] = 0.0


def _readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


__all__ = ["ConnectionState", "PopulationState"]
