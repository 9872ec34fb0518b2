"""What :class:`~spikehooks.compilers.EPropCompiler` builds: the training loop, e-prop's updates.

Epochs, batches, callbacks, validation, checkpoints and data parallelism are
:class:`CompiledTrainingNetwork`'s; only the per-batch learning differs: an
:class:`~spikehooks.training._eprop.EPropRecorder` keeps the factors of the
eligibility traces while the batch runs, and at its end the summed
``DeltaG`` (and the output biases' ``DeltaBias``) go to the optimiser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..losses import MeanSquareError as MeanSquareErrorLoss
from ..losses import SparseCategoricalCrossentropy
from ..metrics import MeanSquareError as MeanSquareErrorMetric
from ..training import EPropRecorder
from ..training._deep_r import DeepR
from ._kernel_times import timed
from ._training_state import check_training_state
from .compiled_network import CompiledNetwork
from .compiled_training_network import _DEFAULT_CALLBACKS, CompiledTrainingNetwork
from .deep_r import deep_r_callbacks

_DEFAULT = "sparse_categorical_accuracy"


class SeriesMeanSquareError(MeanSquareErrorMetric):
    """Mean square error of the output's ``V`` against a target per step.

    Targets have shape ``(examples, example_timesteps, *output_shape)``
    (mlGeNN's e-prop regression targets); the prediction is the recorded
    ``V`` of every step, so the result is the mean over examples of the
    mean over steps and neurons of ``(V - y*)^2``.
    """

    def __init__(self, num_steps: int) -> None:
        super().__init__()
        self.num_steps = int(num_steps)

    def check_targets(self, y: Any, output_shape: tuple[int, ...], owner: str) -> np.ndarray:
        raw = np.asarray(y)
        expected = (self.num_steps, *output_shape)
        if raw.dtype.kind not in "biuf" or raw.shape[1:] != expected:
            raise ConfigurationError(
                f"{owner} targets must be real numbers of shape (n_examples, "
                f"{', '.join(map(str, expected))}) for e-prop's mean_square_error (one target "
                f"per step and output neuron); got dtype {raw.dtype}, shape {raw.shape}."
            )
        return raw.astype(np.float64)


class PerStepMeanSquareError(MeanSquareErrorLoss):
    """Mean square error with e-prop's targets: one per step, ``(n, T, *output_shape)``.

    ``0.5 * sum_t sum_k (V - y*)^2`` per example is what e-prop descends;
    only the check of the targets differs from :class:`MeanSquareError`.
    """

    def __init__(self, num_steps: int) -> None:
        self.num_steps = int(num_steps)

    def check_labels(self, y_true: np.ndarray, num_outputs: int, name: str) -> None:
        y = np.asarray(y_true)
        if y.dtype.kind not in "biuf" or y.ndim != 3 or y.shape[1:] != (self.num_steps,
                                                                         num_outputs):
            raise ConfigurationError(
                f"e-prop mean_square_error targets for {name} must be real numbers of shape "
                f"(n_examples, {self.num_steps}, {num_outputs}) (one target per step and "
                f"output neuron); got dtype {y.dtype}, shape {y.shape}."
            )


class _BatchStart:
    """Adapter: the training loop calls ``begin()``; e-prop needs the batch's targets."""

    def __init__(self, owner: CompiledEPropNetwork):
        self.owner = owner

    def begin(self) -> None:
        owner = self.owner
        indices = owner._batch_indices
        owner.eprop.begin(len(indices), owner._labels[indices], owner._favg_rows(len(indices)))


class CompiledEPropNetwork(CompiledTrainingNetwork):
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
        self.output = layout.output
        self.populations = list(network.populations)
        self.categorical = isinstance(loss, SparseCategoricalCrossentropy)
        self.loss = loss if self.categorical else PerStepMeanSquareError(
            compiler.example_timesteps)
        self._conns = list(network.connections)
        self.bias_key = f"{self.output.name}/bias" if compiler.train_output_bias else None
        keys = [f"{c.name}/weight" for c in self._conns]
        if self.bias_key is not None:
            keys.append(self.bias_key)
            # The live bias array, added every step even while it is still 0.
            self._bias_array = backend.live_bias(self.output)
        self.optimisers = [(optimiser, keys)]
        self.stop_training = False
        self.clamped_jumps = 0
        self.last_gradients: dict[str, np.ndarray] = {}
        self.last_bias_gradient: np.ndarray | None = None
        self.epoch_loss: float | None = None
        self.validation_metrics: dict | None = None
        self._rng = np.random.default_rng(compiler.rng_seed)
        self._next_epoch = 0
        # FAvg has a row per example of the global batch, on every rank (docs/scale-out.md).
        self.eprop = EPropRecorder(layout, backend, compiler.example_timesteps, compiler.dt,
                                   self.categorical, compiler.tau_reg, compiler.c_reg,
                                   compiler.f_target, num_rows=compiler.full_batch_size)
        self._shard = False
        self._recorder = _BatchStart(self)
        self._observing = False
        self._delays: Any = None  # e-prop learns no delays
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
        """As :meth:`CompiledTrainingNetwork.state_dict`, plus the output biases and ``FAvg``.

        ``learnable`` holds ``"<output>/bias"`` (float32) with
        ``train_output_bias``; ``eprop_favg`` maps hidden population names
        to their filtered rates (float64 ``(batch_size, n)``).
        """
        state = super().state_dict()
        state["learnable"] = self.learnable_state()
        state["eprop_favg"] = {p.name: a.copy() for p, a in self.eprop.favg.items()}
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
        if self.deep_r is not None:
            self.deep_r.check_state(state.get("deep_r"))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (all checked before anything changes)."""
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

    def start_batch(self, indices: np.ndarray, prepared: dict, run: Any = None,
                    index_offset: int = 0) -> None:
        self._batch_indices = np.asarray(indices)
        super().start_batch(indices, prepared, run, index_offset)

    def _observe(self, t: int) -> None:
        if self._observing:
            self.eprop(t)

    def _favg_rows(self, real: int) -> np.ndarray:
        """The rows of the global batch's ``FAvg`` that this rank's ``real`` examples run on.

        One process: rows ``0 .. real - 1``.  Data-parallel with ``shard=True``:
        where this rank's share sits in the global batch (the rows one process
        would use); mlGeNN's way: rank ``r`` owns rows ``r * batch_size ..``,
        as each of mlGeNN's ranks owns its own batch rows.
        """
        par = self.parallel
        if par is None:
            return np.arange(real)
        if self._shard:
            sizes = par.comm.allgather(int(real))
            return sum(sizes[:par.rank]) + np.arange(real)
        return par.rank * self.batch_size + np.arange(real)

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
