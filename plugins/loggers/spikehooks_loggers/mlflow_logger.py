"""The :class:`MLflowLogger` callback: a run in MLflow with parameters, metrics and artifacts."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from typing import Any

from spikehooks.errors import ConfigurationError

from . import _png
from ._base import LoggerBase, require
from ._describe import describe_run
from ._spikes import SpikeReader

#: The embedded default store: an SQLite file in the working directory, as MLflow's
#: own default, so ``mlflow ui`` started in that directory finds the runs.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


class MLflowLogger(LoggerBase):
    """Log a training or evaluation run to MLflow.

    At the start of the run it creates an MLflow run (experiment
    ``experiment``) with the compiler's settings and the network's parts as
    parameters (``compiler.batch_size``, ``network.hidden``, ...); after each
    epoch it logs the metrics with the epoch as step (``loss``,
    ``<metric>``, ``val_<metric>``, ``learning_rate``, ``epoch_time_s``);
    ``evaluate`` logs ``test_<metric>`` at the last epoch logged.  At the
    end of training it uploads the newest checkpoint of a ``Checkpoint``
    callback in the run (``checkpoint/<epoch>/``), the spike raster of every
    spike recorder in the run (``figures/spikes_<key>.png``) and the paths
    given in ``artifacts``, then marks the run finished.

    Resuming from a checkpoint continues the same MLflow run (the checkpoint
    holds the logger's run key, which the MLflow run carries as a tag).
    When that run already holds epochs from the resume epoch on (the first
    run went on past its last checkpoint), a new run is made with the epochs
    before the resume point copied into it and the tag
    ``spikehooks.resumed_from`` naming the old run, so no step is there twice
    and none is missing.

    A failing call (server unreachable, disk full) warns once and the logger
    stops logging for the rest of the run, so that the tracking client's
    retries do not stall every epoch; ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and
    ``MLFLOW_HTTP_REQUEST_TIMEOUT`` bound how long that first call may take.

    Parameters
    ----------
    experiment : str
        Experiment name (created if missing).
    run_name : str, optional
        Name of the MLflow run (MLflow picks one when None).
    tracking_uri : str, optional
        Where to log; None: ``$MLFLOW_TRACKING_URI``, else
        ``"sqlite:///mlflow.db"`` in the working directory.  A file store
        (``"file:./mlruns"``) works where MLflow allows it (from MLflow 3
        it needs ``MLFLOW_ALLOW_FILE_STORE=true``).
    artifacts : sequence of str or os.PathLike
        Files or folders uploaded at the end of training (missing ones are skipped).
    tags : dict of str to str, optional
        Tags of the MLflow run.
    artifact_location : str or os.PathLike, optional
        Where a new experiment keeps its artifacts (MLflow's default: ``./mlruns``
        for a local store); ignored for an existing experiment.
    send_interval_s : float
        Every epoch is logged with its own step, but metrics go to the store
        at most once per this many seconds (and at the end of the run): one
        call costs the client about 10 ms of CPU, a lot for epochs of a
        fraction of a second.  0 sends after every epoch.

    Attributes
    ----------
    run_id : str or None
        The MLflow run being logged to (None before the first run).

    Raises
    ------
    MissingDependencyError
        MLflow is not installed (extra ``mlflow``).
    """

    def __init__(self, experiment: str = "spikehooks", run_name: str | None = None,
                 tracking_uri: str | None = None, artifacts: Any = (),
                 tags: dict[str, str] | None = None,
                 artifact_location: str | os.PathLike[str] | None = None,
                 send_interval_s: float = 1.0):
        super().__init__()
        for name, value, optional in (("experiment", experiment, False),
                                      ("run_name", run_name, True),
                                      ("tracking_uri", tracking_uri, True)):
            if (value is None and optional) or (isinstance(value, str) and value):
                continue
            raise ConfigurationError(
                f"MLflowLogger {name} must be a non-empty str{' or None' * optional}; got "
                f"{value!r}. Pass e.g. experiment='digits'."
            )
        if isinstance(artifacts, (str, os.PathLike)):
            artifacts = [artifacts]
        self._mlflow = require("mlflow", "MLflowLogger", "mlflow", "mlflow-skinny")
        self.experiment = experiment
        self.run_name = run_name
        self.tracking_uri = (tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
                             or DEFAULT_TRACKING_URI)
        if (isinstance(send_interval_s, bool) or not isinstance(send_interval_s, (int, float))
                or not send_interval_s >= 0):
            raise ConfigurationError(
                f"MLflowLogger send_interval_s must be a number >= 0; got {send_interval_s!r}. "
                f"Pass e.g. send_interval_s=1.0, or 0 to send after every epoch."
            )
        self.send_interval_s = float(send_interval_s)
        self._unsent: list[Any] = []
        self._last_send = 0.0
        self.artifacts = [os.fspath(a) for a in artifacts]
        self.tags = dict(tags or {})
        self.artifact_location = (None if artifact_location is None
                                  else os.fspath(artifact_location))
        self.owner = f"MLflowLogger(experiment={experiment!r}, tracking_uri={self.tracking_uri!r})"
        self.run_id: str | None = None
        #: This training run's key, made in the training thread when it starts (the
        #: MLflow run id comes later, from the writer thread); the MLflow run carries
        #: it as the tag ``spikehooks_key_<key>``, and checkpoints store it.
        self.run_key: str | None = None
        self._resume_key: str | None = None
        self._client: Any = None
        self._broken = False

    # --------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Return the run's key, so a resumed run finds and continues its MLflow run."""
        return {"run_key": self.run_key or ""}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the MLflow run whose key is in ``state`` (from :meth:`state_dict`)."""
        self._resume_key = str(state.get("run_key") or "") or None

    def on_train_begin(self, run: Any) -> None:
        # A new key for every training run, known before its first checkpoint.
        self.run_key = uuid.uuid4().hex
        super().on_train_begin(run)

    # ------------------------------------------------------------- safety
    def _submit(self, what: str, function: Any, *args: Any) -> None:
        super()._submit(what, self._unless_broken, function, *args)

    def _unless_broken(self, function: Any, *args: Any) -> None:
        """Writer thread: after one failure, skip the rest of the run's calls.

        Each call to an unreachable server costs the client's whole retry budget.
        """
        if self._broken:
            return
        try:
            function(*args)
        except Exception:
            self._broken = True
            raise

    def _failure_text(self, what: str, exc: BaseException) -> str:
        return (super()._failure_text(what, exc) + " MLflowLogger stops logging to this run "
                "until the next train() or evaluate().")

    # ------------------------------------------------------------ writing
    def client(self) -> Any:
        """The ``MlflowClient`` of :attr:`tracking_uri` (made on first use)."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def set_params(self, **kwargs: Any) -> None:
        super().set_params(**kwargs)
        if kwargs.get("mode") != "validate":
            self._broken = False

    def connect(self) -> None:
        self.client().get_experiment_by_name(self.experiment)

    def open(self, mode: str, first_step: int) -> None:
        self._unsent, self._last_send = [], time.monotonic()
        client = self.client()
        if mode == "train":
            resume_key, self._resume_key = self._resume_key, None
            previous = None if resume_key is None else self._find_run(resume_key)
            if previous is not None:
                self.run_id = previous
                self._continue(first_step)
            else:
                self._create_run()
        elif self.run_id is None:
            self._create_run()
        client.update_run(self.run_id, status="RUNNING")

    def _key_tag(self) -> dict[str, str]:
        return {} if self.run_key is None else {f"spikehooks_key_{self.run_key}": "1"}

    def _find_run(self, key: str) -> str | None:
        """The id of the MLflow run carrying the key ``key`` (None when there is none)."""
        found = self.client().get_experiment_by_name(self.experiment)
        if found is None:
            return None
        runs = self.client().search_runs([found.experiment_id],
                                         filter_string=f"tags.spikehooks_key_{key} = '1'",
                                         max_results=1)
        return runs[0].info.run_id if runs else None

    def _create_run(self, tags: dict[str, str] | None = None) -> None:
        client = self.client()
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = (found.experiment_id if found is not None
                         else client.create_experiment(self.experiment,
                                                       artifact_location=self.artifact_location))
        run = client.create_run(experiment_id, run_name=self.run_name,
                                tags={**self.tags, **(tags or {}), **self._key_tag()})
        self.run_id = run.info.run_id
        from mlflow.entities import Param

        params = [Param(k, v) for k, v in describe_run(self._network).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(self.run_id, params=params[start:start + 100])

    def _continue(self, first_step: int) -> None:
        """Resume ``run_id`` at ``first_step``, or copy it into a new run if it went past."""
        client = self.client()
        old = client.get_run(self.run_id)
        histories = {key: client.get_metric_history(self.run_id, key)
                     for key in old.data.metrics}
        if not any(m.step >= first_step for ms in histories.values() for m in ms):
            for name, value in self._key_tag().items():
                client.set_tag(self.run_id, name, value)
            return
        previous = self.run_id
        self._create_run({"spikehooks.resumed_from": str(previous)})
        kept = [m for ms in histories.values() for m in ms if m.step < first_step]
        for start in range(0, len(kept), 1000):  # MLflow's batch limit for metrics
            client.log_batch(self.run_id, metrics=kept[start:start + 1000])
        client.set_tag(previous, "spikehooks.resumed_in", self.run_id)

    def write_epoch(self, epoch: int, row: dict[str, float], snapshot: Any) -> None:
        self._log(epoch, row)

    def write_test(self, epoch: int | None, values: dict[str, float], snapshot: Any) -> None:
        self._log(epoch or 0, values)

    def _log(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._unsent += [Metric(k, float(v), now, step) for k, v in values.items()]
        if time.monotonic() - self._last_send >= self.send_interval_s:
            self._send()

    def _send(self) -> None:
        """Send the metrics logged since the last send, in batches MLflow accepts."""
        while self._unsent:
            self.client().log_batch(self.run_id, metrics=self._unsent[:1000])
            del self._unsent[:1000]
        self._last_send = time.monotonic()

    def snapshot(self, what: str, step: int | None) -> Any:
        """At the end of training: the newest checkpoint folder and the spike rasters."""
        if what != "close":
            return None
        checkpoint = None
        for callback in self._callbacks:
            epochs, path = getattr(callback, "epochs", None), getattr(callback, "path", None)
            if callable(epochs) and isinstance(path, str) and epochs():
                newest = epochs()[-1]
                checkpoint = (newest, os.path.join(path, str(newest)))
        figures = []
        if self._backend is not None:
            reader = SpikeReader(self._callbacks, self._data, self._backend.dt,
                                 self._backend.num_timesteps)
            figures = [(f"spikes_{s.name}.png", _png.encode_gray(s.raster))
                       for s in reader.summaries()]
        return {"checkpoint": checkpoint, "figures": figures}

    def close(self, mode: str, snapshot: Any) -> None:
        if self.run_id is None:
            return
        self._send()
        if mode == "train":
            checkpoint = snapshot["checkpoint"]
            if checkpoint is not None and os.path.isdir(checkpoint[1]):
                self.client().log_artifacts(self.run_id, checkpoint[1],
                                            f"checkpoint/{checkpoint[0]}")
            if snapshot["figures"]:
                with tempfile.TemporaryDirectory() as folder:
                    for name, png in snapshot["figures"]:
                        with open(os.path.join(folder, name), "wb") as handle:
                            handle.write(png)
                    self.client().log_artifacts(self.run_id, folder, "figures")
            for path in self.artifacts:
                if os.path.exists(path):
                    self.log_artifact(path)
        self.client().set_terminated(self.run_id, "FAILED" if mode == "abort" else "FINISHED")

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload a file or folder to the run (also after it ended, e.g. figures made later).

        Parameters
        ----------
        path : str or os.PathLike
            A file (uploaded as ``<artifact_path>/<name>``) or folder (its content).
        artifact_path : str, optional
            Folder inside the run's artifacts (default: the top, or the
            folder's own name for a folder).
        """
        if self.run_id is None:
            raise ConfigurationError(
                f"{self.owner} log_artifact needs a run; got run_id=None. Call it after "
                f"train() or evaluate() with this logger in callbacks."
            )
        path = os.fspath(path)
        if os.path.isdir(path):
            name = artifact_path or os.path.basename(os.path.normpath(path))
            self.client().log_artifacts(self.run_id, path, name)
        else:
            self.client().log_artifact(self.run_id, path, artifact_path)

    def __repr__(self) -> str:
        return (f"MLflowLogger(experiment={self.experiment!r}, run_name={self.run_name!r}, "
                f"tracking_uri={self.tracking_uri!r}, send_interval_s={self.send_interval_s!r})")


__all__ = ["DEFAULT_TRACKING_URI", "MLflowLogger"]
