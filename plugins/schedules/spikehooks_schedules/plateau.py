"""Callbacks that watch a metric: :class:`ReduceOnPlateau` and :class:`EarlyStopping`.

Both check their monitor once per epoch, when its metrics are final: at
``on_validation_end`` when train() validates (mlGeNN's order runs the
validation after ``on_epoch_end``), else at ``on_epoch_end``.  A ``val_``
monitor reads the validation metrics the run hands on (``run.validation_metrics``).  See
:mod:`spikehooks.callbacks.monitor` for names.
"""

from __future__ import annotations

from typing import Any

from spikehooks import Callback
from spikehooks.callbacks.monitor import EpochEndWatcher, Monitor, check_validation_available
from spikehooks.checks import int_at_least, positive_real
from spikehooks.errors import ConfigurationError

from ._optimisers import optimisers_with, set_param


def _patience(value: Any, owner: str, minimum: int) -> int:
    return int_at_least(value, owner, "patience", f"Pass e.g. patience={max(minimum, 5)}.",
                        minimum=minimum)


class ReduceOnPlateau(EpochEndWatcher, Callback):
    """Multiply an optimiser parameter by ``factor`` when a metric stops improving.

    After ``patience + 1`` checks in a row without an improvement larger
    than ``min_delta``, ``param <- max(param * factor, min_value)`` on every
    optimiser, and the count starts again.

    Parameters
    ----------
    monitor : str
        Metric name, e.g. ``"accuracy"`` or ``"val_accuracy"``.
    factor : float
        In (0, 1).
    patience : int
        Checks without improvement tolerated before reducing (>= 0).
    min_delta : float
        Smallest change counted as an improvement.
    mode : {"auto", "min", "max"}
        ``"auto"``: ``"max"`` for accuracies, ``"min"`` otherwise.
    min_value : float
        The parameter never goes below this.
    param : str
        Optimiser parameter, default ``"alpha"``.
    per_batch : bool
        Check after every batch (the running training metric; ``patience``
        then counts batches).  Not possible with ``val_`` monitors.
    """

    # Acts on the training loop (epochs, the optimiser): useless anywhere else.
    run_modes = ("train",)


    def __init__(self, monitor: str, factor: float = 0.1, patience: int = 10,
                 min_delta: float = 0.0, mode: str = "auto", min_value: float = 0.0, *,
                 param: str = "alpha", per_batch: bool = False):
        self.monitor = Monitor(monitor, mode, min_delta, "ReduceOnPlateau")
        if not 0.0 < positive_real(factor, "ReduceOnPlateau", "factor",
                                   "Pass a float, e.g. factor=0.5.") < 1.0:
            raise ConfigurationError(
                f"ReduceOnPlateau factor must be in (0, 1); got {factor!r}. Pass e.g. "
                f"factor=0.5 to halve the parameter."
            )
        if per_batch and self.monitor.validation:
            raise ConfigurationError(
                f"ReduceOnPlateau per_batch must be False for a validation monitor; got "
                f"per_batch=True with {monitor!r}. Validation runs once per epoch."
            )
        self.factor = float(factor)
        self.patience = _patience(patience, "ReduceOnPlateau", 0)
        self.min_value = positive_real(min_value, "ReduceOnPlateau", "min_value",
                                       "Pass a float, e.g. min_value=0.0.", allow_zero=True)
        self.param = param
        self.per_batch = per_batch
        self.best: float | None = None
        self.wait = 0
        self._optimisers: list[Any] = []
        self._compiled_network: Any = None
        self._run: Any = None

    def set_params(self, compiled_network: Any = None, metrics: Any = None,
                   validation: bool | None = None, run: Any = None, **kwargs: Any) -> None:
        if metrics is not None:
            self.monitor.find(metrics)
        check_validation_available(self.monitor, validation)
        self._run = run  # its epoch is named if a per-batch reduction is refused
        self._optimisers = optimisers_with(compiled_network, self.param, "ReduceOnPlateau")
        # Reset here, not in on_train_begin: a checkpoint restores state in between.
        self.best, self.wait = None, 0
        self._compiled_network = compiled_network
        if not self.per_batch:
            self.watch_epoch_end(bool(validation))

    def skipped_hooks(self) -> tuple[str, ...]:
        """Per batch: only ``on_batch_end``; per epoch: only the epoch hooks it needs."""
        if self.per_batch:
            return ("on_epoch_end", "on_validation_end")
        return (*super().skipped_hooks(), "on_batch_end")

    def _check(self, metrics: Any, validation_metrics: Any, when: str) -> None:
        value = self.monitor.value(metrics, validation_metrics)
        if self.monitor.improved(value, self.best):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience:
            self.wait = 0
            for optimiser in self._optimisers:
                current = float(getattr(optimiser, self.param))
                set_param(optimiser, self.param, max(current * self.factor, self.min_value),
                          type(self).__name__, when)

    def epoch_complete(self, epoch: int, metrics: Any, validation_metrics: Any) -> None:
        """Check the monitor once the epoch (and its validation) has finished."""
        self._check(metrics, validation_metrics, f"the end of epoch {epoch}")

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        """With ``per_batch=True``: check the monitor after every batch."""
        # per_batch is refused for val_ monitors: no validation metrics mid-epoch.
        epoch = getattr(self._run, "epoch", None)
        self._check(metrics, None, f"epoch {epoch}, batch {batch}")

    def state_dict(self) -> dict[str, Any]:
        """Return the best value seen and the checks waited since."""
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.best, self.wait = state["best"], int(state["wait"])

    def __repr__(self) -> str:
        return (f"ReduceOnPlateau({self.monitor.name!r}, factor={self.factor!r}, "
                f"patience={self.patience!r}, param={self.param!r})")


class EarlyStopping(EpochEndWatcher, Callback):
    """Stop training when a metric has not improved for ``patience`` epochs.

    Sets ``compiled_network.stop_training = True`` at the end of the
    ``patience``-th epoch in a row without an improvement larger than
    ``min_delta``; train() then ends after that epoch.

    Parameters
    ----------
    monitor : str
        Metric name, e.g. ``"val_accuracy"``.
    patience : int
        Epochs in a row without improvement after which training stops (>= 1).
    min_delta : float
        Smallest change counted as an improvement.
    mode : {"auto", "min", "max"}
        ``"auto"``: ``"max"`` for accuracies, ``"min"`` otherwise.
    restore_best : bool
        At the end of training, load the learnable state of the best epoch.

    Attributes
    ----------
    best_epoch : int or None
        The epoch with the best value so far.
    stopped_epoch : int or None
        The epoch after which training was stopped.
    """

    # Acts on the training loop (epochs, the optimiser): useless anywhere else.
    run_modes = ("train",)

    def __init__(self, monitor: str, patience: int, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = False):
        self.monitor = Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.patience = _patience(patience, "EarlyStopping", 1)
        self.restore_best = bool(restore_best)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_weights: dict[str, Any] | None = None
        self._compiled_network: Any = None
        self._backend: Any = None

    def set_params(self, compiled_network: Any = None, backend: Any = None,
                   metrics: Any = None, validation: bool | None = None,
                   **kwargs: Any) -> None:
        if metrics is not None:
            self.monitor.find(metrics)
        check_validation_available(self.monitor, validation)
        self.watch_epoch_end(bool(validation))
        # Reset here, not in on_train_begin: a checkpoint restores state in between.
        self.best = self.best_epoch = self.stopped_epoch = self._best_weights = None
        self.wait = 0
        self._compiled_network = compiled_network
        self._backend = backend if backend is not None else getattr(
            compiled_network, "backend", None)
        if self.restore_best and self._backend is None:
            raise ConfigurationError(
                "EarlyStopping restore_best=True needs a backend to read weights from; got "
                "none. Use it in the callbacks of train() inside `with compiled_net:`."
            )

    def epoch_complete(self, epoch: int, metrics: Any, validation_metrics: Any) -> None:
        """Count the epoch; stop training after ``patience`` without improvement."""
        value = self.monitor.value(metrics, validation_metrics)
        if self.monitor.improved(value, self.best):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_weights = self._backend.get_learnable_state()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self._compiled_network.stop_training = True

    def on_train_begin(self) -> None:
        # Resumed from a checkpoint saved after this callback had stopped training.
        if self.stopped_epoch is not None:
            self._compiled_network.stop_training = True

    def on_train_end(self, metrics: Any) -> None:
        if self.restore_best and self._best_weights is not None:
            self._backend.set_learnable_state(self._best_weights)

    def state_dict(self) -> dict[str, Any]:
        """Return the best value and epoch, the wait count and (restore_best) best weights."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self._best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = int(state["wait"])
        self.stopped_epoch = state["stopped_epoch"]
        self._best_weights = state["best_weights"]

    def __repr__(self) -> str:
        return (f"EarlyStopping({self.monitor.name!r}, patience={self.patience!r}, "
                f"restore_best={self.restore_best!r})")


__all__ = ["EarlyStopping", "ReduceOnPlateau"]
