"""What every logger shares: rank 0 only, epoch rows, resume, and writes that never stop a run."""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Callable
from typing import Any

from spikehooks import Callback
from spikehooks.errors import MissingDependencyError
from spikehooks.monitor import metric_names


def require(module: str, owner: str, extra: str, package: str) -> Any:
    """Import an optional library or raise one error naming the extra that installs it.

    Called from a logger's ``__init__``, so a missing library stops the
    script before the network is even compiled.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{owner} needs the package {package!r}, which is not installed; got "
            f"ImportError: {exc}. Install the extra: python -m pip install "
            f"'spikehooks-loggers[{extra}]'."
        ) from exc


def run_rank(run: Any) -> int:
    """The rank of this process in the run (0 without a communicator).

    Read defensively: a run context without ``rank`` (single process, or a
    core that predates communicators) counts as rank 0.
    """
    rank = getattr(run, "rank", 0)
    return 0 if rank is None else int(rank)


def metric_values(metrics: Any, prefix: str = "") -> dict[str, float]:
    """Flatten ``{population: Metric}`` into ``{name: value}``.

    The name is the metric's canonical registered name
    (``"sparse_categorical_accuracy"``), preceded by ``"<population>/"``
    when the run has several outputs: the same names a ``monitor=`` accepts.
    """
    items = list((metrics or {}).items())
    values = {}
    for pop, metric in items:
        name = metric_names(metric)[0]
        if len(items) > 1:
            name = f"{getattr(pop, 'name', pop)}/{name}"
        values[prefix + name] = float(metric.result)
    return values


class LoggerBase(Callback):
    """Collects one row of values per epoch and hands it to :meth:`write_epoch`.

    Subclasses implement :meth:`open` (called on rank 0 when a run starts
    writing at ``first_step``), :meth:`write_epoch`, :meth:`write_test` and
    :meth:`close`.  Every call into a subclass goes through :meth:`_safe`:
    an exception becomes a warning naming the logger, and training goes on.

    A logger acts in the training loop (``callbacks=`` of ``train``) and in
    ``evaluate``; in a validation loop (``validation_callbacks=``) it does
    nothing, since the training loop's ``on_validation_end`` brings it the
    validation metrics.
    """

    #: The name the warnings use (the class name of the logger).
    owner = "Logger"

    def __init__(self) -> None:
        self.failures = 0
        self._network: Any = None
        self._backend: Any = None
        self._data: dict | None = None
        self._callbacks: list[Any] = []
        self._num_batches = 1
        self._validation = False
        self._active = False
        self._opened = False
        self._pending: dict[int, dict[str, float]] = {}
        self._epoch_start = 0.0
        #: The last training epoch this logger wrote (evaluate logs its test metrics there).
        self.last_epoch: int | None = None

    def set_params(self, **kwargs: Any) -> None:
        """Take the run's network, backend, data, callbacks and batch count."""
        if kwargs.get("mode") == "validate":
            # The same object may sit in both lists; keep the training loop's state.
            return
        self._network = kwargs.get("compiled_network")
        self._backend = kwargs.get("backend")
        self._data = kwargs.get("data")
        self._callbacks = list(kwargs.get("callbacks") or ())
        self._num_batches = int(kwargs.get("num_batches") or 1)
        self._validation = bool(kwargs.get("validation"))
        self._active = False
        self._opened = False
        self._pending = {}

    # ----------------------------------------------------------- run start
    def on_train_begin(self, run: Any) -> None:
        self._active = run_rank(run) == 0
        if self._active:
            self._safe("connect", self.connect)

    def on_test_begin(self, run: Any) -> None:
        if run.mode == "test":
            self._active = run_rank(run) == 0
            if self._active:
                self._safe("connect", self.connect)
            self._ensure_open("test", self.last_epoch or 0)

    def on_epoch_begin(self, epoch: int, run: Any) -> None:
        if not self._active:
            return
        # The first epoch of this run: a resumed run replaces what the log
        # holds from here on, so no epoch appears twice.
        self._ensure_open("train", epoch)
        self._epoch_start = time.perf_counter()

    def _ensure_open(self, mode: str, first_step: int) -> None:
        if self._active and not self._opened:
            self._opened = True
            self._safe("open the log", self.open, mode, first_step)

    # ------------------------------------------------------------- epochs
    def on_epoch_end(self, epoch: int, metrics: Any, run: Any) -> None:
        if not self._active:
            return
        row = {"epoch_time_s": time.perf_counter() - self._epoch_start}
        optimisers = getattr(self._network, "optimisers", None) or ()
        rate = getattr(optimisers[0], "alpha", None) if optimisers else None
        if rate is not None:
            row["learning_rate"] = float(rate)
        loss = getattr(self._network, "epoch_loss", None)
        if loss is not None:
            row["loss"] = float(loss)
        row.update(metric_values(metrics))
        if self._validation:
            self._pending[epoch] = row
        else:
            self._write(epoch, row)

    def on_validation_end(self, epoch: int, metrics: Any, run: Any) -> None:
        if not self._active:
            return
        row = self._pending.pop(epoch, {})
        row.update(metric_values(metrics, "val_"))
        self._write(epoch, row)

    def _write(self, epoch: int, row: dict[str, float]) -> None:
        self.last_epoch = epoch
        self._safe(f"write epoch {epoch}", self.write_epoch, epoch, row)

    # --------------------------------------------------------------- ends
    def on_train_end(self, metrics: Any, run: Any) -> None:
        if self._active:
            self._safe("finish the log", self.close, "train")
            self._active = False

    def on_test_end(self, metrics: Any, run: Any) -> None:
        if run.mode != "test" or not self._active:
            return
        step = self.last_epoch or 0
        self._safe("write the test metrics", self.write_test, step,
                   metric_values(metrics, "test_"))
        self._safe("finish the log", self.close, "test")
        self._active = False

    # ------------------------------------------------------------- safety
    def _safe(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """Call ``function``; on any exception warn naming the logger and go on.

        Losing a log must never lose the run: a full disk or an unreachable
        tracking server costs the log entry, not the training.
        """
        try:
            return function(*args)
        except Exception as exc:
            self.failures += 1
            warnings.warn(
                f"{self.owner} could not {what}: {type(exc).__name__}: {exc}. Training goes "
                f"on without this log entry ({self.failures} failed so far).",
                RuntimeWarning,
                stacklevel=3,
            )
            return None

    # --------------------------------------------------------- subclasses
    def connect(self) -> None:
        """Do the slow part of starting (a client, a database) before the first epoch's clock."""

    def open(self, mode: str, first_step: int) -> None:
        """Prepare to write a run (``mode`` "train" or "test") starting at epoch ``first_step``."""

    def write_epoch(self, epoch: int, row: dict[str, float]) -> None:
        """Write one finished training epoch (metrics, ``val_`` metrics, rate, time)."""
        raise NotImplementedError

    def write_test(self, step: int, values: dict[str, float]) -> None:
        """Write the ``test_`` metrics of an ``evaluate`` run at ``step``."""
        raise NotImplementedError

    def close(self, mode: str) -> None:
        """Flush and release what :meth:`open` took."""
