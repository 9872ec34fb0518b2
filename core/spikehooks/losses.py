"""Loss functions for training (EventProp).

A loss turns the readout of an output population into a scalar and its
gradient.  All losses here are **batch means**: the gradient of each example
carries ``1 / num_examples``, so summing per-example weight gradients over a
batch gives the gradient of the mean loss.

Losses work in float64 (the backward pass does); readouts arrive as float32
from the forward pass and are promoted.
"""

from __future__ import annotations

import numpy as np

from ._mlgenn_missing import module_getattr as _mlgenn_getattr
from .errors import ConfigurationError


class Loss:
    """Base class: ``value_and_grad(y_pred, y_true) -> (loss, dL/dy_pred)``.

    Attributes
    ----------
    ground_truth : {"label", "vector"}
        What ``y_true`` holds per example: an integer class label, or a
        vector of the readout's shape.
    """

    ground_truth = "label"

    def value_and_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the batch-mean loss and its gradient with respect to ``y_pred``.

        Parameters
        ----------
        y_pred : numpy.ndarray of float, shape (batch, num_outputs)
            The readout of the output population.
        y_true : numpy.ndarray, shape (batch,) of int or (batch, num_outputs) of float
            Labels (``ground_truth == "label"``) or targets.

        Returns
        -------
        loss : float
        grad : numpy.ndarray of float64, shape (batch, num_outputs)
        """
        raise NotImplementedError

    def check_labels(self, y_true: np.ndarray, num_outputs: int, name: str) -> None:
        """Validate training targets once, before a run.

        Raises
        ------
        ConfigurationError
            Labels out of ``range(num_outputs)`` or targets of the wrong shape.
        """
        y = np.asarray(y_true)
        if self.ground_truth == "label":
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ConfigurationError(
                    f"{type(self).__name__} labels for {name} must be a 1-D integer array; "
                    f"got dtype {y.dtype} and shape {y.shape}. Pass class indices."
                )
            if len(y) and (y.min() < 0 or y.max() >= num_outputs):
                raise ConfigurationError(
                    f"{type(self).__name__} labels for {name} must lie in [0, {num_outputs}); "
                    f"got values in [{y.min()}, {y.max()}]. Check the label encoding."
                )
        elif y.dtype.kind not in "biuf":
            raise ConfigurationError(
                f"{type(self).__name__} targets for {name} must be real numbers; got dtype "
                f"{y.dtype}. Convert them with numpy.asarray(..., dtype=float)."
            )
        elif y.ndim != 2 or y.shape[1] != num_outputs:
            raise ConfigurationError(
                f"{type(self).__name__} targets for {name} must have shape "
                f"(examples, {num_outputs}); got {y.shape}. Give one target per output neuron."
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of the softmax of the readout against integer labels.

    ``L = -(1/B) sum_b log softmax(y_pred_b)[y_b]``, softmax stabilised by
    subtracting the maximum.
    """

    def value_and_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.asarray(y_pred, dtype=np.float64)
        y = np.asarray(y_true, dtype=np.int64)
        shifted = x - x.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_softmax = shifted - log_norm
        rows = np.arange(len(y))
        loss = -float(log_softmax[rows, y].mean()) if len(y) else 0.0
        grad = np.exp(log_softmax)
        grad[rows, y] -= 1.0
        return loss, grad / max(len(y), 1)


class MeanSquareError(Loss):
    """Mean squared error between readout and target vectors.

    ``L = (1/(B K)) sum_b sum_k (y_pred - y_true)^2`` (Keras' convention:
    mean over outputs and examples).
    """

    ground_truth = "vector"

    def value_and_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
        diff = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
        size = max(diff.size, 1)
        return float((diff**2).sum() / size), 2.0 * diff / size


class RelativeMeanSquareError(Loss):
    """Squared distance of every wrong output's spike time from the correct one's plus ``delta``.

    For time-to-first-spike outputs, with ``t = -y_pred`` (first-spike times
    in ms, as the ``first_spike_time`` readout reports ``-t``)::

        L = (1/B) sum_b 1/2 sum_{k != y_b} (t_{b,y_b} - t_{b,k} + delta)^2

    It pulls every wrong output to fire ``delta`` ms after the correct one.

    Parameters
    ----------
    delta : float
        Desired lead of the correct output, in ms.
    """

    def __init__(self, delta: float):
        if not np.isfinite(delta):
            raise ConfigurationError(
                f"RelativeMeanSquareError delta must be a finite number of ms; got {delta!r}."
            )
        self.delta = float(delta)

    def value_and_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
        t = -np.asarray(y_pred, dtype=np.float64)
        y = np.asarray(y_true, dtype=np.int64)
        rows = np.arange(len(y))
        batch = max(len(y), 1)
        diff = t[rows, y][:, None] - t + self.delta  # (B, K): t_y - t_k + delta
        diff[rows, y] = 0.0
        loss = float(0.5 * (diff**2).sum() / batch)
        # dL/dt_k = -diff_k for k != y; dL/dt_y = sum_k diff_k.  y_pred = -t.
        grad_t = -diff
        grad_t[rows, y] = diff.sum(axis=1)
        return loss, -grad_t / batch

    def __repr__(self) -> str:
        return f"RelativeMeanSquareError(delta={self.delta!r})"


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = ["Loss", "MeanSquareError", "RelativeMeanSquareError", "SparseCategoricalCrossentropy"]
