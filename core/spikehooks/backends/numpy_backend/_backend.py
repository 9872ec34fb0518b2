"""The embedded NumPy backend: a vectorised float32 simulation of a network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...connectivity import OneToOne, TiedConnectivity
from ...errors import ConfigurationError
from ...neurons import PoissonInput, SpikeInput
from ...synapses import Delta
from .._lookup import check_batch_input, connection_entry, population_entry, readout_of
from . import _kernels, _synaptic
from ._protocol_methods import ProtocolMethods
from ._run_state import RunStateMethods
from ._state import ConnectionState, PopulationState


class NumpyBackend(RunStateMethods, ProtocolMethods):
    """Simulates a network with NumPy, every batch entry in parallel.

    Implements every member of :class:`spikehooks.backends.Backend`; its own
    API (:meth:`reset`, :meth:`set_input`, :meth:`step`, :meth:`run`,
    :meth:`get_readout`, the spike and synaptic-input views and step
    observers) is what compiled networks and training compilers build on.

    Parameters
    ----------
    network : Network
        The network to simulate.
    batch_size : int
        Batch entries simulated in parallel.
    dt : float
        Step in ms.
    num_timesteps : int
        Timesteps per batch.
    num_recording_timesteps : int, optional
        Capacity of the spike recording buffers (default ``num_timesteps``).
    rng_seed : int
        Seed of the generator used, in this order, for initial values of
        every population, the weights of every connection (creation order),
        then Poisson input draws.
    accumulation : {"sequential", "blas"}
        How weights of spikes arriving in the same step are summed.
        ``"sequential"`` (default): one row at a time in ascending pre id,
        GeNN's single-threaded CPU order: bit-exact with mlGeNN there, and
        each batch entry is summed alone, so results do not depend on the
        batch size.  ``"blas"``: one matrix product per connection, faster
        for dense activity, but its rounding depends on BLAS's blocking and
        hence on the batch size.

    Notes
    -----
    One step (GeNN's order): every connection adds the weight rows of the
    spikes its source emitted in the previous step to its synaptic input,
    then every population updates, thresholds and resets, in creation
    order.  The step is precompiled into a tuple of closures over the
    arrays (see ``_kernels``).
    """

    name = "numpy"
    #: EventPropCompiler trains on this backend (it needs step observers).
    supports_training = True
    #: EventPropCompiler's delay_learn_conns change delays between batches (set_delays).
    supports_delay_learning = True

    def __init__(self, network: Any, *, batch_size: int, dt: float, num_timesteps: int,
                 num_recording_timesteps: int | None = None, rng_seed: int = 0,
                 accumulation: str = "sequential"):
        if accumulation not in ("blas", "sequential"):
            raise ConfigurationError(
                f"NumpyBackend accumulation must be 'blas' or 'sequential'; got "
                f"{accumulation!r}. Use 'sequential' for GeNN's bit-exact summation order."
            )
        self.accumulation = accumulation
        self.network = network
        self.batch_size = int(batch_size)
        self.dt = float(dt)
        self.num_timesteps = int(num_timesteps)
        self.num_recording_timesteps = int(num_recording_timesteps or num_timesteps)
        self.timestep = 0
        self.num_examples_in_batch = self.batch_size
        self.num_recording_pulls = 0
        self._rng = np.random.default_rng(rng_seed)
        self._pops: dict[Any, PopulationState] = {}
        self._conns: dict[Any, ConnectionState] = {}
        self._observers: list[Callable[[int], None]] = []
        self._window_start = 0
        self._pulled: dict[Any, tuple[int, np.ndarray]] = {}
        # user name -> backend name, per population: looked up on every
        # VarRecorder step, so built once.
        self._var_names: dict[Any, dict[str, str]] = {}
        self._build()

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        self._build_states()
        self._build_step_fns()

    def _build_states(self) -> None:
        """Every population's and connection's state, in creation order.

        The order fixes the random draws of initial values (delays included),
        so every backend built on these states starts from the same numbers.
        """
        for pop in self.network.populations:
            self._pops[pop] = PopulationState(pop, self.batch_size,
                                              self.num_recording_timesteps, self._rng, self.dt)
        for conn in self.network.connections:
            self._conns[conn] = ConnectionState(conn, self.batch_size, self._rng)

    def _build_step_fns(self) -> None:
        """Compose the per-step functions from the populations' and connections' states."""
        deliveries, updates = [], []
        for pop in self.network.populations:
            pst = self._pops[pop]
            incoming = [self._conns[c] for c in pop.incoming]
            lone_delta = len(incoming) == 1 and isinstance(incoming[0].connection.synapse, Delta)
            for cst in incoming:
                cst.in_syn = pst.isyn if lone_delta else np.zeros_like(pst.isyn)
                if cst.delays is not None:
                    deliveries.append(_synaptic.build_delayed_delivery(
                        cst, self._pops[cst.connection.source], cst.in_syn,
                        sequential=self.accumulation == "sequential"))
                    continue
                deliveries.append(_synaptic.build_delivery(
                    cst, self._pops[cst.connection.source], cst.in_syn,
                    sequential=self.accumulation == "sequential",
                ))
            if not lone_delta:
                inject = _synaptic.build_injection(pst, incoming, self.dt)
                if inject is not None:
                    updates.append(inject)
            updates.append(
                _kernels.build_neuron_update(pst, self.dt, self.num_timesteps, self._rng)
            )
            if pst.record is not None:
                updates.append(_kernels.build_record(pst))
            if any(self._reads_float_spikes(c) for c in pop.outgoing):
                updates.append(_kernels.build_spike_copy(pst))
        # Deliveries first: they read the spikes of the previous step.
        self._step_fns = tuple(deliveries + updates)

    def _reads_float_spikes(self, connection: Any) -> bool:
        """Whether the delivery of ``connection`` reads the 0/1 float spike buffer."""
        if isinstance(connection.connectivity, TiedConnectivity):
            return False
        return (self.accumulation == "blas" or isinstance(connection.connectivity, OneToOne))

    def _state(self, population: Any) -> PopulationState:
        return population_entry(self._pops, population)

    def _conn_state(self, connection: Any) -> ConnectionState:
        return connection_entry(self._conns, connection)

    def live_vars(self, population: Any) -> dict[str, np.ndarray]:
        """Return the writable state arrays of ``population``, by backend name.

        float32 ``(batch_size, num_neurons)``; writes take effect at once.
        Behind mlGeNN-style ``compiled_net.neuron_populations[pop].vars``.
        """
        return self._state(population).vars

    def live_weight(self, connection: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the writable float32 ``(num_pre, num_post)`` weights and the sparse mask."""
        cst = self._conn_state(connection)
        return cst.weight, cst.mask

    def live_bias(self, population: Any) -> np.ndarray:
        """Return the writable float32 ``(num_neurons,)`` bias of a ``LeakyIntegrate``.

        From this call on the bias is added every step, even while it is all
        zero (a trainer changes it in place).
        """
        pst = self._state(population)
        if pst.bias is None:
            raise ConfigurationError(
                f"population {population.name!r} must have a bias (LeakyIntegrate); got "
                f"{type(population.neuron).__name__}."
            )
        pst.bias_trained = True
        return pst.bias

    # ------------------------------------------------------- running (own API)
    def reset(self, *, reset_vars: bool = True, reset_in_syn: bool = True) -> None:
        """Prepare a new batch: timestep 0, empty recording window.

        Parameters
        ----------
        reset_vars : bool
            Set state variables and readout accumulators to their initial values.
        reset_in_syn : bool
            Also clear synaptic input and the spikes in flight (emitted in the
            last step, due in the next).  False reproduces mlGeNN, where they
            carry over into the next batch.
        """
        for pst in self._pops.values():
            if reset_vars:
                pst.reset_vars()
            if reset_in_syn:
                pst.reset_in_flight()
        if reset_in_syn:
            for cst in self._conns.values():
                cst.in_syn[:] = 0.0
                if cst.ring is not None:
                    cst.ring[:] = 0.0
        self.timestep = 0
        self._window_start = 0

    def set_input(self, population: Any, examples: Any) -> None:
        """Load the input of the current batch's real examples; padding gets none.

        Parameters
        ----------
        population : Population
            An input population.
        examples : numpy.ndarray or list
            For rate-like models, float32 of shape ``(k, input_frames, n)``
            (``k <= batch_size``, from the neuron's ``prepare_input``); for
            :class:`SpikeInput`, a list of ``k`` ``PreprocessedSpikes``.
        """
        pst = self._state(population)
        neuron = population.neuron
        k = check_batch_input(population, len(examples), self.batch_size)
        if isinstance(neuron, SpikeInput):
            pst.input = _batch_spike_times(examples, self.batch_size, population.num_neurons)
        elif getattr(neuron, "frame_input", False):
            frames = pst.input
            frames[:, :k] = np.swapaxes(examples, 0, 1)
            frames[:, k:] = 0.0
            pst.vars["Input"][:] = frames[0]
        elif isinstance(neuron, PoissonInput):
            limit, positive = pst.input
            rates = np.zeros(limit.shape, dtype=np.float32)
            rates[:, :k] = np.swapaxes(examples, 0, 1)
            np.exp(-np.abs(rates) * np.float32(self.dt), out=limit)
            np.greater(rates, 0.0, out=positive)
            pst.vars["Input"][:] = rates[0]
        else:
            raise ConfigurationError(
                f"population {population.name!r} must have an input neuron model to take "
                f"input; got {type(neuron).__name__}. Pass data only for input populations."
            )

    def step(self) -> None:
        """Advance one timestep, then call the step observers with its index."""
        t = self.timestep
        for fn in self._step_fns:
            fn(t)
        self.timestep = t + 1
        for observer in self._observers:
            observer(t)

    def run(self, num_steps: int) -> None:
        """Advance ``num_steps`` timesteps with no Python callback but the observers."""
        fns, observers, start = self._step_fns, tuple(self._observers), self.timestep
        for t in range(start, start + num_steps):
            for fn in fns:
                fn(t)
            for observer in observers:
                observer(t)
        self.timestep = start + num_steps

    def add_step_observer(self, observer: Callable[[int], None]) -> None:
        """Call ``observer(t)`` after every step (inside :meth:`step` and :meth:`run`).

        Inside it, :meth:`get_spike_mask` and :meth:`get_synaptic_input` show
        step ``t``.  Used by training compilers to keep the forward pass.
        """
        self._observers.append(observer)

    def remove_step_observer(self, observer: Callable[[int], None]) -> None:
        """Stop calling ``observer``."""
        self._observers.remove(observer)

    def get_spike_mask(self, population: Any) -> np.ndarray:
        """Return which neurons spiked in the latest step.

        Returns
        -------
        numpy.ndarray of bool, shape (batch_size, num_neurons)
            A live read-only view, overwritten by the next step.
        """
        pst = self._state(population)
        if pst.spikes is None:
            raise ConfigurationError(
                f"population {population.name!r} must be spiking to have spikes; got "
                f"{type(population.neuron).__name__}. Read its V with get_var instead."
            )
        view = pst.spikes.view()
        view.flags.writeable = False
        return view

    def get_synaptic_input(self, population: Any) -> np.ndarray:
        """Return the total synaptic input ``Isyn`` injected in the latest step.

        Summed over incoming connections, after this step's delivery and
        before exponential synapses decay.

        Returns
        -------
        numpy.ndarray of float32, shape (batch_size, num_neurons)
            A live read-only view, overwritten by the next step.
        """
        pst = self._state(population)
        if pst.isyn is None:
            raise ConfigurationError(
                f"population {population.name!r} must not be an input population to have "
                f"synaptic input; got {type(population.neuron).__name__}."
            )
        view = pst.isyn.view()
        view.flags.writeable = False
        return view

    def get_weight(self, connection: Any) -> np.ndarray:
        """Return the live, writable weights of ``connection``.

        Returns
        -------
        numpy.ndarray of float32, shape (num_pre, num_post)
            Changes take effect from the next step.  Absent synapses of
            sparse connectivity must stay 0 (see :meth:`get_weight_mask`).
            For convolution and pooling connectivity, the kernel (shape
            ``connectivity.kernel_shape``).
        """
        return self._conn_state(connection).weight

    def get_weight_mask(self, connection: Any) -> np.ndarray | None:
        """Return the bool (num_pre, num_post) mask of existing synapses, or None (dense)."""
        return self._conn_state(connection).mask

    def get_delays(self, connection: Any) -> np.ndarray | None:
        """Return the int32 (num_pre, num_post) synaptic delays in timesteps, or None (all 0)."""
        delays = self._conn_state(connection).delays
        return None if delays is None else delays.copy()

    def set_delays(self, connection: Any, delays: np.ndarray) -> None:
        """Use new whole-step delays on ``connection`` from the next step on.

        Parameters
        ----------
        connection : Connection
            A connection with ``max_delay_steps`` (Dense or FixedProbability).
        delays : numpy.ndarray of int, shape (num_pre, num_post)
            Delays in timesteps, each in ``[0, max_delay_steps]``.

        Raises
        ------
        ConfigurationError
            For a delay outside that range or a wrong shape.
        """
        cst = self._conn_state(connection)
        limit = connection.max_delay_steps
        shape = (connection.source.num_neurons, connection.target.num_neurons)
        delays = np.asarray(delays)
        if limit is None or delays.shape != shape:
            raise ConfigurationError(
                f"Connection {connection.name!r} delays must be a {shape} array with "
                f"max_delay_steps set; got shape {delays.shape} and max_delay_steps={limit}. "
                f"Pass max_delay_steps to Connection and one delay per synapse."
            )
        if delays.size and (delays.min() < 0 or delays.max() > limit):
            raise ConfigurationError(
                f"Connection {connection.name!r} delay must be at most max_delay_steps="
                f"{limit} and >= 0; got delays in [{delays.min()}, {delays.max()}]. Clip them."
            )
        if cst.ring is None:
            # A connection without delays so far: give it a ring and a delayed delivery.
            cst.ring = np.zeros((limit + 1, self.batch_size, shape[1]), np.float32)
            cst.set_delays(delays.astype(np.int32))
            self._build_step_fns()
            return
        cst.set_delays(delays.astype(np.int32))

    def get_readout(self, population: Any) -> np.ndarray:
        """Return a copy of the readout of ``population``.

        Returns
        -------
        numpy.ndarray of float32, shape (batch_size, *population.shape)
        """
        value = self._state(population).vars[readout_of(population).var_name]
        return value.reshape((self.batch_size, *population.shape)).copy()

    def __repr__(self) -> str:
        return (f"NumpyBackend(batch_size={self.batch_size}, dt={self.dt}, "
                f"num_timesteps={self.num_timesteps}, populations="
                f"{[p.name for p in self._pops]})")


def _batch_spike_times(examples: list, batch_size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-example spike times into one array with an inf sentinel per neuron.

    Returns ``(times, pointer)``: float32 times of neuron ``(b, i)`` in
    ``times[pointer[b*n+i]:]`` up to its sentinel, and the int64 pointer to
    each neuron's next pending spike.
    """
    counts = np.zeros((batch_size, n), dtype=np.int64)
    pieces = []
    for b, spikes in enumerate(examples):
        end = np.asarray(spikes.end_spikes, dtype=np.int64)
        counts[b] = np.diff(end, prepend=0)
        pieces.append(np.asarray(spikes.spike_times, dtype=np.float32))
    flat_counts = counts.reshape(-1)
    pointer = np.zeros(batch_size * n, dtype=np.int64)
    np.cumsum(flat_counts[:-1] + 1, out=pointer[1:])
    times = np.full(int(flat_counts.sum()) + batch_size * n, np.inf, dtype=np.float32)
    owners = np.repeat(np.arange(batch_size * n), flat_counts)
    spikes_sorted = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    start_of_owner = np.repeat(np.cumsum(np.concatenate(([0], flat_counts[:-1]))), flat_counts)
    within = np.arange(len(owners)) - start_of_owner
    times[pointer[owners] + within] = spikes_sorted
    return times, pointer


__all__ = ["NumpyBackend"]
