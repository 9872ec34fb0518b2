"""Monitored metrics: how a callback names a metric and reads its value.

Shared by every callback that watches a metric (the checkpoint plugin's
``Checkpoint(monitor=...)``, the schedules plugin's ``ReduceOnPlateau`` and
``EarlyStopping``), so that all of them accept the same names.

A monitor name is ``[val_][<population>/]<metric>``:

- ``<metric>`` is the metric's registered name (``"sparse_categorical_accuracy"``)
  or any tail of it after an underscore (``"categorical_accuracy"``,
  ``"accuracy"``);
- ``<population>/`` picks one output population by name; without it the name
  must match the metric of exactly one output;
- ``val_`` reads the metrics of the epoch's validation
  (``run.validation_metrics``, handed on by :class:`EpochEndWatcher`)
  instead of the training metrics.

Examples: ``"accuracy"``, ``"val_accuracy"``, ``"output/accuracy"``,
``"val_output/mean_square_error"``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..errors import ConfigurationError

_MODES = ("min", "max", "auto")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def metric_names(metric: Any) -> list[str]:
    """Return the names a metric answers to, longest (canonical) first."""
    words = _snake(type(metric).__name__).split("_")
    return ["_".join(words[i:]) for i in range(len(words))]


class Monitor:
    """A metric watched by a callback, with its direction of improvement.

    Parameters
    ----------
    name : str
        ``[val_][<population>/]<metric>``, see the module docstring.
    mode : {"min", "max", "auto"}
        Whether lower or higher is better; ``"auto"`` picks ``"max"`` for
        names containing ``"acc"`` and ``"min"`` otherwise.
    min_delta : float
        The smallest change that counts as an improvement (>= 0).
    owner : str
        The callback's name, for messages.
    """

    def __init__(self, name: Any, mode: str, min_delta: float, owner: str):
        if not isinstance(name, str) or not name.strip("/"):
            raise ConfigurationError(
                f"{owner} monitor must be a metric name such as 'accuracy' or 'val_accuracy'; "
                f"got {name!r}."
            )
        if mode not in _MODES:
            raise ConfigurationError(
                f"{owner} mode must be one of {_MODES}; got {mode!r}. Pass mode='max' when "
                f"higher is better (accuracy), mode='min' for losses, or mode='auto'."
            )
        if (isinstance(min_delta, (bool, np.bool_))
                or not isinstance(min_delta, (int, float, np.integer, np.floating))
                or not min_delta >= 0):
            raise ConfigurationError(
                f"{owner} min_delta must be a number >= 0; got {min_delta!r}. Pass e.g. "
                f"min_delta=0.0."
            )
        self.name = name
        self.owner = owner
        self.validation = name.startswith("val_")
        rest = name[4:] if self.validation else name
        self.population, _, self.metric = rest.rpartition("/")
        if mode == "auto":
            mode = "max" if "acc" in self.metric else "min"
        self.mode = mode
        self.min_delta = float(min_delta)

    def value(self, metrics: Any, validation_metrics: Any) -> float:
        """Return the monitored value from ``metrics`` or the validation metrics.

        Parameters
        ----------
        metrics : dict of Population to Metric
            The training metrics passed to the hook.
        validation_metrics : dict of Population to Metric, or None
            The epoch's validation metrics (``run.validation_metrics``), read
            for ``val_`` names.
        """
        if self.validation:
            metrics = validation_metrics
            if metrics is None:
                raise ConfigurationError(
                    f"{self.owner} monitor {self.name!r} needs validation metrics; got none "
                    f"this epoch. Pass validation data to train() (validation_split= or "
                    f"validation_x=/validation_y=), or monitor {self.name[4:]!r}."
                )
        return float(self.find(metrics).result)

    def find(self, metrics: Any) -> Any:
        """Return the one metric of ``metrics`` this monitor names.

        Callbacks call it from ``set_params`` when the run passes its
        ``metrics``, so a wrong name fails before the first epoch.

        Raises
        ------
        ConfigurationError
            No metric or several match; the message lists the names available.
        """
        found, available = [], []
        prefix = "val_" if self.validation else ""
        for pop, metric in (metrics or {}).items():
            pop_name = getattr(pop, "name", str(pop))
            names = metric_names(metric)
            available.append(f"{prefix}{pop_name}/{names[0]}")
            if self.metric in names and self.population in ("", pop_name):
                found.append(metric)
        if len(found) != 1:
            got = "no metric" if not found else f"{len(found)} metrics"
            raise ConfigurationError(
                f"{self.owner} monitor {self.name!r} must name exactly one metric; got {got}. "
                f"Available: {', '.join(available) or '(none)'}; a name may drop the "
                f"population when there is one output, or shorten the metric to e.g. "
                f"'accuracy'."
            )
        return found[0]

    def improved(self, value: float, best: float | None) -> bool:
        """Return True when ``value`` beats ``best`` by more than ``min_delta``."""
        if math.isnan(value):
            return False
        if best is None:
            return True
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def __repr__(self) -> str:
        return f"Monitor({self.name!r}, mode={self.mode!r}, min_delta={self.min_delta!r})"


class EpochEndWatcher:
    """Mixin for callbacks that act once per epoch, when the epoch's metrics are final.

    In mlGeNN's order a training epoch ends with ``on_epoch_end``, *then* its
    validation runs.  A callback that watches metrics (a checkpoint keeping
    the best epoch, early stopping, reduce-on-plateau) must act after that
    validation when the run has one, or at ``on_epoch_end`` when it has not.
    Call :meth:`watch_epoch_end` from ``set_params`` with the ``validation``
    keyword the training loop passes; :meth:`epoch_complete` is then called
    once per epoch with the epoch's training metrics and its validation
    metrics (those ``on_validation_end`` received, or ``run.validation_metrics``
    at ``on_epoch_end``; None without validation).  Without that call the
    epoch hooks are left out of the run (:meth:`skipped_hooks`).

    A subclass that must act after every other callback (a checkpoint saving
    their final state) overrides both hooks with ``@hookimpl(trylast=True)``.
    """

    #: This run's choice: None (not watching), False (act at ``on_epoch_end``)
    #: or True (act at ``on_validation_end``).
    _watching: bool | None = None
    _last_metrics: Any = None

    def watch_epoch_end(self, validation: bool) -> None:
        """Act on each epoch this run: after its validation when ``validation``, else at its end."""
        self._watching = bool(validation)
        self._last_metrics = None

    def skipped_hooks(self) -> tuple[str, ...]:
        """Leave out the epoch hooks this run does not use."""
        if self._watching is None:
            return ("on_epoch_end", "on_validation_end")
        return () if self._watching else ("on_validation_end",)

    def on_epoch_end(self, epoch: int, metrics: Any, run: Any) -> None:
        """Keep the training metrics; without validation, the epoch is complete."""
        self._last_metrics = metrics
        if not self._watching:
            self.epoch_complete(epoch, metrics, run.validation_metrics)

    def on_validation_end(self, epoch: int, metrics: Any) -> None:
        """The epoch's validation has finished: the epoch is complete."""
        self.epoch_complete(epoch, self._last_metrics, metrics)

    def epoch_complete(self, epoch: int, metrics: Any, validation_metrics: Any) -> None:
        """Act on a finished epoch.

        Parameters
        ----------
        epoch : int
            The epoch just finished.
        metrics : dict
            Its training metrics.
        validation_metrics : dict or None
            Its validation metrics; None when the run does not validate.
        """
        raise NotImplementedError


def check_validation_available(monitor: Monitor, validation: bool | None) -> None:
    """Refuse a ``val_`` monitor in a run without validation, before it starts.

    ``validation`` None (not told by the caller) defers the check to the
    first read of the metric.
    """
    if validation is False and monitor.validation:
        raise ConfigurationError(
            f"{monitor.owner} monitor {monitor.name!r} needs validation metrics; this train() "
            f"has no validation data. Pass validation_split= or validation_x=/validation_y= "
            f"to train(), or monitor {monitor.name[4:]!r}."
        )
