"""Argument checks and validation of :meth:`CompiledTrainingNetwork.train`.

A mixin of :class:`~spikehooks.compilers.CompiledTrainingNetwork`: everything
``train`` checks before its first batch (the data, targets, metrics and the
validation set), restoring a checkpoint, and running a validation pass.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..checks import int_at_least, real
from ..data.datasets import split_point
from ..errors import ConfigurationError
from ..training._per_timestep import check_trace_targets
from . import _data


class _DefaultMetric(str):
    """mlGeNN's default metric name, told apart from the same name passed on purpose."""


#: ``train``'s default metric: a target trace (per-timestep loss) replaces it.
DEFAULT_METRIC = _DefaultMetric("sparse_categorical_accuracy")


class TrainingSetup:
    """``train``'s checks, checkpoint restore and validation (mixin; needs the network's
    ``network``, ``graph``, ``output``, ``loss`` and ``infer_batches``)."""

    network: Any
    graph: Any
    output: Any
    loss: Any
    infer_batches: Any

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
        if metrics is DEFAULT_METRIC:
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
            # The last examples from mlGeNN's split point are held out.
            held = num_examples - split_point(num_examples, split)
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
