"""e-prop's regression loss and metric: targets with one value per step (mlGeNN's shape)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..losses import MeanSquareError as MeanSquareErrorLoss
from ..metrics import MeanSquareError as MeanSquareErrorMetric


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


__all__ = ["PerStepMeanSquareError", "SeriesMeanSquareError"]
