"""From a loss on the output readout to the source terms of the backward pass."""

from __future__ import annotations

import numpy as np

from ..losses import Loss, SparseCategoricalCrossentropy
from ._backward import OutputDrive
from ._forward import ForwardResult


def output_drive(
    readout_kind: str,
    fwd: ForwardResult,
    y_true: np.ndarray,
    loss: Loss,
    *,
    num_steps: int,
    dt: float,
    softmax_temperature: float = 1.0,
    ttfs_alpha: float = 0.0,
) -> tuple[float, OutputDrive]:
    """Evaluate ``loss`` on a batch's readout and return its value and backward drive.

    Parameters
    ----------
    readout_kind : str
        The output layer's readout.
    fwd : ForwardResult
        The batch's forward pass (only real examples: padding rows removed
        by the caller, or labelled so that they contribute nothing).
    y_true : numpy.ndarray, shape (batch,) or (batch, num_outputs)
        Labels or targets of the batch.
    loss : Loss
    num_steps : int
        Timesteps per example (``N``); ``T = N dt`` ms.
    dt : float
        Timestep in ms.
    softmax_temperature : float
        First-spike-time outputs with cross-entropy: the softmax is taken
        over ``-t / softmax_temperature``.
    ttfs_alpha : float
        First-spike-time outputs with cross-entropy: weight of the penalty
        ``ttfs_alpha / (1.01 T - t_y)`` on a late correct spike.

    Returns
    -------
    loss_value : float
        Batch mean.
    drive : OutputDrive
    """
    readout = fwd.readout.astype(np.float64)
    zeros = np.zeros_like(readout)
    if readout_kind != "first_spike_time":
        value, grad = loss.value_and_grad(readout, y_true)
        return value, OutputDrive(grad, zeros, zeros)

    total = num_steps * dt
    fired = fwd.event_step >= 0
    batch = max(len(readout), 1)
    kick = zeros.copy()
    at_end = np.where(fired, readout, -total)
    if isinstance(loss, SparseCategoricalCrossentropy):
        # A silent output keeps mlGeNN's float32-min readout, so its softmax
        # share is exactly 0; the reported value counts it as firing at T.
        _, grad_x = loss.value_and_grad(readout / softmax_temperature, y_true)
        value = loss.value_and_grad(at_end / softmax_temperature, y_true)[0]
        grad_t = -grad_x / softmax_temperature
        if ttfs_alpha:
            rows = np.arange(len(readout))
            labels = np.asarray(y_true, dtype=np.int64)
            t_y = -readout[rows, labels]
            hit = fired[rows, labels]
            late = np.where(hit, 1.01 * total - t_y, 0.01 * total)
            value += float(np.sum(ttfs_alpha / late) / batch)
            grad_t[rows[hit], labels[hit]] += ttfs_alpha / late[hit] ** 2 / batch
            # mlGeNN's "phantom spike": a silent correct output is pushed as if it fired at T.
            kick[rows[~hit], labels[~hit]] = ttfs_alpha / late[~hit] ** 2 / batch
    else:
        # Other losses (relative_mean_square_error...) see a silent output as
        # firing at the end of the trial (mlGeNN: at t = 0).
        value, grad_x = loss.value_and_grad(at_end, y_true)
        grad_t = -grad_x
    grad_t = np.where(fired, grad_t, 0.0)
    return value, OutputDrive(zeros, grad_t, kick)
