"""The :class:`TensorBoardLogger` callback: event files TensorBoard reads, without TensorFlow."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

from . import _folders, _png
from ._base import LoggerBase, metric_values, require, run_rank
from ._spikes import SpikeReader

#: Sub-folders of ``log_dir``, one TensorBoard "run" each, so that the
#: training and validation curves of a metric share one chart.
RUNS = ("train", "validation", "test", "batch")


class _EventFile:
    """One event file, written synchronously so a failing write raises here, not in a thread."""

    def __init__(self, tbx: Any, folder: str, purge_step: int | None):
        from tensorboardX.proto.event_pb2 import Event, SessionLog
        from tensorboardX.record_writer import RecordWriter

        self._Event = Event
        self._summary = tbx.summary
        _folders.make_folder(folder)
        now = time.time()
        # TensorBoard reads the files of a folder sorted by name: the nanoseconds keep two
        # files opened within one second in order.
        name = f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{time.time_ns()}"
        self._file = RecordWriter(os.path.join(folder, name))
        try:
            self._put(Event(wall_time=now, file_version="brain.Event:2"))
            if purge_step is not None:
                # TensorBoard hides every earlier event at a step >= purge_step: a
                # resumed run replaces the epochs the first run logged after its checkpoint.
                self._put(Event(step=purge_step, wall_time=now,
                                session_log=SessionLog(status=SessionLog.START)))
        except Exception:
            self._file.close()
            raise

    def _put(self, event: Any) -> None:
        self._file.write(event.SerializeToString())

    def write(self, step: int, summary: Any) -> None:
        self._put(self._Event(step=step, wall_time=time.time(), summary=summary))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        Summary = type(self._summary.scalar("x", 0.0))
        self.write(step, Summary(value=[Summary.Value(tag=tag, simple_value=float(value))
                                        for tag, value in values.items()]))

    def histogram(self, step: int, tag: str, values: np.ndarray) -> None:
        if values.size:
            self.write(step, self._summary.histogram(tag, values.ravel(), bins="auto"))

    def image(self, step: int, tag: str, gray: np.ndarray) -> None:
        Summary = type(self._summary.scalar("x", 0.0))
        image = Summary.Image(height=gray.shape[0], width=gray.shape[1], colorspace=1,
                              encoded_image_string=_png.encode_gray(gray))
        self.write(step, Summary(value=[Summary.Value(tag=tag, image=image)]))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardLogger(LoggerBase):
    """Write scalars, weight histograms and spike rasters for TensorBoard.

    ``log_dir`` gets one sub-folder per TensorBoard run: ``train``
    (per-epoch metrics ``loss``, ``<metric>``, ``learning_rate``,
    ``epoch_time_s``; weight histograms ``weights/<connection>``; spike
    images ``spikes/<key>`` and rate histograms ``rates_hz/<key>``),
    ``validation`` (the same metric tags, so both curves share a chart),
    ``test`` (``evaluate``), and ``batch`` (per-batch metrics, when asked).
    Epoch tags use the epoch as step; batch tags the global batch
    ``epoch * num_batches + batch``.  A run that starts at epoch ``E``
    (resumed from a checkpoint) hides what the folder held from step ``E``
    on, so TensorBoard shows every epoch exactly once.

    Parameters
    ----------
    log_dir : str or os.PathLike
        Folder of the event files (created when the run starts).
    update_freq : "epoch", "batch" or int
        Also write batch metrics after every batch (``"batch"``) or every
        ``N`` batches (an int); ``"epoch"`` (default) writes per epoch only.
    histogram_freq : int
        Weight histograms every ``N`` epochs (epochs 0, N, 2N, ...); 0: never.
    spike_freq : int
        Spike raster and rate histogram of every spike recorder in the run
        every ``N`` epochs (the recorders' own ``example_filter`` and
        ``epochs`` decide what is recorded); 0: never.
    overwrite : bool
        Log a new run into a ``log_dir`` that holds another run's files (they
        stay; TensorBoard shows the new run from its first epoch on).  Without
        it such a folder is refused before the run starts, unless the run
        resumes (``train(..., resume_from=...)``).

    Raises
    ------
    MissingDependencyError
        ``tensorboardX`` is not installed (extra ``tensorboard``).
    """

    attached_hooks = ("on_batch_end",)

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", update_freq: Any = "epoch",
                 histogram_freq: int = 1, spike_freq: int = 1, overwrite: bool = False):
        super().__init__()
        self.log_dir = _folders.check_folder(log_dir, "TensorBoardLogger", "log_dir")
        self.owner = f"TensorBoardLogger(log_dir={self.log_dir!r})"
        if update_freq in ("epoch", "batch"):
            self._batch_every = 0 if update_freq == "epoch" else 1
        elif isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0:
            self._batch_every = update_freq
        else:
            raise ConfigurationError(
                f"TensorBoardLogger update_freq must be 'epoch', 'batch' or an int >= 1; got "
                f"{update_freq!r}. Pass e.g. update_freq='epoch'."
            )
        for name, value in (("histogram_freq", histogram_freq), ("spike_freq", spike_freq)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(
                    f"TensorBoardLogger {name} must be an int >= 0; got {value!r}. Pass e.g. "
                    f"{name}=1 (every epoch) or {name}=0 (never)."
                )
        if not isinstance(overwrite, bool):
            raise ConfigurationError(
                f"TensorBoardLogger overwrite must be True or False; got {overwrite!r}. Pass "
                f"overwrite=True to log a new run into a folder holding another run's files."
            )
        self.overwrite = overwrite
        self._claim = _folders.log_dir_claim(self.log_dir, self.owner)
        self.update_freq = update_freq
        self.histogram_freq = histogram_freq
        self.spike_freq = spike_freq
        self._tbx = require("tensorboardX", "TensorBoardLogger", "tensorboard", "tensorboardX")
        self._files: dict[str, _EventFile] = {}
        self._first_step = 0
        self._spikes: SpikeReader | None = None

    def set_params(self, **kwargs: Any) -> None:
        super().set_params(**kwargs)
        if kwargs.get("mode") == "validate":
            return
        if run_rank(kwargs.get("run")) == 0:
            # Refuse a folder of another run (or one being written) before the run starts;
            # the core releases the claim when the run ends.
            self._claim.acquire(overwrite=self.overwrite,
                                resume=kwargs.get("resume_from") is not None)
        self.__dict__.pop("on_batch_end", None)
        if self._batch_every and kwargs.get("mode") == "train":
            self.on_batch_end = self._batch_end
        backend = kwargs.get("backend")
        self._spikes = None
        if self.spike_freq and backend is not None:
            reader = SpikeReader(self._callbacks, self._data, backend.dt, backend.num_timesteps)
            self._spikes = reader if reader else None

    # ------------------------------------------------------------ writing
    def open(self, mode: str, first_step: int) -> None:
        self._files = {}
        self._first_step = first_step

    def _ensure_open(self, mode: str, first_step: int) -> None:
        if self._active and not self._opened and self._claim.held:
            # Mark the folder as this run's in the training thread, while the run holds
            # the claim: a crashed run's writes finish after the core released it, and a
            # mark made then would race with the next run's claim of the same folder.
            try:
                self._claim.mark()
            except Exception as exc:  # a log that cannot be written never ends the run
                self._note("mark the log folder as this run's", exc)
        super()._ensure_open(mode, first_step)

    def _file(self, run: str) -> _EventFile:
        file = self._files.get(run)
        if file is None:
            purge = None
            if run != "test":
                purge = self._first_step * (self._num_batches if run == "batch" else 1)
            file = _EventFile(self._tbx, os.path.join(self.log_dir, run), purge)
            self._files[run] = file
        return file

    def _batch_end(self, batch: int, metrics: Any, run: Any) -> None:
        # run.mode: the same logger may also sit among the validation callbacks.
        if not self._active or run.mode != "train" or (batch + 1) % self._batch_every:
            return
        step = (run.epoch or 0) * self._num_batches + batch
        self._submit(f"write batch {batch}", self._write_batch, step, metric_values(metrics))

    def _write_batch(self, step: int, values: dict[str, float]) -> None:
        self._file("batch").scalars(step, values)

    def snapshot(self, what: str, step: int | None) -> Any:
        """Copy the weights (when a histogram is due) and summarise new recorded spikes."""
        taken: dict[str, Any] = {"weights": {}, "spikes": []}
        step = step or 0
        if (what == "train" and self.histogram_freq and step % self.histogram_freq == 0
                and self._backend is not None):
            taken["weights"] = {name: np.array(w, dtype=np.float64) for name, w in
                                self._backend.get_learnable_state().items()}
        if (what in ("train", "test") and self._spikes is not None
                and (what == "test" or step % self.spike_freq == 0)):
            taken["spikes"] = self._spikes.summaries()
        return taken

    def write_epoch(self, epoch: int, row: dict[str, float], snapshot: Any) -> None:
        train = {k: v for k, v in row.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in row.items() if k.startswith("val_")}
        self._file("train").scalars(epoch, train)
        if val:
            self._file("validation").scalars(epoch, val)
        self._write_snapshot("train", epoch, snapshot)
        for file in self._files.values():
            file.flush()

    def write_test(self, epoch: int | None, values: dict[str, float], snapshot: Any) -> None:
        test = self._file("test")
        test.scalars(epoch or 0, {k[5:]: v for k, v in values.items()})
        self._write_snapshot("test", epoch or 0, snapshot)
        test.flush()

    def _write_snapshot(self, run: str, step: int, snapshot: Any) -> None:
        file = self._file(run)
        for name, weights in snapshot["weights"].items():
            file.histogram(step, f"weights/{name}", weights)
        for found in snapshot["spikes"]:
            file.image(step, f"spikes/{found.name}", found.raster)
            file.histogram(step, f"rates_hz/{found.name}", found.rates_hz)

    def close(self, mode: str, snapshot: Any) -> None:
        files, self._files = self._files, {}
        for file in files.values():
            file.close()

    def __repr__(self) -> str:
        return (f"TensorBoardLogger(log_dir={self.log_dir!r}, update_freq={self.update_freq!r}, "
                f"histogram_freq={self.histogram_freq!r}, spike_freq={self.spike_freq!r}, "
                f"overwrite={self.overwrite!r})")


__all__ = ["RUNS", "TensorBoardLogger"]
