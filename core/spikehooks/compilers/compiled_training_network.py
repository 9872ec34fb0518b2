"""The compiled training network: mlGeNN's ``train`` loop with EventProp updates."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..checks import int_at_least, real
from ..connectivity import TiedConnectivity
from ..errors import ConfigurationError
from ..training import (
    FiniteGuard,
    OutputDrive,
    backward,
    make_forward_recorder,
    output_drive,
)
from ..training._forward import with_output
from ..training._per_timestep import check_trace_targets, per_timestep_drive
from . import _data
from ._kernel_times import timed
from ._training_state import check_training_state
from .compiled_network import CompiledNetwork

_DEFAULT_CALLBACKS = ("batch_progress_bar",)


class _DefaultMetric(str):
    """mlGeNN's default metric name, told apart from the same name passed on purpose."""


#: ``train``'s default metric: a target trace (per-timestep loss) replaces it.
_DEFAULT_METRIC = _DefaultMetric("sparse_categorical_accuracy")


class CompiledTrainingNetwork(CompiledNetwork):
    """A network compiled for EventProp training; use it inside ``with compiled_net:``.

    Built by :class:`spikehooks.compilers.EventPropCompiler`.  Besides
    ``evaluate``/``predict`` it offers :meth:`train`, :meth:`state_dict`
    and :meth:`load_state_dict`.

    Attributes
    ----------
    optimisers : list of (Optimiser, list of str)
        mlGeNN's structure: one ``(optimiser, variables)`` pair per
        optimiser, ``variables`` naming the learnable state it updates
        (``"<connection name>/weight"``), so ``for o, _ in
        compiled_net.optimisers`` ports unchanged.  Hyperparameters may be
        changed between batches by callbacks.
    stop_training : bool
        Set to True (by a callback) to end :meth:`train` after the current batch.
    clamped_jumps : int
        Spikes whose jump denominator the guard raised, over all training so far.
    epoch_loss : float or None
        Mean training loss of the last completed epoch.
    validation_metrics : dict or None
        Output population -> Metric of the latest validation (None without
        validation); set before the training callbacks' ``on_epoch_end``.
    """

    def __init__(self, network: Any, backend: Any, compiler: Any, num_timesteps: int,
                 graph: Any, populations: list[Any], loss: Any, optimiser: Any):
        super().__init__(network, backend, compiler, num_timesteps)
        self.graph = graph
        # Pooling (AvgPool2D) has a fixed kernel: the optimiser leaves it alone.
        keys = [f"{c.name}/weight" for c in network.connections
                if getattr(c.connectivity, "trainable", True)]
        self._setup_training(compiler, populations, populations[graph.output], loss,
                             optimiser, keys)
        self._recorder = make_forward_recorder(graph, populations, backend)

    def _setup_training(self, compiler: Any, populations: list[Any], output: Any, loss: Any,
                        optimiser: Any, keys: list[str]) -> None:
        """Set the attributes every training network has (EventProp's and e-prop's).

        One place, so a subclass cannot miss one (the training loop reads them all).
        """
        self.populations = populations
        self.output = output
        self.loss = loss
        self._conns = list(self.network.connections)
        self.optimisers = [(optimiser, keys)]
        self.stop_training = False
        self.clamped_jumps = 0
        #: ``+dL/dw`` of the last batch by learnable key (kernels for convolutions).
        self.last_gradients: dict[str, np.ndarray] = {}
        self.epoch_loss: float | None = None
        self.validation_metrics: dict | None = None
        self._rng = np.random.default_rng(compiler.rng_seed)
        self._next_epoch = 0
        self._observing = False
        self._delays: Any = None

    def learn_delays(self, delays: Any) -> None:
        """Learn the delays of ``delays`` (a :class:`~spikehooks.training._delay_learning.
        LearnedDelays`) after every batch; adds its optimiser to :attr:`optimisers`."""
        self._delays = delays
        self.optimisers.append((delays.optimiser, delays.keys))

    @property
    def learned_delays(self) -> dict[str, np.ndarray]:
        """Copies of the learned float32 delays (timesteps) by ``"<connection>/delay"``."""
        return {} if self._delays is None else self._delays.state()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Return everything needed to resume training bit for bit.

        Returns
        -------
        dict
            ``{"learnable": {name: float32 array}, "optimisers": [state, ...],
            "rng": shuffle generator state, "epoch": next epoch to run}``.
        """
        return {
            "learnable": self.backend.get_learnable_state(),
            "optimisers": [opt.state_dict() for opt, _ in self.optimisers],
            "rng": self._rng.bit_generator.state,
            "epoch": self._next_epoch,
            **({} if self._delays is None else {"delays": self._delays.state()}),
        }

    def check_state_dict(self, state: dict[str, Any]) -> None:
        """Refuse a training state this network cannot load, changing nothing.

        Checks the keys, that ``learnable`` holds exactly this network's
        weight arrays with their shapes, that every optimiser state fits its
        optimiser (class, moments of the weights' shapes), the RNG state's
        generator and the epoch.

        Raises
        ------
        ConfigurationError
            Naming what does not fit.
        """
        check_training_state(state, self.backend.get_learnable_state(),
                             [opt for opt, _ in self.optimisers], self._rng,
                             extra=self.learned_delays)
        if self._delays is not None:
            self._delays.check_state(state.get("delays"))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (all checked before anything changes)."""
        self.check_state_dict(state)
        self.backend.set_learnable_state(state["learnable"])
        for (opt, _), opt_state in zip(self.optimisers, state["optimisers"], strict=True):
            opt.load_state_dict(opt_state)
        self._rng.bit_generator.state = state["rng"]
        self._next_epoch = int(state["epoch"])
        if self._delays is not None:
            self._delays.load_state(state["delays"])

    # ------------------------------------------------------------- training
    def train(self, x: dict, y: dict, num_epochs: int, start_epoch: int = 0,
              shuffle: bool = True, metrics: Any = _DEFAULT_METRIC,
              callbacks: Sequence[Any] = _DEFAULT_CALLBACKS,
              validation_callbacks: Sequence[Any] = _DEFAULT_CALLBACKS,
              validation_split: float = 0.0, validation_x: dict | None = None,
              validation_y: dict | None = None, resume_from: Any = None,
              shard: bool = False) -> tuple:
        """Train with EventProp: per batch forward, backward, then one optimiser step.

        Parameters
        ----------
        x, y : dict
            Input population -> data set; output population -> labels (or targets).
        num_epochs : int
            How many epochs to train, counted from ``start_epoch`` (mlGeNN's
            meaning): the planned run is epochs ``start_epoch ..
            start_epoch + num_epochs - 1``.
        start_epoch : int
            Index of the first epoch of the planned run.
        shuffle : bool
            Shuffle the training examples every epoch (seeded by ``rng_seed``).
        metrics : str, Metric, (str, dict) or dict
            Metric per output, computed on the training batches.  Default
            ``"sparse_categorical_accuracy"`` (mlGeNN's); when left out with a
            per-timestep mean square error (``var`` readout, target traces),
            ``"mean_square_error"`` of the whole voltage trace.
        callbacks, validation_callbacks : sequence
            Callbacks of the training loop (mode ``"train"``) and of validation
            (mode ``"validate"``).  The validation callbacks get mlGeNN's
            sequence: ``on_test_begin()`` once before the first epoch, per
            validation pass ``on_epoch_begin(epoch)``, its batch hooks and
            ``on_epoch_end(epoch, metrics)`` with that pass's metrics, and
            ``on_test_end(metrics)`` once after the training callbacks'
            ``on_train_end``, with the last pass's metrics.
        validation_split : float
            Fraction in [0, 1) of ``x``/``y``, taken from the end, held out for
            validation after each epoch.
        validation_x, validation_y : dict, optional
            A separate validation set (instead of ``validation_split``).
        resume_from : object, optional
            Passed to the ``restore(compiled_network, resume_from) -> epoch``
            method of a callback (the checkpoint plugin's ``Checkpoint``).
            Training continues at the epoch it returns and still ends after
            epoch ``start_epoch + num_epochs - 1``, so re-running a job with
            the same arguments finishes the planned run (and trains nothing
            once it is complete).  Nothing to restore: the run starts at
            ``start_epoch``.  Data-parallel: rank 0 restores and broadcasts
            the state.
        shard : bool
            Data-parallel runs only: True when every rank passes the same
            full data set, which is shuffled globally and split across ranks
            (same weights as one process at the global batch size); False
            (mlGeNN's way) when each rank passes its own slice.

        Returns
        -------
        (metrics, cb_data), or with validation
        (metrics, validation_metrics, cb_data, validation_cb_data)
        """
        self._check_loaded("train")
        prep = self._checked(lambda: self._prepare_training(
            x, y, num_epochs, start_epoch, resume_from, metrics, validation_split,
            validation_x, validation_y))
        prepared, labels, targets, metric_objs, validation, train_indices = prep
        end_epoch = int(start_epoch) + int(num_epochs)
        num_train = len(train_indices)
        batches = self._plan(train_indices, num_train, shard, "train")
        if validation:
            validation["batches"] = self._plan(validation["indices"], len(validation["indices"]),
                                               shard, "train validation")
            self._checked(lambda: self._check_batches(validation["prepared"],
                                                      validation["batches"]))
        ranks = self._rank_params(shard)
        # set_params gets the metrics, so a callback can check a monitored name up front,
        # and `validation`, so a callback watching metrics knows when an epoch is final.
        # resume_from reaches set_params: a callback writing a folder (Checkpoint) may
        # continue the run owning it instead of refusing it.
        cbl = self._checked(lambda: CallbackList(
            callbacks, mode="train", compiled_network=self, backend=self.backend,
            num_batches=len(batches), num_epochs=num_epochs, metrics=metric_objs,
            num_examples=self._run_examples("train", num_train), validation=bool(validation),
            resume_from=resume_from,
            **ranks))
        vcbl = None
        try:
            self.validation_metrics = None
            if validation:
                self.validation_metrics = validation["metrics"]
                cbl.run.validation_metrics = validation["metrics"]
                vcbl = self._checked(lambda: CallbackList(
                    validation_callbacks, mode="validate", compiled_network=self,
                    backend=self.backend, num_batches=len(validation["batches"]),
                    num_epochs=num_epochs, metrics=validation["metrics"],
                    num_examples=self._run_examples("train validation",
                                                    len(validation["indices"])),
                    **ranks))
                validation["callbacks"] = vcbl
            start_epoch = self._start(cbl, start_epoch, resume_from)
            return self._run(cbl, vcbl, start_epoch, end_epoch, train_indices, shuffle, shard,
                             prepared, labels, targets, metric_objs, validation)
        finally:
            cbl.close()
            if vcbl is not None:
                vcbl.close()

    def _run(self, cbl: CallbackList, vcbl: CallbackList | None, start_epoch: int,
             end_epoch: int, train_indices: np.ndarray, shuffle: bool, shard: bool,
             prepared: dict, labels: np.ndarray, targets: dict, metric_objs: dict,
             validation: dict | None) -> tuple:
        """The epochs ``start_epoch .. end_epoch - 1`` of :meth:`train`; returns what train
        returns."""
        self._next_epoch = int(start_epoch)
        self.stop_training = False
        self._finite = FiniteGuard(self.compiler.on_non_finite,
                                   [c.name for c in self._conns], self.output.name)
        # A backend that traces the batch itself (compiled) needs no per-step observer.
        observe = getattr(self._recorder, "needs_observer", True)
        if observe:
            self.backend.add_step_observer(self._observe)
        try:
            with self._failing_together(), cbl.guard():
                cbl.on_train_begin()
                # mlGeNN's order: the validation callbacks' on_test_begin once, before
                # the first epoch; each pass has epoch hooks (_train_epoch); on_test_end
                # once, after on_train_end, with the last pass's metrics.  Their hooks
                # run inside their own guard, so an error names the validation callback
                # and carries the validation data; the training guard passes it on.
                if vcbl is not None:
                    with vcbl.guard():
                        vcbl.on_test_begin()
                self._decide_stop()
                for epoch in range(start_epoch, end_epoch):
                    # A callback may stop training before an epoch starts (e.g. an
                    # early stop restored from a checkpoint in on_train_begin).
                    if self.stop_training:
                        break
                    cbl.run.epoch = epoch
                    if vcbl is not None:
                        vcbl.run.epoch = epoch
                    finished = self._train_epoch(epoch, train_indices, shuffle, shard, prepared,
                                                 labels, targets, metric_objs, cbl, validation)
                    if not finished or self.stop_training:
                        break
                cbl.on_train_end(metric_objs)
                if vcbl is not None:
                    with vcbl.guard():
                        vcbl.on_test_end(self.validation_metrics)
                if self.parallel is not None:
                    # A callback on rank 0 may have set weights (EarlyStopping's restore_best).
                    self.parallel.broadcast_learnable(self.backend)
        finally:
            if observe:
                self.backend.remove_step_observer(self._observe)
        if vcbl is not None:
            return metric_objs, self.validation_metrics, cbl.get_data(), vcbl.get_data()
        return metric_objs, cbl.get_data()

    def _prepare_training(self, x: dict, y: dict, num_epochs: Any, start_epoch: Any,
                          resume_from: Any, metrics: Any, validation_split: Any,
                          validation_x: dict | None, validation_y: dict | None) -> tuple:
        """Check every argument of :meth:`train` before anything runs."""
        for name, value, minimum in (("num_epochs", num_epochs, 1),
                                     ("start_epoch", start_epoch, 0)):
            int_at_least(value, "train", name, "Pass e.g. num_epochs=10 (epochs start_epoch "
                         ".. start_epoch + num_epochs - 1 are trained, as in mlGeNN).",
                         minimum=minimum)
        outputs = _data.check_targets_dict(self.network, y)
        if outputs != [self.output]:
            raise ConfigurationError(
                f"train y must have exactly the output population {self.output.name!r} as key; "
                f"got {[p.name for p in outputs]}."
            )
        prepared, num_examples = _data.prepare_inputs(self.network, x)
        labels = np.asarray(y[self.output])
        trace = self.trace_targets
        if metrics is _DEFAULT_METRIC:
            metrics = "mean_square_error" if trace else "sparse_categorical_accuracy"
        if trace:
            labels = check_trace_targets(labels, self.graph.num_steps, self.output.num_neurons,
                                         f"y of {self.output.name!r}")
            if validation_split or validation_x is not None or validation_y is not None:
                raise ConfigurationError(
                    f"train validation_split must be 0 and validation_x/validation_y None with "
                    f"a per-timestep mean_square_error on {self.output.name!r}; got "
                    f"validation_split={validation_split!r}, validation_x given: "
                    f"{validation_x is not None}. Validation compares one readout per example; "
                    f"evaluate the trained network on held-out traces with a VarRecorder."
                )
        else:
            self.loss.check_labels(labels, self.output.num_neurons, f"y of {self.output.name!r}")
        validation = self._split_validation(prepared, y, num_examples, validation_split,
                                            validation_x, validation_y, metrics)
        train_indices = np.arange(num_examples - (validation["split"] if validation else 0))
        metric_objs = _data.make_metrics(metrics, outputs)
        # A per-timestep mean square error's metric compares whole traces.
        shapes = {self.output: (self.graph.num_steps, *self.output.shape)} if trace else None
        targets = _data.prepare_targets(self.network, y, num_examples, metric_objs, shapes)
        return prepared, labels, targets, metric_objs, validation, train_indices

    @property
    def trace_targets(self) -> bool:
        """True when the loss compares the output's voltage trace with target traces."""
        return self.graph.per_timestep and self.graph.layers[self.graph.output].readout == "var"

    def _start(self, cbl: CallbackList, start_epoch: int, resume_from: Any) -> int:
        """Resume if asked; data-parallel, rank 0 restores and every rank takes its state."""
        par = self.parallel
        if par is None:
            if resume_from is None:
                return start_epoch
            return self._restore(cbl, resume_from, int(start_epoch))
        resume = resume_from is not None and par.rank == 0
        start = self._checked(
            lambda: self._restore(cbl, resume_from, int(start_epoch)) if resume else start_epoch)
        # Every rank continues from rank 0's weights, optimiser, shuffle state and epoch.
        state, start = par.decide((self.state_dict(), start) if par.rank == 0 else None)
        if par.rank != 0:
            self.load_state_dict(state)
        return int(start)

    def _decide_stop(self) -> None:
        """Data-parallel: rank 0's callbacks decide whether training stops, for every rank."""
        if self.parallel is not None:
            self.stop_training = bool(self.parallel.decide(self.stop_training))

    def _observe(self, t: int) -> None:
        if self._observing:
            self._recorder(t)

    def _restore(self, cbl: CallbackList, resume_from: Any, start_epoch: int) -> int:
        for callback in cbl.callbacks:
            restore = getattr(callback, "restore", None)
            if callable(restore):
                # A restorer that accepts start_epoch returns it when there is nothing to
                # restore, so a first run with resume_from="latest" starts where planned.
                if "start_epoch" in inspect.signature(restore).parameters:
                    return int(restore(self, resume_from, start_epoch=start_epoch))
                return int(restore(self, resume_from))
        raise ConfigurationError(
            f"train resume_from needs a callback that can restore a checkpoint; got "
            f"resume_from={resume_from!r} and callbacks "
            f"{[type(c).__name__ for c in cbl.callbacks]}. Add a Checkpoint callback "
            f"(spikehooks-checkpoint) to callbacks."
        )

    def _train_epoch(self, epoch: int, train_indices: np.ndarray, shuffle: bool, shard: bool,
                     prepared: dict, labels: np.ndarray, targets: dict, metric_objs: dict,
                     cbl: CallbackList, validation: dict | None) -> bool:
        """Run one epoch, then its validation; return False when ``stop_training`` cut it short.

        mlGeNN's order: the training callbacks' ``on_epoch_end``, then the
        validation pass (its own callbacks: ``on_epoch_begin(epoch)``, the
        batches, ``on_epoch_end(epoch, validation metrics)``), then the
        training callbacks' ``on_validation_end`` with the validation
        metrics, where callbacks watching ``val_`` metrics act.
        """
        for metric in metric_objs.values():
            metric.reset()
        cbl.on_epoch_begin(epoch)
        order = self._rng.permutation(train_indices) if shuffle else train_indices
        batches = self._plan(order, len(order), shard, "train")
        self._check_batches(prepared, batches)
        losses, seen = [], 0
        for batch, indices in enumerate(batches):
            self.start_batch(indices, prepared, cbl.run)
            cbl.on_batch_begin(batch)
            self._recorder.begin()
            self._observing = True
            try:
                self.simulate(cbl)
            finally:
                self._observing = False
            value, count = self._learn(labels, targets, metric_objs, indices, epoch, batch)
            losses.append(value * count)
            seen += count
            cbl.on_batch_end(batch, metric_objs)
            self._decide_stop()
            if self.stop_training and batch < len(batches) - 1:
                return False
        self.epoch_loss = float(np.sum(losses) / max(seen, 1))
        # A checkpoint taken at the end of this epoch must resume at the next one.
        self._next_epoch = epoch + 1
        cbl.on_epoch_end(epoch, metric_objs)
        if validation:
            with validation["callbacks"].guard():
                self._validate(epoch, validation, validation["callbacks"])
            cbl.on_validation_end(epoch, validation["metrics"])
        self._decide_stop()
        return True

    def _learn(self, labels: np.ndarray, targets: dict, metric_objs: dict,
               indices: np.ndarray, epoch: int, batch: int) -> tuple[float, int]:
        """Backward pass and optimiser step for the batch just simulated; update the metrics.

        Data-parallel, every rank first gathers the batch's readouts and
        labels of all ranks (so the loss, its drive and the metrics are those
        of the global batch, bit for bit), then sums its examples' gradients
        and adds the ranks' sums with one allreduce.

        Returns
        -------
        loss : float
            Mean loss over the (global) batch.
        count : int
            Examples in the (global) batch.
        """
        compiler, graph, par = self.compiler, self.graph, self.parallel
        optimiser, keys = self.optimisers[0]
        fwd = self._recorder.result()
        real = len(indices)
        readout, event, y_batch = fwd.readout[:real], fwd.event_step[:real], labels[indices]
        counts = self._spike_counts(fwd, real) if compiler.regularised else None
        offset, total = 0, real
        if par is None and fwd.output_v is not None and self.trace_targets:
            # Metrics of a per-timestep mean square error see the trace, (batch, steps, K).
            trace = np.transpose(fwd.output_v[:, :real], (1, 0, 2))
            for pop, metric in metric_objs.items():
                metric.update(targets[pop][indices], trace)
        elif par is None:
            self.update_metrics(metric_objs, targets, indices)
        else:
            # The global batch's readouts, labels and spike counts; metrics updated with
            # them, and rank 0's optimiser hyperparameters (schedules decide on rank 0).
            (readout, event, y_batch, counts), offset, total = par.exchange_batch(
                (readout, event, y_batch, counts), optimiser, metric_objs,
                {pop: targets[pop][indices] for pop in metric_objs},
                self.get_batch_readouts(list(metric_objs)))
        if graph.per_timestep:
            assert fwd.output_v is not None  # kept when graph.per_timestep
            value, drive = per_timestep_drive(
                with_output(fwd, readout, event, fwd.output_v[:, :real]), y_batch, self.loss)
        else:
            value, drive = output_drive(
                graph.layers[graph.output].readout,
                with_output(fwd, readout, event), y_batch, self.loss,
                num_steps=graph.num_steps, dt=graph.dt,
                softmax_temperature=compiler.softmax_temperature, ttfs_alpha=compiler.ttfs_alpha,
            )
        step_grad = None
        if drive.step_grad is not None:
            step_grad = np.zeros((graph.num_steps, self.batch_size, drive.step_grad.shape[2]))
            step_grad[:, :real] = drive.step_grad
        readout_grad, spike_time_grad, final_kick = (
            _pad(a[offset:offset + real], self.batch_size)
            for a in (drive.readout_grad, drive.spike_time_grad, drive.final_kick))
        drive = OutputDrive(readout_grad, spike_time_grad, final_kick, step_grad)
        weights = [self.backend.get_weight(conn) for conn in self._conns]
        tied = [conn.connectivity if isinstance(conn.connectivity, TiedConnectivity) else None
                for conn in self._conns]
        # A tied connection's kernel goes into the sweep as it is: its gradient is summed
        # per example over the synapses sharing each kernel entry (training/_backward_tied).
        with timed(self.kernel_times, "backward"):
            result = self._backward(graph, weights, fwd, drive, tied,
                                    reg=self._regulariser(counts, total, real),
                                    min_denominator=compiler.min_jump_denominator,
                                    num_examples=real, **self._delay_kwargs())
        self.clamped_jumps += result.clamped
        learn = sorted(result.delay_gradients)
        both = result.gradients + [result.delay_gradients[i] for i in learn]
        both = both if par is None else par.reduce_gradients(both)
        grads = both[:len(result.gradients)]
        delay_grads = dict(zip(learn, both[len(result.gradients):], strict=True))
        # Non-finite losses and gradients are caught before the step, weights after it;
        # every rank sees the same global values, so every rank decides the same.
        self._finite.before_update(epoch, batch, value, grads, weights)
        by_key = {f"{conn.name}/weight": (w, g)
                  for conn, w, g in zip(self._conns, weights, grads, strict=True)}
        self.last_gradients = {key: by_key[key][1] for key in keys}
        with np.errstate(over="ignore", invalid="ignore"), timed(self.kernel_times, "update"):
            # (the guard reports over/invalid itself)
            optimiser.update({key: by_key[key][0] for key in keys}, self.last_gradients)
        self._finite.after_update(epoch, batch, weights)
        if self._delays is not None:
            # mlGeNN's order: the delays move after the weights, with their own optimiser.
            with timed(self.kernel_times, "update"):
                self.last_gradients.update(self._delays.step(delay_grads))
        return value, total

    def _delay_kwargs(self) -> dict[str, Any]:
        """The backward pass's ``delay_learn`` argument when delays are learned."""
        if self._delays is None:
            return {}
        return {"delay_learn": tuple(sorted(index for index, _ in self._delays.entries))}

    def _backward(self, graph: Any, weights: list[np.ndarray], fwd: Any, drive: Any,
                  tied: list[Any], **kwargs: Any) -> Any:
        """The backward sweep: compiled on the compiled backend, else NumPy's.

        NumPy's sweeps tied connections through their kernels.  The compiled
        sweep has dense tables only; the compiled backend refuses tied
        connectivity, so a tied connection reaches it only through a direct
        call, and is then expanded and its gradient summed back.
        """
        threads = getattr(self.backend, "num_threads", None)
        # Delays have no compiled backward code: the NumPy sweep (the same gradients).
        delayed = any(conn.delays is not None for conn in self.graph.conns)
        if getattr(self.backend, "name", None) == "compiled" and not delayed:
            from ..training._backward_compiled import backward_compiled

            dense = [w if t is None else t.expand(w) for w, t in zip(weights, tied, strict=True)]
            result = backward_compiled(graph, dense, fwd, drive, num_threads=threads, **kwargs)
            result.gradients = [g if t is None else t.reduce(g)
                                for g, t in zip(result.gradients, tied, strict=True)]
            return result
        return backward(graph, weights, fwd, drive, tied=tied, **kwargs)

    def _spike_counts(self, fwd: Any, real: int) -> list[np.ndarray]:
        """Spikes per neuron of every layer over the batch's real examples (int64)."""
        if fwd.records is not None:
            return fwd.records.spike_counts(real)
        return [s[:, :real].sum(axis=(0, 1), dtype=np.int64) for s in fwd.spikes]

    def _regulariser(self, counts: list[np.ndarray] | None, total: int,
                     real: int) -> list[np.ndarray | None] | None:
        """mlGeNN's firing-rate regulariser as ``q`` increments per hidden layer.

        ``counts`` are spike counts per neuron over the ``total`` examples of
        the (global) batch; the increments fill this rank's ``real`` rows.
        """
        compiler, graph = self.compiler, self.graph
        if not compiler.regularised or counts is None:
            return None
        out = graph.layers[graph.output]
        # mlGeNN's drive carries 1 / tau_m of the output (the mean, with tau_mem per output
        # neuron, keeps reg_lambda's meaning: docs/training.md); per-timestep losses have
        # avg_var's ratio, tau_m.
        out_tau = float(np.mean(out.tau_m))
        scale = out_tau if graph.per_timestep else {
            "avg_var": out_tau, "avg_var_exp_weight": out_tau, "first_spike_time": 1.0}.get(
            out.readout, out_tau * graph.num_steps)
        terms: list[np.ndarray | None] = []
        for index, (pop, lay) in enumerate(zip(self.populations, graph.layers, strict=True)):
            if lay.kind != "lif" or index == graph.output:
                terms.append(None)
                continue
            upper, lower, nu = compiler.reg_params(pop)
            excess = counts[index].astype(np.float64) - total * nu
            strength = np.where(excess > 0, upper, lower)
            term = np.zeros((self.batch_size, lay.size))
            term[:real] = lay.tau_m * scale * strength * excess / total**2
            terms.append(term)
        return terms

    def _split_validation(self, prepared: dict, y: dict, num_examples: int, split: float,
                          validation_x: dict | None, validation_y: dict | None,
                          metrics: Any) -> dict | None:
        if (validation_x is None) != (validation_y is None):
            raise ConfigurationError(
                "train validation_x and validation_y must be given together; got only one. "
                "Pass both, or use validation_split."
            )
        real(split, "train", "validation_split", "a number in [0, 1)",
             "Pass the fraction of the data to hold out, e.g. validation_split=0.1.",
             lambda v: 0.0 <= v < 1.0)
        if validation_x is not None:
            v_prepared, v_num = _data.prepare_inputs(self.network, validation_x)
            v_y, v_indices, held = validation_y, np.arange(v_num), 0
        elif split > 0.0:
            held = int(num_examples * split)
            if held == 0:
                raise ConfigurationError(
                    f"train validation_split must hold out at least one example; got "
                    f"validation_split={split!r} of {num_examples} examples, which holds out "
                    f"none. Pass validation_split >= {1 / num_examples:.3g}, or 0 for no "
                    f"validation."
                )
            v_prepared, v_y = prepared, y
            v_indices = np.arange(num_examples - held, num_examples)
            v_num = num_examples
        else:
            return None
        v_metrics = _data.make_metrics(metrics, _data.check_targets_dict(self.network, v_y))
        v_targets = _data.prepare_targets(self.network, v_y, v_num, v_metrics)
        # Validation callbacks count the held-out examples from 0 (mlGeNN's way).
        offset = int(v_indices[0]) if held else 0
        return {"prepared": v_prepared, "targets": v_targets, "metrics": v_metrics,
                "indices": v_indices, "split": held, "offset": offset}

    def _validate(self, epoch: int, validation: dict, vcbl: CallbackList) -> None:
        """One validation pass after ``epoch``, framed by the validation callbacks'
        epoch hooks (mlGeNN's order); the metrics are reset first, so each pass's
        ``on_epoch_end`` sees that pass's metrics alone."""
        metric_objs = validation["metrics"]
        for metric in metric_objs.values():
            metric.reset()
        vcbl.on_epoch_begin(epoch)
        self.infer_batches(vcbl, validation["prepared"], validation["batches"], metric_objs,
                           validation["targets"], index_offset=validation["offset"])
        vcbl.on_epoch_end(epoch, metric_objs)


def _pad(array: np.ndarray, batch: int) -> np.ndarray:
    padded = np.zeros((batch, *array.shape[1:]))
    padded[: len(array)] = array
    return padded
