"""The compiled training network: mlGeNN's ``train`` loop with EventProp updates.

The epoch and batch loop live here; ``train``'s argument checks and
validation in :mod:`._training_setup`, each batch's learning step in
:mod:`._learn_step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..training import FiniteGuard, make_forward_recorder
from ._learn_step import LearnStep
from ._training_setup import DEFAULT_METRIC, TrainingSetup
from ._training_state import check_training_state
from .compiled_network import CompiledNetwork

_DEFAULT_CALLBACKS = ("batch_progress_bar",)
#: mlGeNN's default metric (kept under its old name for subclasses).
_DEFAULT_METRIC = DEFAULT_METRIC


class CompiledTrainingNetwork(TrainingSetup, LearnStep, CompiledNetwork):
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
                                   [c.name for c in self._conns], self.output.name,
                                   compiled=getattr(self.backend, "name", None) == "compiled")
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
