"""Metrics computed from readouts at the end of each batch.

A metric accumulates over the batches of one ``evaluate`` (or epoch) and
exposes ``result``.  It validates its own targets, once, before the run.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from ._mlgenn_missing import module_getattr as _mlgenn_getattr
from .errors import ConfigurationError


class Metric:
    """Base class of metrics.

    Attributes
    ----------
    total : int
        Examples seen since the last :meth:`reset`.
    """

    total: int = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("update")
        if update is None or getattr(update, "_communicator_given", False):
            return
        params = inspect.signature(update).parameters
        third = list(params.values())[3:4]
        if third and third[0].name == "communicator" and third[0].default is third[0].empty:
            # An mlGeNN metric requires update(y_true, y_pred, communicator).  spikehooks
            # scores every rank's examples in one update (gathered first), so the
            # metric is given None, as mlGeNN does without a communicator.
            @functools.wraps(update)
            def given(self: Any, y_true: Any, y_pred: Any, communicator: Any = None) -> Any:
                return update(self, y_true, y_pred, communicator)

            given._communicator_given = True  # type: ignore[attr-defined]
            cls.update = given  # type: ignore[method-assign]

    def reset(self) -> None:
        """Forget everything accumulated."""
        raise NotImplementedError

    def update(self, y_true: np.ndarray, y_pred: np.ndarray,
               communicator: Any = None) -> None:
        """Accumulate one batch of real examples.

        Parameters
        ----------
        y_true : numpy.ndarray, shape (n,) or (n, *output_shape)
            Targets of the batch's real examples.
        y_pred : numpy.ndarray of float32, shape (n, *output_shape)
            Readouts of the same examples.
        communicator : Communicator, optional
            As in mlGeNN: the batch's sums are added over its ranks (each
            rank passes its own examples).  spikehooks' own loops gather
            every rank's examples first and pass None.
        """
        raise NotImplementedError

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], owner: str) -> np.ndarray:
        """Validate and normalise the targets of a whole data set.

        Returns the targets as an array; raises :class:`ConfigurationError`
        naming ``owner`` when they cannot be compared with the readout.  The
        base class returns them as an array unchecked (their count is
        checked before), so a metric written for mlGeNN, which has no such
        method, runs as it is.
        """
        return np.asarray(y)

    @property
    def result(self) -> float:
        """The metric's value over everything accumulated."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(result={self.result!r}, total={self.total})"


class SparseCategoricalAccuracy(Metric):
    """Fraction of examples whose readout argmax equals the integer label.

    Attributes
    ----------
    correct : int
        Correctly classified examples so far.
    total : int
        Examples seen so far.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def check_targets(self, y: Any, output_shape: tuple[int, ...], owner: str) -> np.ndarray:
        labels = np.asarray(y)
        if labels.ndim != 1 or not (
            np.issubdtype(labels.dtype, np.integer)
            or (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)))
        ):
            raise ConfigurationError(
                f"{owner} labels must be a 1-D sequence of integer class indices for "
                f"sparse_categorical_accuracy; got shape {labels.shape}, dtype {labels.dtype}. "
                f"Pass one int label per example (not one-hot)."
            )
        num_classes = int(np.prod(output_shape))
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ConfigurationError(
                f"{owner} labels must be in [0, {num_classes - 1}] (the output has {num_classes} "
                f"neurons); got values in [{labels.min()}, {labels.max()}]. Check the labels or "
                f"the output population's size."
            )
        return labels.astype(np.int64)

    def update(self, y_true: np.ndarray, y_pred: np.ndarray,
               communicator: Any = None) -> None:
        predicted = np.argmax(y_pred.reshape(len(y_pred), -1), axis=1)
        correct, total = int(np.sum(predicted == y_true)), len(y_true)
        if communicator is not None:
            correct, total = (int(communicator.reduce_sum(v)) for v in (correct, total))
        self.correct += correct
        self.total += total

    @property
    def result(self) -> float:
        """``correct / total`` (0.0 before any example)."""
        return self.correct / self.total if self.total else 0.0


class MeanSquareError(Metric):
    """Mean over examples of the mean squared difference between readout and target.

    Attributes
    ----------
    sum_squared_error : float
        Sum over examples of each example's mean squared error.
    total : int
        Examples seen so far.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sum_squared_error = 0.0
        self.total = 0

    def check_targets(self, y: Any, output_shape: tuple[int, ...], owner: str) -> np.ndarray:
        raw = np.asarray(y)
        if raw.dtype.kind not in "biuf":
            raise ConfigurationError(
                f"{owner} targets must be real numbers for mean_square_error; got dtype "
                f"{raw.dtype}. Convert them with numpy.asarray(..., dtype=float) (take the "
                f"real part or the magnitude of complex targets yourself)."
            )
        targets = raw.astype(np.float64)
        if targets.shape[1:] != output_shape:
            dims = ", ".join(map(str, output_shape))
            raise ConfigurationError(
                f"{owner} targets must have shape (n_examples, {dims}) "
                f"for mean_square_error; got {targets.shape}. Pass one target per output neuron."
            )
        if not np.all(np.isfinite(targets)):
            raise ConfigurationError(
                f"{owner} targets must be finite; got NaN or inf. Clean the targets first."
            )
        return targets

    def update(self, y_true: np.ndarray, y_pred: np.ndarray,
               communicator: Any = None) -> None:
        n = len(y_true)
        diff = y_pred.reshape(n, -1).astype(np.float64) - y_true.reshape(n, -1)
        error = float(np.sum(np.mean(diff * diff, axis=1)))
        if communicator is not None:
            error, n = float(communicator.reduce_sum(error)), int(communicator.reduce_sum(n))
        self.sum_squared_error += error
        self.total += n

    @property
    def result(self) -> float:
        """``sum_squared_error / total`` (0.0 before any example)."""
        return self.sum_squared_error / self.total if self.total else 0.0


#: mlGeNN's type of a ``metrics=`` entry: a Metric or its name.
MetricType = Metric | str
#: mlGeNN's type of ``metrics=``: one metric (or name) for every output, or a dict.
MetricsType = dict | MetricType


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = ["MeanSquareError", "Metric", "MetricType", "MetricsType", "SparseCategoricalAccuracy"]
