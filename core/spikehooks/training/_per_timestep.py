"""Per-timestep losses: a loss on the output voltage at every step (``per_timestep_loss``).

Two losses, as mlGeNN 2.4.0's EventProp compiler defines them by the drive
it gives the output's adjoint at each backward step (``B`` examples, ``N``
steps, ``K`` outputs, ``V_n`` the output's voltage after the update of step
``n``):

- **mean square error against a target trace** (``var`` readout; mlGeNN
  always treats ``mean_square_error`` this way, with or without
  ``per_timestep_loss``)::

      L = 1/(B N) sum_b sum_n 1/2 sum_k (V_bnk - Y_bnk)^2

- **cross-entropy at every step** (``avg_var``/``sum_var`` readouts with
  ``per_timestep_loss=True``; the readout itself only feeds the metrics)::

      L = 1/(B N) sum_b sum_n -log softmax(V_bn)[y_b]

The source of the discrete adjoint at step ``n`` is ``dL/dV_n``, i.e.
``(V_n - Y_n) / (B N)`` or ``(softmax(V_n) - onehot(y)) / (B N)``.
mlGeNN's drive ``(Y - V) / (tau_m B T)`` (resp. ``(onehot - softmax) /
(tau_m B T)``) is this gradient divided by ``tau_m``, the same ratio as for
``avg_var`` (see docs/training.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..losses import Loss, MeanSquareError, SparseCategoricalCrossentropy
from ._backward import OutputDrive
from ._forward import ForwardResult

#: Readouts a per-timestep cross-entropy may have (their V is what the loss sees each step).
CROSS_ENTROPY_READOUTS = ("avg_var", "sum_var")


def is_per_timestep(loss: Loss, readout: str, per_timestep_loss: bool, owner: str) -> bool:
    """Decide whether the output's loss is per-timestep; refuse combinations with no meaning.

    Parameters
    ----------
    loss : Loss
        The output's loss.
    readout : str
        The output's readout name (``"var"``, ``"avg_var"``, ...).
    per_timestep_loss : bool
        The compiler's flag.
    owner : str
        Names the output population in messages.

    Returns
    -------
    bool
        True for a per-timestep loss: mean square error with the ``var``
        readout (always, as in mlGeNN), or cross-entropy on ``avg_var`` or
        ``sum_var`` with ``per_timestep_loss=True``.

    Raises
    ------
    ConfigurationError
        ``var`` with a loss other than mean square error; a per-timestep
        loss on a readout that has no voltage trace to compare.
    """
    mse = isinstance(loss, MeanSquareError)
    sce = isinstance(loss, SparseCategoricalCrossentropy)
    if readout == "var":
        if not mse:
            raise ConfigurationError(
                f"EventPropCompiler losses of {owner} must be 'mean_square_error' for its 'var' "
                f"readout; got {type(loss).__name__}. The var readout compares V at every step "
                f"with a target trace of shape (examples, example_timesteps, neurons); for "
                f"classification use readout='avg_var' or 'sum_var'."
            )
        return True
    if not per_timestep_loss:
        return False
    if mse:
        raise ConfigurationError(
            f"EventPropCompiler per_timestep_loss=True with mean_square_error needs the 'var' "
            f"readout on {owner} (V at every step against a target trace); got readout "
            f"{readout!r}, which has no per-step trace to compare. Use "
            f"LeakyIntegrate(readout='var'), or per_timestep_loss=False for a loss on the "
            f"{readout} value."
        )
    if sce and readout in CROSS_ENTROPY_READOUTS:
        return True
    raise ConfigurationError(
        f"EventPropCompiler per_timestep_loss=True needs a voltage trace at every step: "
        f"'mean_square_error' with the 'var' readout, or 'sparse_categorical_crossentropy' "
        f"with 'avg_var' or 'sum_var'; got {type(loss).__name__} with readout {readout!r} on "
        f"{owner}, which has no per-step trace for this loss. Change the readout, or pass "
        f"per_timestep_loss=False."
    )


def check_trace_targets(y: Any, num_steps: int, num_outputs: int, name: str) -> np.ndarray:
    """Validate the target traces of a per-timestep mean square error, once before training.

    Parameters
    ----------
    y : array-like, shape (examples, num_steps, num_outputs)
        One target voltage per example, step and output neuron (mlGeNN's layout).

    Returns
    -------
    numpy.ndarray of float64, shape (examples, num_steps, num_outputs)

    Raises
    ------
    ConfigurationError
        Not real, wrong shape, or not finite.
    """
    raw = np.asarray(y)
    if raw.dtype.kind not in "biuf":
        raise ConfigurationError(
            f"MeanSquareError targets for {name} must be real numbers; got dtype {raw.dtype}. "
            f"Pass target traces as floats."
        )
    if raw.ndim != 3 or raw.shape[1:] != (num_steps, num_outputs):
        raise ConfigurationError(
            f"MeanSquareError targets for {name} must have shape (examples, {num_steps}, "
            f"{num_outputs}) (a target V for every example_timestep and output neuron); got "
            f"{raw.shape}. Give one trace per example, as mlGeNN's per-timestep loss does."
        )
    targets = raw.astype(np.float64)
    if not np.all(np.isfinite(targets)):
        raise ConfigurationError(
            f"MeanSquareError targets for {name} must be finite; got NaN or inf. Clean the "
            f"target traces first."
        )
    return targets


def per_timestep_drive(fwd: ForwardResult, y_true: np.ndarray,
                       loss: Loss) -> tuple[float, OutputDrive]:
    """The per-timestep loss of a batch and its per-step drive of the adjoint system.

    Parameters
    ----------
    fwd : ForwardResult
        With ``output_v`` of shape (num_steps, batch, num_outputs) (only the
        real examples).
    y_true : numpy.ndarray
        Target traces, shape (batch, num_steps, num_outputs) (mean square
        error), or integer labels, shape (batch,) (cross-entropy).
    loss : Loss

    Returns
    -------
    loss_value : float
        Batch mean (of the time mean).
    drive : OutputDrive
        ``step_grad`` of float64, shape (num_steps, batch, num_outputs), the
        loss's ``dL/dV_n``; the other fields zero.
    """
    assert fwd.output_v is not None  # kept by the forward pass when graph.per_timestep
    v = fwd.output_v.astype(np.float64)
    num_steps, batch, _ = v.shape
    scale = 1.0 / max(batch * num_steps, 1)
    if isinstance(loss, MeanSquareError):
        diff = v - np.transpose(np.asarray(y_true, dtype=np.float64), (1, 0, 2))
        value = 0.5 * float(np.sum(diff * diff)) * scale
        grad = diff * scale
    else:
        labels = np.asarray(y_true, dtype=np.int64)
        shifted = v - v.max(axis=2, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        rows = np.arange(batch)
        value = -float(log_softmax[:, rows, labels].sum()) * scale
        grad = np.exp(log_softmax)
        grad[:, rows, labels] -= 1.0
        grad *= scale
    zeros = np.zeros((batch, v.shape[2]))
    return value, OutputDrive(zeros, zeros, zeros, step_grad=grad)


__all__ = ["CROSS_ENTROPY_READOUTS", "check_trace_targets", "is_per_timestep",
           "per_timestep_drive"]
