"""Metrics computed from readouts at the end of each batch.

A metric accumulates over the batches of one ``evaluate`` (or epoch) and
exposes ``result``.  It validates its own targets, once, before the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigurationError


class Metric:
    """Base class of metrics.

    Attributes
    ----------
    total : int
        Examples seen since the last :meth:`reset`.
    """

    total: int = 0

    def reset(self) -> None:
        """Forget everything accumulated."""
        raise NotImplementedError

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Accumulate one batch of real examples.

        Parameters
        ----------
        y_true : numpy.ndarray, shape (n,) or (n, *output_shape)
            Targets of the batch's real examples.
        y_pred : numpy.ndarray of float32, shape (n, *output_shape)
            Readouts of the same examples.
        """
        raise NotImplementedError

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], owner: str) -> np.ndarray:
        """Validate and normalise the targets of a whole data set.

        Returns the targets as an array; raises :class:`ConfigurationError`
        naming ``owner`` when they cannot be compared with the readout.
        """
        raise NotImplementedError

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

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        predicted = np.argmax(y_pred.reshape(len(y_pred), -1), axis=1)
        self.correct += int(np.sum(predicted == y_true))
        self.total += len(y_true)

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

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        n = len(y_true)
        diff = y_pred.reshape(n, -1).astype(np.float64) - y_true.reshape(n, -1)
        self.sum_squared_error += float(np.sum(np.mean(diff * diff, axis=1)))
        self.total += n

    @property
    def result(self) -> float:
        """``sum_squared_error / total`` (0.0 before any example)."""
        return self.sum_squared_error / self.total if self.total else 0.0


#: mlGeNN's type of a ``metrics=`` entry: a Metric or its name.
MetricType = Metric | str
#: mlGeNN's type of ``metrics=``: one metric (or name) for every output, or a dict.
MetricsType = dict | MetricType


def __getattr__(name: str) -> Any:
    # mlGeNN names not offered are refused with what to use instead.
    from ._mlgenn_missing import refuse

    return refuse(__name__, name)


__all__ = ["MeanSquareError", "Metric", "MetricType", "MetricsType", "SparseCategoricalAccuracy"]
