"""The compiled CPU backend: the NumPy backend's state, every batch's time loop in numba."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..numpy_backend import NumpyBackend
from ._batch_setup import BatchSetup
from ._checks import check_num_threads, check_options, check_supported
from ._layout import Layout, exp_step_weights
from ._records import SpikeRecords
from ._stale_cache import clear_stale_kernels
from ._tables import C_DELAY

log = logging.getLogger(__name__)


class CompiledBackend(BatchSetup, NumpyBackend):
    """Simulates a network with one compiled (numba) call per batch, entries across cores.

    Same state, same protocol and the same results, bit for bit, as the
    NumPy backend with ``accumulation="sequential"`` (which it extends): the
    kernel does the NumPy backend's float32 operations in the same order,
    delivers only the rows of the neurons that spiked (spikes x fan-out) and
    fills the bit-packed recording buffers itself.

    Parameters
    ----------
    network, batch_size, dt, num_timesteps, num_recording_timesteps, rng_seed
        As for :class:`~spikehooks.backends.numpy_backend.NumpyBackend`.
    num_threads : int, optional
        Threads the batch entries are spread over (default: every core numba
        sees).  Results do not depend on it.

    Notes
    -----
    :meth:`run` simulates all its steps in one call.  With a step observer
    (or a callback with per-timestep hooks, which steps with :meth:`step`)
    it returns to Python after every step.  Training reads the forward pass
    from a trace the kernel fills (:meth:`start_trace`) instead.
    """

    name = "compiled"
    #: Learned delays: set_delays rewrites the kernel's delay table between batches.
    supports_delay_learning = True
    supports_training = True

    def __init__(self, network: Any, *, batch_size: int, dt: float, num_timesteps: int,
                 num_recording_timesteps: int | None = None, rng_seed: int = 0,
                 num_threads: Any = None, **options: Any):
        check_options(options)
        self.num_threads = check_num_threads(num_threads)
        check_supported(network)
        # Before any kernel is loaded from numba's disk cache (see _stale_cache).
        clear_stale_kernels()
        self._trace_cols = np.zeros(0, dtype=np.int64)
        super().__init__(network, batch_size=batch_size, dt=dt, num_timesteps=num_timesteps,
                         num_recording_timesteps=num_recording_timesteps, rng_seed=rng_seed,
                         accumulation="sequential")

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        # The NumPy backend's states (the same initial values); the layout moves them,
        # delay rings too, into the kernel's flat arrays.
        self._build_states()
        self._build_layout()
        self._step_fns = ()
        self._bound: list = []
        self._joined_pieces: list = []
        self._spike_times = np.full(1, np.inf, dtype=np.float32)
        self._pointers = np.zeros(max(self._layout.num_pointers, 1), dtype=np.int64)
        self._step_weights = np.zeros(0, dtype=np.float32)
        self._no_trace_f = np.zeros((0, 0, 0), dtype=np.float32)
        self._no_trace_spikes = np.zeros((0, 0, 0), dtype=bool)
        self._trace_f = self._no_trace_f
        self._trace_spikes = self._no_trace_spikes
        self._records = SpikeRecords(self._layout, self.batch_size)
        self._prepare_spike_inputs()

    def _build_layout(self) -> None:
        """Lay the states out in the kernel's flat arrays (their values are kept)."""
        ordered = {c: self._conns[c] for pop in self.network.populations for c in pop.incoming}
        self._layout_order = list(ordered)
        self._layout = Layout(self._pops, ordered, self.batch_size,
                              self.num_recording_timesteps, self.num_timesteps, self.dt)

    def _build_step_fns(self) -> None:
        """A connection got its first delays (set_delays): lay everything out again.

        Called before any simulation (EventPropCompiler's learned delays), so
        only the layout and what derives from it are rebuilt.
        """
        self._build_layout()
        self._pointers = np.zeros(max(self._layout.num_pointers, 1), dtype=np.int64)
        # Their columns belong to the old layout.
        self.__dict__.pop("_trace_cache", None)
        self.__dict__.pop("_records_request", None)
        self._records = SpikeRecords(self._layout, self.batch_size)
        self._bound = []  # bound to the old pointers: bind again
        self._prepare_spike_inputs()

    def live_bias(self, population: Any) -> np.ndarray:
        """As the NumPy backend's: the bias the kernel adds every step, writable in place.

        A zero bias has no table entry until now: the layout is built again
        (values kept) with the bias in the kernel's constants.
        """
        pst = self._state(population)
        trained = pst.bias_trained
        super().live_bias(population)
        if not trained:
            self._build_step_fns()
        return pst.bias

    def set_delays(self, connection: Any, delays: np.ndarray) -> None:
        """Use new whole-step delays (checked as the NumPy backend checks them) from the
        next step on; the kernel reads them from its flat delay table."""
        super().set_delays(connection, delays)
        lay, cst = self._layout, self._conn_state(connection)
        assert cst.delays is not None  # set by the NumPy backend's set_delays
        row = lay.conn_i[self._layout_order.index(connection)]
        d0 = int(row[C_DELAY])
        lay.delays[d0:d0 + cst.delays.size] = cst.delays.reshape(-1)

    # ------------------------------------------------------------- running
    def step(self) -> None:
        """Advance one timestep (one kernel call), then call the step observers."""
        t = self.timestep
        self._simulate(t, t + 1)
        self.timestep = t + 1
        for observer in self._observers:
            observer(t)

    def run(self, num_steps: int) -> None:
        """Advance ``num_steps`` timesteps in one kernel call (step by step with observers)."""
        if self._observers:
            for _ in range(num_steps):
                self.step()
            return
        start = self.timestep
        self._simulate(start, start + num_steps)
        self.timestep = start + num_steps

    def _simulate(self, t0: int, t1: int) -> None:
        from ._kernels import run_steps, run_steps_serial
        from ._numba import register_twin, use_threads

        lay = self._layout
        self._prepare_spike_inputs()
        uniforms = self._draw_uniforms(t1 - t0)
        if lay.has_exp_weight and len(self._step_weights) < t1:
            # avg_var_exp_weight's step weights, grown if a run goes past num_timesteps.
            self._step_weights = exp_step_weights(self.num_timesteps,
                                                  max(t1, self.num_timesteps))
        kernel = run_steps_serial
        if self.batch_size > 1 and use_threads(self.num_threads):
            kernel = run_steps
            register_twin(run_steps, run_steps_serial)
        records = self._records
        while True:
            kernel(t0, t1, np.float32(self.dt), lay.pop_i, lay.pop_f, lay.conn_i, lay.conn_f,
                   lay.inj, lay.weights, lay.delays, lay.row_ptr, lay.cols, lay.fstate,
                   lay.spikes,
                   lay.record, lay.consts, lay.data_f, lay.data_b, uniforms,
                   self._spike_times, self._pointers, self._trace_cols,
                   # The entry-major arrays behind the (steps, batch, columns) views.
                   self._trace_f.transpose(1, 0, 2), self._trace_spikes.transpose(1, 0, 2),
                   self._step_weights, *records.kernel_args())
            # Entries whose spike records ran out of room stopped early: grow, go on.
            if not records.grow_if_stopped(t1):
                break

    def _draw_uniforms(self, num_steps: int) -> np.ndarray:
        """Poisson draws of ``num_steps`` steps, in the NumPy backend's order.

        The NumPy backend draws ``(batch, n)`` float32 per Poisson population
        per step, in creation order; one C-order draw of ``(steps, columns)``
        takes the same numbers from the generator in the same order.
        """
        columns = self._layout.num_uniform_columns
        if not columns:
            return np.zeros((0, 1), dtype=np.float32)
        return self._rng.random((num_steps, columns), dtype=np.float32)

    # ----------------------------------------------------------- tracing
    def start_trace(self, variables: list[tuple[Any, str]], spikes: bool = True) -> None:
        """Keep every step's spikes and the given variables during the batch's simulation.

        Parameters
        ----------
        variables : list of (Population, str)
            Variables (backend names, or ``"Isyn"`` for the synaptic input)
            copied after every step.  Read with :meth:`traced_spikes` and
            :meth:`traced_var`; the trace lasts until :meth:`stop_trace`.
        spikes : bool
            Also every step's spikes (False: only the variables; EventProp
            keeps spikes as records, :meth:`start_records`).
        """
        self._start_trace(variables)
        if not spikes:
            self._trace_spikes = self._no_trace_spikes

    def _start_trace(self, variables: list[tuple[Any, str]]) -> None:
        wanted = (self.num_timesteps, self.batch_size,
                  tuple((id(pop), name) for pop, name in variables))
        cached = getattr(self, "_trace_cache", None)
        if cached is not None and getattr(self, "_trace_key", None) == wanted:
            # The same variables as the last batch (training): reuse the arrays as they are.
            self._trace_f, self._trace_spikes, self._trace_cols = cached
            return
        lay = self._layout
        cols: list[int] = []
        self._trace_index: dict[tuple[Any, str], int] = {}
        for pop, name in variables:
            key = (pop, name if name == "Isyn" else self._var_key(pop, name))
            self._trace_index[key] = len(cols)
            c0 = lay.var_cols[key]
            cols.extend(range(c0, c0 + pop.num_neurons))
        steps, batch = self.num_timesteps, self.batch_size
        shape = (steps, batch, len(cols))
        cached = getattr(self, "_trace_cache", None)
        if cached is None or cached[0].shape != shape or not np.array_equal(cached[2], cols):
            # Every step of the batch is written, so the arrays are reused across batches.
            # Stored entry-major, (batch, steps, columns), and seen through
            # (steps, batch, columns) views: the kernel fills one entry's steps
            # one after another, so its writes (and the sweep's reads) are sequential.
            cached = self._trace_cache = (
                np.zeros((batch, steps, len(cols)), dtype=np.float32).transpose(1, 0, 2),
                np.zeros((batch, steps, max(lay.num_spike_columns, 1)),
                         dtype=bool).transpose(1, 0, 2),
                np.asarray(cols, dtype=np.int64),
            )
        self._trace_f, self._trace_spikes, self._trace_cols = cached
        self._trace_key = wanted

    def start_records(self, populations: list[tuple[Any, Any]]) -> None:
        """Keep a record of every spike of the given populations during the batch.

        Parameters
        ----------
        populations : list of (Population, tuple or None)
            Each spiking population to record, with None (spikes only) or
            ``(scale, alpha, neuron_scale)``, float32 arrays of shape (n,):
            the LIF constants of EventProp's jump terms (see
            :class:`._records.SpikeRecords`).  The records last until
            :meth:`stop_records`; :meth:`records` reads them.

        Notes
        -----
        The constants are read when a list is first given: a training loop
        passes the same list object every batch, and a later call with that
        object only starts the new batch (the constants must not have been
        changed in place since; pass a new list to change them).
        """
        cached = self.__dict__.get("_records_request")
        if cached is None or cached[0] is not populations:
            rows = {self._layout_index(pop): (self._layout.spike_cols[
                self._state(pop).population], consts) for pop, consts in populations}
            cached = self._records_request = (populations, rows)
        self._records.start(cached[1])

    @property
    def num_spike_columns(self) -> int:
        """Spike columns of the kernel (every spiking population's neurons side by side)."""
        return int(self._layout.num_spike_columns)

    def spike_column(self, population: Any) -> int:
        """The first spike column of ``population`` (its neurons' columns follow)."""
        return int(self._layout.spike_cols[self._state(population).population])

    def records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The batch's spike records: ``(rec_i, rec_f, counts)`` (see :class:`SpikeRecords`)."""
        return self._records.view()

    def stop_records(self) -> None:
        """Stop keeping spike records."""
        self._records.stop()

    def _layout_index(self, population: Any) -> int:
        """The population's row in the kernel's population table."""
        return list(self._pops).index(self._state(population).population)

    def stop_trace(self) -> None:
        """Stop keeping the trace (and free it)."""
        self._trace_cols = np.zeros(0, dtype=np.int64)
        self._trace_f, self._trace_spikes = self._no_trace_f, self._no_trace_spikes

    def traced_spikes(self, population: Any) -> np.ndarray:
        """Return the spikes of every traced step: bool (num_timesteps, batch_size, n) view."""
        s0 = self._layout.spike_cols[self._state(population).population]
        return self._trace_spikes[:, :, s0:s0 + population.num_neurons]

    def traced_var(self, population: Any, name: str) -> np.ndarray:
        """Return a traced variable: float32 (num_timesteps, batch_size, n) view."""
        key = (population, name if name == "Isyn" else self._var_key(population, name))
        k0 = self._trace_index[key]
        return self._trace_f[:, :, k0:k0 + population.num_neurons]

    def __repr__(self) -> str:
        return (f"CompiledBackend(batch_size={self.batch_size}, dt={self.dt}, "
                f"num_timesteps={self.num_timesteps}, num_threads={self.num_threads}, "
                f"populations={[p.name for p in self._pops]})")


__all__ = ["CompiledBackend"]
