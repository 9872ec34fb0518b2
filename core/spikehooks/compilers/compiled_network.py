"""A network compiled onto a backend: evaluation, prediction and the pieces training reuses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..callbacks.run_context import RunContext
from ..errors import ConfigurationError, NotCompiledError
from ..metrics import Metric
from . import _data
from ._batch_iter import MlGeNNBatchCalls
from ._kernel_times import KernelTimes, timed

_DEFAULT_CALLBACKS = ("batch_progress_bar",)


def _take(prepared: Any, indices: np.ndarray) -> Any:
    if isinstance(prepared, np.ndarray):
        return prepared[indices]
    return [prepared[i] for i in indices]


def _single_as_batch(pop: Any, data: Any) -> Any:
    if hasattr(data, "end_spikes"):
        return [data]
    example_shape = getattr(getattr(pop, "neuron", None), "example_shape", None)
    if example_shape is not None and not isinstance(data, list):
        arr = np.asarray(data)
        if arr.shape == example_shape(pop.shape):
            return arr[np.newaxis]
    return data


class CompiledNetwork(MlGeNNBatchCalls):
    """A network built on a backend; use it inside ``with compiled_net:``.

    Parameters
    ----------
    network : Network
        The network description.
    backend : Backend
        The backend simulating it (e.g. :class:`NumpyBackend`).
    compiler : Compiler
        The compiler that built it (its reset settings are used).
    num_timesteps : int
        Timesteps simulated per batch.

    Attributes
    ----------
    network, backend, compiler, num_timesteps, dt
    batch_size : int
        Examples per batch on this rank.
    communicator : Communicator or None
        The compiler's communicator (data-parallel runs).
    parallel : DataParallel or None
        The data-parallel steps of ``train``/``evaluate`` (with a communicator).

    Notes
    -----
    ``evaluate``, ``predict`` and the validation inside ``train`` share one
    inference loop, :meth:`infer_batches` (``evaluate`` and ``predict`` wrap
    it in :meth:`run_inference`).  Training reuses its pieces:
    :meth:`start_batch` (reset, inputs, the batch's example indices on the
    run context), :meth:`simulate` (all timesteps, with or without per-step
    hooks), :meth:`get_batch_readouts` and :meth:`update_metrics`.  The
    checks and preparation of user data live in ``compilers._data``.
    """

    def __init__(self, network: Any, backend: Any, compiler: Any, num_timesteps: int):
        self.network = network
        self.backend = backend
        self.compiler = compiler
        self.num_timesteps = num_timesteps
        self.batch_size = backend.batch_size
        self.dt = backend.dt
        self.communicator = getattr(compiler, "communicator", None)
        self.parallel: Any = None
        self._pass_examples: dict[str, int] = {}
        #: mlGeNN's model name given to ``compile(network, name)`` (None if not given).
        self.name: str | None = None
        self._groups: tuple[Any, Any] | None = None
        self._loaded = False

    # ------------------------------------------------------- mlGeNN state access
    def _state_groups(self) -> tuple[Any, Any]:
        if self._groups is None:
            genn_groups = getattr(self.backend, "genn_groups", None)
            if genn_groups is not None:
                self._groups = genn_groups()
            elif hasattr(self.backend, "live_vars"):
                from ._state_views import numpy_groups

                self._groups = numpy_groups(self)
            else:
                raise ConfigurationError(
                    f"compiled_net.neuron_populations needs a backend with GeNN groups or "
                    f"live_vars(); got {type(self.backend).__name__}. Use the backend protocol "
                    f"(backend.get_var, backend.get_conn_var) instead."
                )
        return self._groups

    @property
    def neuron_populations(self) -> Any:
        """Population (or its name) -> group with ``vars[name].view``, as in mlGeNN.

        GeNN's neuron groups on the GeNN backend; on the NumPy backend views
        of the live state with the same names and shapes (see
        ``spikehooks.compilers._state_views``).
        """
        return self._state_groups()[0]

    @property
    def connection_populations(self) -> Any:
        """Connection (or its name) -> group with ``vars["g"]``, as in mlGeNN."""
        return self._state_groups()[1]

    @property
    def genn_model(self) -> Any:
        """GeNN's model on the GeNN backend; elsewhere an object that answers
        ``batch_size``, ``dt``, ``timestep`` and ``t`` and refuses the rest
        (kernel timings) with an error saying what to use."""
        model = getattr(self.backend, "genn_model", None)
        if model is not None:
            return model
        from ._state_views import NoGeNNModel

        return NoGeNNModel(self.backend, self.kernel_times)

    @property
    def kernel_times(self) -> Any:
        """The phases timed with ``kernel_profiling=True`` (:class:`KernelTimes`), else None."""
        if not getattr(self.compiler, "kernel_profiling", False):
            return None
        if getattr(self, "_kernel_times", None) is None:
            self._kernel_times = KernelTimes()
        return self._kernel_times

    # ---------------------------------------------------------- loading
    def __enter__(self) -> CompiledNetwork:
        self._loaded = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._loaded = False

    def _check_loaded(self, method: str) -> None:
        if not self._loaded:
            raise NotCompiledError(
                f"{type(self).__name__}.{method} must be called inside `with compiled_net:`; "
                f"got a call outside it. Write:\n    with compiled_net:\n"
                f"        compiled_net.{method}(...)"
            )

    # ------------------------------------------------ mlGeNN's low-level API
    def set_input(self, inputs: dict) -> None:
        """Load one batch of input: ``{input_population: data}`` with ``<= batch_size`` examples.

        As in mlGeNN, a single example may also be given without its batch
        axis (an array of the population's shape, or one ``PreprocessedSpikes``).
        """
        self._check_loaded("set_input")
        prepared, num = _data.prepare_inputs(
            self.network, {pop: _single_as_batch(pop, data) for pop, data in inputs.items()}
        )
        indices = np.arange(num, dtype=np.int64)
        for pop, data in prepared.items():
            self.backend.set_input(pop, _take(data, indices))
        self.backend.num_examples_in_batch = num

    def get_readout(self, outputs: Any) -> Any:
        """Return the readout of one population, or a list for a sequence of them.

        Returns
        -------
        numpy.ndarray of float32, shape (batch_size, *population.shape), or a list of them
        """
        self._check_loaded("get_readout")
        pops = _data.check_outputs(self.network, outputs, "outputs")
        values = [self.backend.get_readout(pop) for pop in pops]
        return values if isinstance(outputs, (list, tuple)) else values[0]

    def step_time(self, callback_list: CallbackList | None = None) -> None:
        """Advance one timestep, calling the list's timestep hooks around it."""
        self._check_loaded("step_time")
        if callback_list is None:
            self.backend.step()
            return
        t = self.backend.timestep
        callback_list.on_timestep_begin(t)
        self.backend.step()
        callback_list.on_timestep_end(t)

    # ------------------------------------------------ pieces of a batch loop
    def start_batch(self, indices: np.ndarray, prepared: dict[Any, Any],
                    run: RunContext | None = None, index_offset: int = 0) -> None:
        """Reset the backend and load the inputs of the examples ``indices``.

        Parameters
        ----------
        indices : numpy.ndarray of int64, shape (num_examples_in_batch,)
            Data-set indices of the batch's examples (at most ``batch_size``).
        prepared : dict
            Input population -> the whole prepared data set.
        run : RunContext, optional
            The run's context, told the batch's example indices.
        index_offset : int
            Subtracted from ``indices`` before the run's context is told
            them: a validation split is the tail of the data set, and its
            callbacks count its examples from 0, as mlGeNN's do.
        """
        with timed(self.kernel_times, "reset"):
            self._reset_backend()
        backend = self.backend
        # A backend may load the batch from the whole prepared data set (the compiled one
        # keeps a SpikeInput data set flattened for the run); else it gets the examples.
        by_index = getattr(backend, "set_input_examples", None)
        # A data-parallel rank may have no examples in a batch: it only joins the collectives.
        for pop, data in prepared.items() if len(indices) else ():
            if by_index is None or not by_index(pop, data, indices):
                backend.set_input(pop, _take(data, indices))
        # The backend needs the count to leave padding entries out of what it returns.
        backend.num_examples_in_batch = len(indices)
        if run is not None:
            run.start_batch(indices - index_offset if index_offset else indices)

    def _reset_backend(self) -> None:
        """Reset the backend for a new batch as the compiler's reset switches say."""
        compiler = self.compiler
        self.backend.reset(reset_vars=compiler.reset_vars_between_batches,
                           reset_in_syn=compiler.reset_in_syn_between_batches)

    def simulate(self, cbl: CallbackList) -> None:
        """Run every timestep of the batch; per-step hooks only when someone implements them.

        A batch without examples (a data-parallel rank's share can be empty) is not run.
        """
        backend = self.backend
        if not backend.num_examples_in_batch:
            return
        times = self.kernel_times
        if cbl.has_timestep_hooks:
            begin, end, step = cbl.on_timestep_begin, cbl.on_timestep_end, backend.step
            for t in range(self.num_timesteps):
                begin(t)
                with timed(times, "simulate"):
                    step()
                end(t)
        else:
            with timed(times, "simulate"):
                backend.run(self.num_timesteps)

    def get_batch_readouts(self, outputs: Sequence[Any]) -> dict[Any, np.ndarray]:
        """Return each output's readout for the real examples of the batch only."""
        k = self.backend.num_examples_in_batch
        return {pop: self.backend.get_readout(pop)[:k] for pop in outputs}

    def update_metrics(self, metrics: dict[Any, Metric], targets: dict[Any, np.ndarray],
                       indices: np.ndarray) -> None:
        """Feed the batch's real examples to each output's metric."""
        readouts = self.get_batch_readouts(list(metrics))
        for pop, metric in metrics.items():
            metric.update(targets[pop][indices], readouts[pop])

    def _check_batches(self, prepared: dict[Any, Any], batches: list[np.ndarray]) -> None:
        batches = [b for b in batches if len(b)]
        for pop, data in prepared.items():
            check = getattr(pop.neuron, "check_batches", None)
            if check is not None:
                check(data, batches, pop)

    # ------------------------------------------------------ data parallelism
    def _rank_params(self, shard: bool) -> dict[str, Any]:
        """``set_params``/``RunContext`` keywords describing this rank."""
        par = self.parallel
        return {"rank": par.rank if par else 0, "num_ranks": par.num_ranks if par else 1,
                "communicator": par.comm if par else None, "shard": bool(shard)}

    def _checked(self, prepare: Any) -> Any:
        """Run argument checks; with a communicator, every rank fails if one does."""
        return prepare() if self.parallel is None else self.parallel.checked(prepare)

    def _plan(self, order: np.ndarray, num_examples: int, shard: bool,
              owner: str) -> list[np.ndarray]:
        """This rank's example indices per batch (consecutive batches without a communicator)."""
        if not isinstance(shard, (bool, np.bool_)):
            raise ConfigurationError(
                f"{owner} shard must be True or False; got {shard!r}. Pass shard=True when "
                f"every rank passes the same full data set."
            )
        if self.parallel is None:
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        counts = self.parallel.agree_num_examples(num_examples, bool(shard), owner)
        # What callbacks get as num_examples: the whole data set's count, also when each
        # rank passed its slice (their example filters name global indices).
        self._pass_examples[owner] = counts[0] if shard else sum(counts)
        return self.parallel.plan(order, self.batch_size, bool(shard), counts)

    def _run_examples(self, owner: str, num_examples: int) -> int:
        """``num_examples`` for the callbacks of the pass :meth:`_plan` planned as ``owner``."""
        return self._pass_examples.get(owner, num_examples) if self.parallel else num_examples

    def _update_metrics(self, metrics: dict[Any, Metric], targets: dict[Any, np.ndarray],
                        indices: np.ndarray) -> None:
        """Update metrics with this batch: every rank's examples when data-parallel."""
        if self.parallel is None:
            self.update_metrics(metrics, targets, indices)
            return
        readouts = self.get_batch_readouts(list(metrics))
        self.parallel.update_metrics(
            metrics, {pop: targets[pop][indices] for pop in metrics}, readouts)

    @contextlib.contextmanager
    def _failing_together(self) -> Iterator[None]:
        """With more than one rank, an error on this rank ends the whole job, naming the rank."""
        try:
            yield
        except BaseException as exc:
            if self.parallel is not None:
                self.parallel.fail(exc)
            raise

    # ------------------------------------------------------------- running
    def save(self, keys: Any = (), serialiser: Any = "numpy") -> Any:
        """Write the learnable state under ``keys`` (mlGeNN's ``compiled_net.save``).

        ``keys`` such as ``("checkpoints", 5)`` name a folder; the write is
        atomic.  See :func:`spikehooks.serialisers.save`.
        """
        self._check_loaded("save")
        from ..serialisers import save

        return save(self, keys, serialiser)

    def save_connectivity(self, keys: Any = (), serialiser: Any = "numpy") -> Any:
        """Write the synapses of sparse connections beside ``keys`` (mlGeNN's method).

        ``network.load(keys, serialiser)`` then rebuilds those synapses.  See
        :func:`spikehooks.serialisers.save_connectivity`.
        """
        self._check_loaded("save_connectivity")
        from ..serialisers import save_connectivity

        return save_connectivity(self, keys, serialiser)

    def load(self, keys: Any = (), serialiser: Any = "numpy") -> None:
        """Load learnable state saved under ``keys``; a damaged file is refused, naming it.

        See :func:`spikehooks.serialisers.load`.
        """
        self._check_loaded("load")
        from ..serialisers import load

        load(self, keys, serialiser)

    def evaluate(self, x: dict, y: dict, metrics: Any = "sparse_categorical_accuracy",
                 callbacks: Sequence[Any] = _DEFAULT_CALLBACKS,
                 shard: bool = False) -> tuple[dict, dict]:
        """Simulate every example of ``x`` and score the readouts against ``y``.

        Parameters
        ----------
        x : dict
            Input population -> data set (e.g. float array ``(n, *shape)``, or
            a list of ``PreprocessedSpikes`` for :class:`SpikeInput`).
        y : dict
            Output population -> targets (int labels ``(n,)`` for accuracy).
        metrics : str, Metric, (str, dict) or dict
            One spec for every output, or a dict per output.
        callbacks : sequence
            Callback objects or names.
        shard : bool
            Data-parallel runs only: True when every rank passes the same
            full data set, which is then split across ranks; False (mlGeNN's
            way) when each rank passes its own slice.  Metrics are global
            on every rank either way.

        Returns
        -------
        metrics : dict
            Output population -> Metric (``.result``).
        cb_data : dict
            Each callback's key -> its data.
        """
        self._check_loaded("evaluate")

        def prepare() -> tuple[Any, ...]:
            outputs = _data.check_targets_dict(self.network, y)
            prepared, num_examples = _data.prepare_inputs(self.network, x)
            metric_objs = _data.make_metrics(metrics, outputs)
            targets = _data.prepare_targets(self.network, y, num_examples, metric_objs)
            return prepared, num_examples, metric_objs, targets

        prepared, num_examples, metric_objs, targets = self._checked(prepare)
        batches = self._plan(np.arange(num_examples, dtype=np.int64), num_examples, shard,
                             "evaluate")
        self._checked(lambda: self._check_batches(prepared, batches))
        cbl = self._checked(lambda: CallbackList(
            callbacks, mode="test", compiled_network=self, backend=self.backend,
            num_batches=len(batches), num_epochs=1,
            num_examples=self._run_examples("evaluate", num_examples),
            **self._rank_params(shard)))
        try:
            with self._failing_together(), cbl.guard():
                self.run_inference(cbl, prepared, batches, metric_objs, targets)
        finally:
            cbl.close()
        return metric_objs, cbl.get_data()

    def predict(self, x: dict, outputs: Any,
                callbacks: Sequence[Any] = _DEFAULT_CALLBACKS) -> tuple[dict, dict]:
        """Simulate every example of ``x`` and return the readouts of ``outputs``.

        Returns
        -------
        y_pred : dict
            Output population -> float32 array ``(n, *population.shape)``.
        cb_data : dict
            Each callback's key -> its data.
        """
        self._check_loaded("predict")
        pops = _data.check_outputs(self.network, outputs, "outputs")
        prepared, num_examples = _data.prepare_inputs(self.network, x)
        batches = _data.batches(num_examples, self.batch_size)
        self._check_batches(prepared, batches)
        # Data-parallel, each rank predicts its own data: no collectives.
        cbl = CallbackList(callbacks, mode="test", compiled_network=self, backend=self.backend,
                           num_batches=len(batches), num_epochs=1, num_examples=num_examples,
                           **self._rank_params(False))
        try:
            with cbl.guard():
                collected = self.run_inference(cbl, prepared, batches, outputs=pops)
        finally:
            cbl.close()
        return {pop: np.concatenate(parts) for pop, parts in collected.items()}, cbl.get_data()

    def run_inference(self, cbl: CallbackList, prepared: dict[Any, Any],
                      batches: Sequence[np.ndarray], metrics: dict[Any, Metric] | None = None,
                      targets: dict[Any, np.ndarray] | None = None,
                      outputs: Sequence[Any] = (),
                      index_offset: int = 0) -> dict[Any, list[np.ndarray]]:
        """The inference loop of ``evaluate`` and ``predict``.

        ``on_test_begin``; the batches (:meth:`infer_batches`); ``on_test_end``.

        Parameters
        ----------
        cbl : CallbackList
            The run's callbacks (mode ``"test"`` or ``"validate"``).
        prepared : dict
            Input population -> the prepared data set.
        batches : sequence of numpy.ndarray of int64
            Data-set indices of each batch's examples.
        metrics, targets : dict, optional
            Output population -> Metric to update, and -> targets of the
            whole data set.  Without them the hooks receive ``{}`` as metrics.
        outputs : sequence of Population
            Populations whose readouts are collected.
        index_offset : int
            First data-set index of the examples the callbacks count from 0
            (a validation split's first example), see :meth:`start_batch`.

        Returns
        -------
        dict
            Output population -> list of float32 readouts, one array
            ``(examples in batch, *population.shape)`` per batch.
        """
        cbl.on_test_begin()
        collected = self.infer_batches(cbl, prepared, batches, metrics, targets, outputs,
                                       index_offset)
        cbl.on_test_end({} if metrics is None else metrics)
        return collected

    def infer_batches(self, cbl: CallbackList, prepared: dict[Any, Any],
                      batches: Sequence[np.ndarray], metrics: dict[Any, Metric] | None = None,
                      targets: dict[Any, np.ndarray] | None = None,
                      outputs: Sequence[Any] = (),
                      index_offset: int = 0) -> dict[Any, list[np.ndarray]]:
        """One pass over ``batches`` without the run's begin/end hooks.

        Per batch: reset and load inputs, ``on_batch_begin``, simulate, score
        and collect, ``on_batch_end``.  :meth:`run_inference` wraps it in
        ``on_test_begin``/``on_test_end``; a validation pass of ``train`` in
        the validation callbacks' ``on_epoch_begin``/``on_epoch_end``.  The
        parameters and the result are :meth:`run_inference`'s.
        """
        collected: dict[Any, list[np.ndarray]] = {pop: [] for pop in outputs}
        for batch, indices in enumerate(batches):
            self.start_batch(indices, prepared, cbl.run, index_offset)
            cbl.on_batch_begin(batch)
            self.simulate(cbl)
            if metrics is not None and targets is not None:
                self._update_metrics(metrics, targets, indices)
            for pop, value in self.get_batch_readouts(outputs).items():
                collected[pop].append(value)
            cbl.on_batch_end(batch, {} if metrics is None else metrics)
        return collected

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(network={self.network!r}, backend={self.backend!r}, "
                f"num_timesteps={self.num_timesteps})")


__all__ = ["CompiledNetwork"]
