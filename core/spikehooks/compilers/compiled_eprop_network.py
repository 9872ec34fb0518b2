"""What :class:`~spikehooks.compilers.EPropCompiler` builds: the training loop, e-prop's updates.

Epochs, batches, callbacks, validation, checkpoints and data parallelism are
:class:`CompiledTrainingNetwork`'s; only the per-batch learning differs: an
:class:`~spikehooks.training._eprop.EPropRecorder` keeps the factors of the
eligibility traces while the batch runs, and at its end the summed
``DeltaG`` (and the output biases' ``DeltaBias``) go to the optimiser.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..losses import SparseCategoricalCrossentropy
from ..training import EPropRecorder
from ..training._deep_r import DeepR
from ._eprop_batches import CarriedBatches
from ._eprop_losses import PerStepMeanSquareError, SeriesMeanSquareError
from ._kernel_times import timed
from ._training_state import check_training_state
from .compiled_network import CompiledNetwork
from .compiled_training_network import _DEFAULT_CALLBACKS
from .deep_r import deep_r_callbacks

_DEFAULT = "sparse_categorical_accuracy"
log = logging.getLogger("spikehooks.training")


class _BatchStart:
    """Adapter: the training loop calls ``begin()``; e-prop needs the batch's targets."""

    def __init__(self, owner: CompiledEPropNetwork):
        self.owner = owner

    @property
    def needs_observer(self) -> bool:
        """False on the compiled backend: the factors come from its trace after the batch."""
        return self.owner.eprop.needs_observer

    def begin(self) -> None:
        owner = self.owner
        indices = owner._batch_indices
        owner.eprop.begin(len(indices), owner._labels[indices], owner._favg_rows(len(indices)))


class CompiledEPropNetwork(CarriedBatches):
    """A network compiled for e-prop training; use it inside ``with compiled_net:``.

    Offers everything :class:`CompiledTrainingNetwork` does (``train``,
    ``evaluate``, ``state_dict``...).  With ``train_output_bias`` the output
    biases are learnable state ``"<output name>/bias"`` beside the weights:
    in ``state_dict()["learnable"]``, in checkpoints and in the optimiser.

    Attributes
    ----------
    eprop : EPropRecorder
        The per-batch factors of the last batch (and ``FAvg``, which runs on).
    last_bias_gradient : numpy.ndarray or None
        The output biases' ``DeltaBias`` of the last batch.
    deep_r : DeepR or None
        Deep R rewiring of ``deep_r_conns`` (None without); its state is in
        ``state_dict()["deep_r"]``.
    """

    def __init__(self, network: Any, backend: Any, compiler: Any, layout: Any, loss: Any,
                 optimiser: Any, deep_r: tuple[list[Any], dict[Any, Any]] | None = None):
        CompiledNetwork.__init__(self, network, backend, compiler, compiler.example_timesteps)
        self.layout = layout
        self.categorical = isinstance(loss, SparseCategoricalCrossentropy)
        self.bias_key = f"{layout.output.name}/bias" if compiler.train_output_bias else None
        keys = [f"{c.name}/weight" for c in network.connections]
        if self.bias_key is not None:
            keys.append(self.bias_key)
            # The live bias array, added every step even while it is still 0.
            self._bias_array = backend.live_bias(layout.output)
        self._setup_training(compiler, list(network.populations), layout.output,
                             loss if self.categorical else PerStepMeanSquareError(
                                 compiler.example_timesteps), optimiser, keys)
        self.last_bias_gradient: np.ndarray | None = None
        # FAvg has a row per example of the global batch, on every rank (docs/scale-out.md).
        self.eprop = EPropRecorder(layout, backend, compiler.example_timesteps, compiler.dt,
                                   self.categorical, compiler.tau_reg, compiler.c_reg,
                                   compiler.f_target, num_rows=compiler.full_batch_size)
        self._shard = False
        self._recorder = _BatchStart(self)
        self._batch_indices = np.zeros(0, np.int64)
        self._labels = np.zeros(0)
        self.deep_r, self._deep_r_records = None, {}
        if deep_r is not None:
            self.deep_r = DeepR(backend, deep_r[0], compiler.deep_r_l1_strength,
                                compiler.full_batch_size, compiler.rng_seed)
            self._deep_r_records = deep_r[1]

    # ------------------------------------------------------------------ state
    def _bias(self) -> np.ndarray:
        return self._bias_array

    def learnable_state(self) -> dict[str, np.ndarray]:
        """The weights (``backend.get_learnable_state()``) and, if trained, ``"<output>/bias"``.

        What ``compiled_net.save`` and checkpoints write.
        """
        state = self.backend.get_learnable_state()
        if self.bias_key is not None:
            state[self.bias_key] = self._bias().copy()
        return state

    def set_learnable_state(self, state: dict[str, np.ndarray]) -> None:
        """Load what :meth:`learnable_state` returned (checked before anything is set)."""
        learnable = dict(state)
        bias = learnable.pop(self.bias_key, None) if self.bias_key is not None else None
        if bias is not None and np.shape(bias) != self._bias().shape:
            raise ConfigurationError(
                f"learnable state {self.bias_key!r} must have shape {self._bias().shape}; "
                f"got {np.shape(bias)}. Load state saved from the same network."
            )
        self.backend.set_learnable_state(learnable)
        if bias is not None:
            self._bias()[:] = np.asarray(bias, np.float32)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`CompiledTrainingNetwork.state_dict`, plus the output biases and e-prop's state.

        ``learnable`` holds ``"<output>/bias"`` (float32) with
        ``train_output_bias``; ``eprop_favg`` maps hidden population names
        to their filtered rates (float64 ``(batch_size, n)``);
        ``eprop_carry`` (one process only) is the state the last batch left
        to the next: the backend's running state (``V``, ``A``,
        ``RefracTime``, synaptic input, spikes in flight) and e-prop's
        traces, so a resumed run continues bit for bit (``docs/eprop.md``).
        """
        state = super().state_dict()
        state["learnable"] = self.learnable_state()
        state["eprop_favg"] = {p.name: a.copy() for p, a in self.eprop.favg.items()}
        if self.parallel is None:
            state["eprop_carry"] = {"backend": self.backend.get_run_state(),
                                    "traces": self.eprop.carry.state()}
        if self.deep_r is not None:
            state["deep_r"] = self.deep_r.state_dict()
        return state

    def check_state_dict(self, state: dict[str, Any]) -> None:
        """Refuse a training state this network cannot load, changing nothing."""
        check_training_state(state, self.learnable_state(),
                             [opt for opt, _ in self.optimisers], self._rng)
        favg = state.get("eprop_favg")
        if favg is not None:
            want = {p.name: a.shape for p, a in self.eprop.favg.items()}
            got = {k: np.shape(v) for k, v in dict(favg).items()}
            if got != want:
                raise ConfigurationError(
                    f"training state eprop_favg must hold {want}; got {got}. Load state "
                    f"saved from the same network and batch size."
                )
        carry = state.get("eprop_carry")
        if carry is not None and self.parallel is None:
            self.backend.check_run_state(carry["backend"], "training state eprop_carry.backend")
            self.eprop.carry.check(carry["traces"], "training state eprop_carry.traces")
        if self.deep_r is not None:
            self.deep_r.check_state(state.get("deep_r"))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (all checked before anything changes).

        Data-parallel, ``eprop_carry`` is not restored (each rank carries its
        own rows; a checkpoint holds one process's): ranks continue from the
        state they hold, which a warning says when a checkpoint carried one.
        """
        self.check_state_dict(state)
        if self.deep_r is not None:
            # The mask first: loading weights zeroes those of absent synapses.
            self.deep_r.load_state(state["deep_r"])
        self.set_learnable_state(state["learnable"])
        for (opt, _), opt_state in zip(self.optimisers, state["optimisers"], strict=True):
            opt.load_state_dict(opt_state)
        self._rng.bit_generator.state = state["rng"]
        self._next_epoch = int(state["epoch"])
        for pop, array in self.eprop.favg.items():
            if state.get("eprop_favg") is not None:
                array[:] = state["eprop_favg"][pop.name]
        carry = state.get("eprop_carry")
        if carry is None:
            return
        if self.parallel is None:
            self.backend.set_run_state(carry["backend"])
            self.eprop.carry.load(carry["traces"])
        else:
            log.warning("EPropCompiler data-parallel resume: the state carried between batches "
                        "(neuron state, eligibility traces) starts afresh on every rank; the "
                        "weights, optimiser and FAvg are restored")

    # ------------------------------------------------------------- training
    def train(self, x: dict, y: dict, num_epochs: int, start_epoch: int = 0,
              shuffle: bool = True, metrics: Any = None,
              callbacks: Sequence[Any] = _DEFAULT_CALLBACKS,
              validation_callbacks: Sequence[Any] = _DEFAULT_CALLBACKS,
              validation_split: float = 0.0, validation_x: dict | None = None,
              validation_y: dict | None = None, resume_from: Any = None,
              shard: bool = False) -> tuple:
        """Train with e-prop; arguments and results as :meth:`CompiledTrainingNetwork.train`.

        ``metrics`` None (default): ``sparse_categorical_accuracy`` for
        cross-entropy; for mean square error, the error of ``V`` against
        the per-step targets (:class:`SeriesMeanSquareError`).  The training
        metrics are computed on mlGeNN's training readout (``docs/eprop.md``).
        """
        if not self.categorical:
            if metrics is None or metrics == "mean_square_error":
                metrics = {self.output: SeriesMeanSquareError(self.num_timesteps)}
            if validation_split or validation_x is not None:
                raise ConfigurationError(
                    "train validation must be empty for e-prop with mean_square_error; got "
                    "validation data. Evaluate the per-step targets after training instead."
                )
        elif metrics is None:
            metrics = _DEFAULT
        self._shard = bool(shard) if isinstance(shard, (bool, np.bool_)) else False
        if self.deep_r is not None:
            callbacks = deep_r_callbacks(self.deep_r, self._deep_r_records, callbacks)
        return super().train(x, y, num_epochs, start_epoch=start_epoch, shuffle=shuffle,
                             metrics=metrics, callbacks=callbacks,
                             validation_callbacks=validation_callbacks,
                             validation_split=validation_split, validation_x=validation_x,
                             validation_y=validation_y, resume_from=resume_from, shard=shard)

    @property
    def trace_targets(self) -> bool:
        """False: e-prop checks its per-step targets with its own loss and metric."""
        return False

    def _prepare_training(self, x: dict, y: dict, *args: Any) -> tuple:
        prep = super()._prepare_training(x, y, *args)
        self._labels = np.asarray(prep[1], dtype=np.int64 if self.categorical else np.float64)
        return prep

    def _observe(self, t: int) -> None:
        if self._observing:
            self.eprop(t)

    def _favg_rows(self, real: int) -> np.ndarray:
        """The rows of the global batch's ``FAvg`` that this rank's batch rows run on.

        One process: rows ``0 .. batch_size - 1``.  Data-parallel: rank ``r``
        owns rows ``r * batch_size ..``, in both ways of passing data (see
        :meth:`_plan`), so every local row, padding included, has its own.
        """
        par = self.parallel
        rows = np.arange(self.batch_size)
        return rows if par is None else par.rank * self.batch_size + rows

    def _softmax_readout(self) -> np.ndarray:
        """The output readout applied to the previous step's softmax, per example."""
        rec = self.eprop
        real, steps = rec.num_real, rec.num_steps
        onehot = np.zeros((real, rec.error.shape[2]))
        onehot[np.arange(real), rec.targets[:real]] = 1.0
        series = rec.error + onehot   # (steps, real, k): softmax of the previous step
        kind = type(self.output.neuron.readout).__name__
        if kind == "SumVar":
            return series.sum(axis=0)
        if kind == "AvgVar":
            return series.mean(axis=0)
        if kind == "AvgVarExpWeight":
            w = np.exp(-np.arange(steps) / steps) / steps
            return np.tensordot(w, series, axes=1)
        if kind == "MaxVar":
            return series.max(axis=0)
        return series[-1]

    def _learn(self, labels: np.ndarray, targets: dict, metric_objs: dict,
               indices: np.ndarray, epoch: int, batch: int) -> tuple[float, int]:
        """mlGeNN's end of a batch: ``DeltaG``/``DeltaBias`` to the optimiser, then zeroed."""
        optimiser, keys = self.optimisers[0]
        rec = self.eprop
        total = len(indices)
        favg_now = rec.end()
        # Training metrics see mlGeNN's training readout (docs/eprop.md); evaluate()
        # and validation read the backend's readout of V as inference does.
        pred = (self._softmax_readout() if self.categorical
                else np.swapaxes(rec.v_out, 0, 1))
        value = rec.loss()
        if self.parallel is None:
            for pop, metric in metric_objs.items():
                metric.update(targets[pop][indices], pred)
        else:
            value, total = self._exchange(value, pred, favg_now, targets, metric_objs, indices)
        weights = {conn: self.backend.get_weight(conn) for conn in self._conns}
        # kernel_profiling: the gradient sums are mlGeNN's "GradientBatchReduce" phase.
        with timed(self.kernel_times, "backward"):
            grads, bias_grad = rec.gradients(weights)
        if self.parallel is not None:
            # One allreduce of every gradient, in a fixed order (connections, then bias).
            summed = self.parallel.reduce_gradients(
                [grads[conn] for conn in self._conns] + [bias_grad])
            grads = dict(zip(self._conns, summed[:-1], strict=True))
            bias_grad = summed[-1]
        by_key: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for conn in self._conns:
            grad = grads[conn]
            mask = self.backend.get_weight_mask(conn)
            if mask is not None:
                grad = grad * mask
            by_key[f"{conn.name}/weight"] = (weights[conn], grad)
        if self.bias_key is not None:
            by_key[self.bias_key] = (self._bias(), bias_grad)
        if len(self._finite.names) < len(by_key):
            # The guard names arrays by position: the bias comes after the connections.
            self._finite.names.append(f"{self.output.name} (output bias)")
        arrays = [w for w, _ in by_key.values()]
        gradients = [g for _, g in by_key.values()]
        self._finite.before_update(epoch, batch, value, gradients, arrays)
        self.last_gradients = {key: by_key[key][1] for key in keys}
        self.last_bias_gradient = bias_grad if self.bias_key is not None else None
        if self.deep_r is not None:
            self.deep_r.add_l1(self.last_gradients)   # mlGeNN's DeepRL1, before the step
        with np.errstate(over="ignore", invalid="ignore"), timed(self.kernel_times, "update"):
            optimiser.update({key: by_key[key][0] for key in keys}, self.last_gradients)
        self._finite.after_update(epoch, batch, arrays)
        if self.deep_r is not None:
            self.deep_r.rewire(optimiser)   # mlGeNN's DeepR1 and DeepR2, after the step
            for rc in self.deep_r.rewired:
                # Removed and created synapses carry no eligibility into the next batch.
                self.eprop.carry.renew_synapses(rc.connection, rc.renewed)
        return value, total

    def _exchange(self, value: float, pred: np.ndarray, favg_now: dict[Any, np.ndarray],
                  targets: dict, metric_objs: dict, indices: np.ndarray) -> tuple[float, int]:
        """Data-parallel end of a batch's forward part: one allgather of every rank's share.

        Updates the metrics with the global batch, writes every rank's
        ``FAvg`` rows into this rank's copy (so all ranks hold the same
        global ``FAvg``) and takes rank 0's optimiser hyperparameters
        (schedules decide on rank 0).

        Returns
        -------
        value : float
            Mean loss over the global batch.
        total : int
            Examples in the global batch.
        """
        par, rec = self.parallel, self.eprop
        optimiser = self.optimisers[0][0]
        real = len(indices)
        pops = list(metric_objs)
        hidden = list(rec.favg)
        part: dict[str, Any] = {
            "readout": pred, "rows": rec.rows, "loss": np.array([value * real]),
            "rank0": {name: getattr(optimiser, name) for name in optimiser.param_names},
        }
        for i, pop in enumerate(pops):
            part[f"y{i}"] = targets[pop][indices]
        for i, pop in enumerate(hidden):
            part[f"favg{i}"] = favg_now[pop]
        joined, _, sizes = par.exchange(part)
        for name, hyper in joined["rank0"].items():
            setattr(optimiser, name, hyper)
        for i, pop in enumerate(pops):
            metric_objs[pop].update(joined[f"y{i}"], joined["readout"])
        for i, pop in enumerate(hidden):
            rec.favg[pop][joined["rows"]] = joined[f"favg{i}"]
        total = sum(sizes)
        return float(np.sum(joined["loss"]) / max(total, 1)), total


__all__ = ["CompiledEPropNetwork", "PerStepMeanSquareError", "SeriesMeanSquareError"]
