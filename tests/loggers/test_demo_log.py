"""``spikehooks demo --log tensorboard|mlflow|csv``."""

from __future__ import annotations

import csv
import json

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from spikehooks import ConfigurationError, cli
from spikehooks.demo import run_demo

ACC = "sparse_categorical_accuracy"


def _demo(tmp_path, log):
    assert cli.main(["demo", "--out", str(tmp_path), "--epochs", "2", "--log", log]) == 0
    return json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))


def test_demo_log_csv_writes_one_row_per_epoch_and_the_test_accuracy(tmp_path):
    summary = _demo(tmp_path, "csv")
    with open(tmp_path / "training.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert [float(r[ACC]) for r in rows] == summary["train_accuracy_per_epoch"]
    assert [float(r["val_" + ACC]) for r in rows] == summary["validation_accuracy_per_epoch"]
    assert float(rows[1]["test_" + ACC]) == summary["test_accuracy"]
    assert summary["callbacks"]["train"][-2]["distribution"] == "spikehooks-loggers"


def test_demo_log_tensorboard_has_curves_and_the_recorded_spikes(tmp_path):
    summary = _demo(tmp_path, "tensorboard")
    train = EventAccumulator(str(tmp_path / "tensorboard" / "train"))
    train.Reload()
    assert [e.step for e in train.Scalars(ACC)] == [0, 1]
    assert "weights/conn0/weight" in train.Tags()["histograms"]
    test = EventAccumulator(str(tmp_path / "tensorboard" / "test"))
    test.Reload()
    assert [(e.step, e.value) for e in test.Scalars(ACC)] == [
        (1, pytest.approx(summary["test_accuracy"]))]
    assert sorted(test.Tags()["images"]) == ["spikes/hidden_spikes", "spikes/input_spikes"]


def test_demo_log_mlflow_keeps_metrics_checkpoint_and_figures(tmp_path, monkeypatch, mlflow_uri):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    summary = _demo(tmp_path, "mlflow")
    run_id = summary["log"]["run_id"]
    client = MlflowClient(mlflow_uri)
    history = client.get_metric_history(run_id, "test_" + ACC)
    assert [(m.step, m.value) for m in history] == [(1, summary["test_accuracy"])]
    assert sorted(f.path for f in client.list_artifacts(run_id, "figures")) == [
        "figures/accuracy.png", "figures/raster.png", "figures/voltage.png"]
    assert [f.path for f in client.list_artifacts(run_id, "checkpoint")] == ["checkpoint/1"]


def test_demo_refuses_an_unknown_logger(tmp_path):
    with pytest.raises(ConfigurationError, match="demo log must be one of"):
        run_demo(out=tmp_path, epochs=1, log="wandb")
