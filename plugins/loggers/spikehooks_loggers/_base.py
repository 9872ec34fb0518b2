"""What every logger shares: rank 0 only, epoch rows, resume, and writes that never stop a run."""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Callable
from typing import Any

from spikehooks import Callback
from spikehooks.callbacks.monitor import metric_names
from spikehooks.errors import MissingDependencyError

from ._writer import Writer


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
    :meth:`close`.  These run in a writer thread (one per run), so training
    never waits on a disk or a server; what they need from the run is taken
    in the training thread by :meth:`snapshot`.  An exception in any of them
    becomes a warning naming the logger, and training goes on.  The run's
    writes are complete when ``train``/``evaluate`` returns.

    A logger acts in the training loop (``callbacks=`` of ``train``) and in
    ``evaluate``; in a validation loop (``validation_callbacks=``) it does
    nothing, since the training loop's ``on_validation_end`` brings it the
    validation metrics.  That holds for every hook the validation
    callbacks get (mlGeNN's ``on_test_begin``, epoch hooks around each
    pass, ``on_test_end``), also when the same logger object sits in both
    lists.
    """

    #: The name the warnings use (the class name of the logger).
    owner = "Logger"

    def __init__(self) -> None:
        #: Writes that failed so far.
        self.failures = 0
        #: CPU seconds spent in the writer threads so far (all runs), by task:
        #: ``"connect"``, ``"open the log"``, ``"write epoch N"``, ``"finish the log"``...
        self.write_cpu_s: dict[str, float] = {}
        #: The last training epoch this logger wrote (evaluate logs its test metrics there).
        self.last_epoch: int | None = None
        self._network: Any = None
        self._backend: Any = None
        self._data: dict | None = None
        self._callbacks: list[Any] = []
        self._num_batches = 1
        self._validation = False
        self._writer: Writer | None = None
        self._opened = False
        self._pending: dict[int, dict[str, float]] = {}
        self._epoch_start = 0.0
        self._notes: list[str] = []

    def set_params(self, **kwargs: Any) -> None:
        """Take the run's network, backend, data, callbacks and batch count."""
        if kwargs.get("mode") == "validate":
            # The same object may sit in both lists; keep the training loop's state.
            return
        if self._writer is not None:
            # The previous run ended with an exception, before on_train_end: finish its
            # writes now, before this run replaces the state they read (network, run key)
            # and claims its folders again.
            self._finish("abort")
        self._network = kwargs.get("compiled_network")
        self._backend = kwargs.get("backend")
        self._data = kwargs.get("data")
        self._callbacks = list(kwargs.get("callbacks") or ())
        self._num_batches = int(kwargs.get("num_batches") or 1)
        self._validation = bool(kwargs.get("validation"))
        self._opened = False
        self._pending = {}

    @property
    def _active(self) -> bool:
        """True between the start and the end of a run on rank 0."""
        return self._writer is not None

    # ----------------------------------------------------------- run start
    def _start(self, run: Any) -> None:
        if self._writer is not None:
            # The previous run ended with an exception and this one skipped set_params:
            # finish its writes and release its files (an MLflow run is marked failed).
            self._finish("abort")
        if run_rank(run) != 0:
            return
        self._writer = Writer(f"{type(self).__name__}-writer", self._note)
        self._submit("connect", self.connect)

    def on_train_begin(self, run: Any) -> None:
        self._start(run)

    def on_test_begin(self, run: Any) -> None:
        if run.mode == "test":
            self._start(run)
            self._ensure_open("test", self.last_epoch or 0)

    def on_epoch_begin(self, epoch: int, run: Any) -> None:
        if not self._active or run.mode == "validate":
            return
        # The first epoch of this run: a resumed run replaces what the log
        # holds from here on, so no epoch appears twice.
        self._ensure_open("train", epoch)
        self._epoch_start = time.perf_counter()

    def _ensure_open(self, mode: str, first_step: int) -> None:
        if self._active and not self._opened:
            self._opened = True
            self._submit("open the log", self.open, mode, first_step)

    # ------------------------------------------------------------- epochs
    def on_epoch_end(self, epoch: int, metrics: Any, run: Any) -> None:
        if not self._active or run.mode == "validate":
            # A validation pass: its metrics arrive through on_validation_end.
            return
        row = {"epoch_time_s": time.perf_counter() - self._epoch_start}
        # mlGeNN's structure: a list of (optimiser, variables) pairs.
        optimisers = getattr(self._network, "optimisers", None) or ()
        rate = getattr(optimisers[0][0], "alpha", None) if optimisers else None
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
        self._submit(f"write epoch {epoch}", self.write_epoch, epoch, row,
                     self.snapshot("train", epoch))
        self._report()

    # --------------------------------------------------------------- ends
    def on_train_end(self, metrics: Any, run: Any) -> None:
        if self._active:
            self._finish("train")

    def on_test_end(self, metrics: Any, run: Any) -> None:
        if run.mode != "test" or not self._active:
            return
        self._submit("write the test metrics", self.write_test, self.last_epoch,
                     metric_values(metrics, "test_"), self.snapshot("test", self.last_epoch))
        self._finish("test")

    def _finish(self, mode: str) -> None:
        """Close the log, wait for every write of the run, then warn about failed ones."""
        snapshot = None if mode == "abort" else self.snapshot("close", None)
        self._submit("finish the log", self.close, mode, snapshot)
        writer, self._writer = self._writer, None
        assert writer is not None
        writer.finish()
        for task, seconds in writer.cpu_s.items():
            self.write_cpu_s[task] = self.write_cpu_s.get(task, 0.0) + seconds
        self._report()

    # ------------------------------------------------------------- safety
    def _submit(self, what: str, function: Callable[..., Any], *args: Any) -> None:
        assert self._writer is not None
        self._writer.submit(what, function, *args)

    def _note(self, what: str, exc: BaseException) -> None:
        """Writer thread: remember a failed write for :meth:`_report`."""
        self.failures += 1
        self._notes.append(self._failure_text(what, exc))

    def _failure_text(self, what: str, exc: BaseException) -> str:
        return (f"{self.owner} could not {what}: {type(exc).__name__}: {exc}. Training goes on "
                f"without this log entry ({self.failures} failed so far).")

    def _report(self) -> None:
        """Training thread: warn about every write that failed since the last report.

        Losing a log must never lose the run: a full disk or an unreachable
        tracking server costs the log entry, not the training.
        """
        while self._notes:
            warnings.warn(self._notes.pop(0), RuntimeWarning, stacklevel=3)

    # --------------------------------------------------------- subclasses
    def snapshot(self, what: str, step: int | None) -> Any:
        """Training thread: copy what a write needs from the run (weights, recordings).

        ``what`` is ``"train"`` (an epoch), ``"test"`` or ``"close"``.
        The default takes nothing.
        """
        return None

    def connect(self) -> None:
        """Do the slow part of starting (a client, a database) first."""

    def open(self, mode: str, first_step: int) -> None:
        """Prepare to write a run (``mode`` "train" or "test") starting at epoch ``first_step``."""

    def write_epoch(self, epoch: int, row: dict[str, float], snapshot: Any) -> None:
        """Write one finished training epoch (metrics, ``val_`` metrics, rate, time)."""
        raise NotImplementedError

    def write_test(self, epoch: int | None, values: dict[str, float], snapshot: Any) -> None:
        """Write the ``test_`` metrics of ``evaluate``, run after training epoch ``epoch``.

        ``epoch`` is None when this logger wrote no training epoch.
        """
        raise NotImplementedError

    def close(self, mode: str, snapshot: Any) -> None:
        """Flush and release what :meth:`open` took.

        ``mode`` is ``"train"``, ``"test"``, or ``"abort"`` for a run that
        ended with an exception (closed when the logger's next run starts).
        """
