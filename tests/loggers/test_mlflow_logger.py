"""MLflowLogger: runs read back with the real MLflow client."""

from __future__ import annotations

import os
import sys

import pytest
from _logger_runs import Truth, train
from mlflow.tracking import MlflowClient

from spikehooks import ConfigurationError, MissingDependencyError
from spikehooks_checkpoint import Checkpoint
from spikehooks_loggers import MLflowLogger
from spikehooks_recorders import SpikeRecorder

ACC = "sparse_categorical_accuracy"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _client(uri):
    return MlflowClient(tracking_uri=uri)


def _history(uri, run_id, key):
    return sorted((m.step, m.value) for m in _client(uri).get_metric_history(run_id, key))


def _run(uri, run_id):
    return _client(uri).get_run(run_id)


def _artifacts(uri, run_id, path=None):
    return sorted(f.path for f in _client(uri).list_artifacts(run_id, path))


def test_params_metrics_checkpoint_and_figures_are_in_the_run(mlflow_uri):
    truth = Truth()
    logger = MLflowLogger("params", run_name="first", tracking_uri=mlflow_uri)
    train(3, [Checkpoint(keep_last=1), truth, logger], validation_split=0.25,
          make_callbacks=lambda hid: [SpikeRecorder(hid, key="hid", example_filter=[0])])
    run = _run(mlflow_uri, logger.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "first"
    params = run.data.params
    assert params["compiler"] == "EventPropCompiler"
    assert params["compiler.batch_size"] == "4" and params["compiler.example_timesteps"] == "20"
    assert params["network.hid"].startswith("Layer(name='hid', shape=(8,)")
    assert "Exponential" in params["network.conn0"]
    for key in ("loss", "learning_rate", ACC, "val_" + ACC):
        assert _history(mlflow_uri, logger.run_id, key) == [
            (e, truth.rows[e][key]) for e in range(3)], key
    assert [s for s, _ in _history(mlflow_uri, logger.run_id, "epoch_time_s")] == [0, 1, 2]
    assert _artifacts(mlflow_uri, logger.run_id) == ["checkpoint", "figures"]
    assert _artifacts(mlflow_uri, logger.run_id, "checkpoint") == ["checkpoint/2"]
    saved = sorted(os.listdir(os.path.join("checkpoints", "2")))
    assert "manifest.json" in saved
    assert _artifacts(mlflow_uri, logger.run_id, "checkpoint/2") == [
        f"checkpoint/2/{name}" for name in saved]
    assert _artifacts(mlflow_uri, logger.run_id, "figures") == ["figures/spikes_hid.png"]
    local = _client(mlflow_uri).download_artifacts(logger.run_id, "figures/spikes_hid.png")
    with open(local, "rb") as handle:
        assert handle.read().startswith(PNG_MAGIC)


def test_evaluate_logs_test_metrics_in_the_training_run(mlflow_uri):
    logger = MLflowLogger("evaluate", tracking_uri=mlflow_uri)
    _, accuracy = train(2, [logger], evaluate_callbacks=[logger])
    assert _history(mlflow_uri, logger.run_id, "test_" + ACC) == [(1, accuracy)]
    assert _run(mlflow_uri, logger.run_id).info.status == "FINISHED"


def test_a_clean_resume_continues_the_same_run(mlflow_uri):
    reference = MLflowLogger("clean-ref", tracking_uri=mlflow_uri)
    train(4, [Checkpoint(path="ref"), reference])
    first = MLflowLogger("clean", tracking_uri=mlflow_uri)
    train(2, [Checkpoint(), first])
    resumed = MLflowLogger("clean", tracking_uri=mlflow_uri)
    train(4, [Checkpoint(), resumed], resume_from="latest")
    assert resumed.run_id == first.run_id
    for key in ("loss", ACC):
        assert (_history(mlflow_uri, resumed.run_id, key)
                == _history(mlflow_uri, reference.run_id, key))


def test_a_resume_behind_the_logged_epochs_copies_them_into_a_new_run(mlflow_uri):
    reference = MLflowLogger("behind-ref", tracking_uri=mlflow_uri)
    train(5, [Checkpoint(path="ref"), reference])
    first = MLflowLogger("behind", tracking_uri=mlflow_uri)
    # Checkpoints after epochs 0 and 2; epoch 3 is logged but not saved, as in a crash.
    train(4, [Checkpoint(epoch_interval=2), first])
    resumed = MLflowLogger("behind", tracking_uri=mlflow_uri)
    train(5, [Checkpoint(epoch_interval=2), resumed], resume_from="latest")
    assert resumed.run_id != first.run_id
    for key in ("loss", ACC, "learning_rate"):
        got = _history(mlflow_uri, resumed.run_id, key)
        assert [s for s, _ in got] == [0, 1, 2, 3, 4]
        assert got == _history(mlflow_uri, reference.run_id, key)
    new, old = _run(mlflow_uri, resumed.run_id), _run(mlflow_uri, first.run_id)
    assert new.data.tags["spikehooks.resumed_from"] == first.run_id
    assert old.data.tags["spikehooks.resumed_in"] == resumed.run_id
    assert new.data.params == old.data.params


@pytest.mark.parametrize("interval, sends", [(0, 4), (3600, 1)])
def test_metrics_go_to_the_store_every_epoch_or_at_the_end(mlflow_uri, monkeypatch, interval,
                                                           sends):
    calls = []
    log_batch = MlflowClient.log_batch

    def counted(self, run_id, metrics=(), **kwargs):
        if metrics:
            calls.append(sorted({m.step for m in metrics}))
        return log_batch(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", counted)
    logger = MLflowLogger(f"interval{interval}", tracking_uri=mlflow_uri,
                          send_interval_s=interval)
    train(4, [logger])
    assert [s for s, _ in _history(mlflow_uri, logger.run_id, "loss")] == [0, 1, 2, 3]
    assert calls == ([[0], [1], [2], [3]] if sends == 4 else [[0, 1, 2, 3]])


def test_the_tracking_uri_comes_from_the_environment(mlflow_uri, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    assert MLflowLogger("env").tracking_uri == mlflow_uri
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert MLflowLogger("env").tracking_uri == "sqlite:///mlflow.db"


def test_a_local_file_store_works_where_mlflow_allows_it(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    truth = Truth()
    logger = MLflowLogger("files", tracking_uri=uri)
    train(2, [truth, logger])
    assert _history(uri, logger.run_id, ACC) == [(e, truth.rows[e][ACC]) for e in range(2)]


def test_an_unreachable_server_warns_once_and_training_goes_on(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    reference, _ = train(2, [])
    logger = MLflowLogger("down", tracking_uri="http://127.0.0.1:9")
    with pytest.warns(RuntimeWarning) as record:
        result, _ = train(2, [logger])
    assert len(record) == 1
    assert str(record[0].message).startswith(
        "MLflowLogger(experiment='down', tracking_uri='http://127.0.0.1:9') could not connect:")
    assert logger.run_id is None
    got, want = (next(iter(r[0].values())).result for r in (result, reference))
    assert got == want


def test_a_missing_mlflow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError,
                       match=r"MLflowLogger needs the package 'mlflow-skinny'.*"
                             r"pip install 'spikehooks-loggers\[mlflow\]'"):
        MLflowLogger()


@pytest.mark.parametrize("kwargs, match", [
    ({"experiment": ""}, "experiment must be a non-empty str; got ''"),
    ({"run_name": 3}, "run_name must be a non-empty str or None; got 3"),
    ({"send_interval_s": -1}, "send_interval_s must be a number >= 0; got -1"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        MLflowLogger(**kwargs)
