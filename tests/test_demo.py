"""``spikehooks demo``: the main job, end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from spikehooks import ConfigurationError
from spikehooks.demo import run_demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out=out, epochs=3, dataset="digits", seed=1)


def test_demo_writes_figures_checkpoints_and_summary(digits_demo):
    out, summary = digits_demo
    for name in ("raster.png", "voltage.png", "accuracy.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    # One folder per kept checkpoint, beside the file naming the run that owns the folder.
    assert sorted(p.name for p in (out / "checkpoints").iterdir() if p.is_dir()) == ["0", "1", "2"]
    assert (out / "checkpoints" / ".spikehooks-owner.json").is_file()
    assert json.loads((out / "summary.json").read_text()) == summary


def test_demo_summary_reports_learning_and_real_recordings(digits_demo):
    _, summary = digits_demo
    assert summary["epochs_run"] == 3 and not summary["interrupted"]
    assert len(summary["train_accuracy_per_epoch"]) == 3
    assert len(summary["validation_accuracy_per_epoch"]) == 3
    assert summary["test_accuracy"] > 0.5          # chance is 0.1
    assert summary["recorded"]["hidden_spikes"] > 0
    assert summary["recorded"]["input_spikes"] > 0


def test_demo_summary_names_where_each_callback_came_from(digits_demo):
    _, summary = digits_demo
    origins = {c["name"]: c["distribution"] for c in summary["callbacks"]["train"]}
    assert origins["checkpoint"] == "spikehooks-checkpoint"
    assert origins["cosine_annealing"] == "spikehooks-schedules"
    assert origins["batch_progress_bar"] == "spikehooks"
    evaluate = [c["distribution"] for c in summary["callbacks"]["evaluate"]]
    assert evaluate.count("spikehooks-recorders") == 3


def test_demo_runs_on_yin_yang(tmp_path):
    summary = run_demo(out=tmp_path, epochs=1, dataset="yin-yang")
    assert summary["dataset"] == "yin-yang"
    assert (tmp_path / "raster.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"epochs": 0}, "epochs must be an int >= 1"),
])
def test_demo_refuses_bad_arguments_before_training(tmp_path, kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        run_demo(out=tmp_path / "never", **kwargs)
    assert not (tmp_path / "never").exists()


def test_ctrl_c_stops_after_the_current_batch_and_keeps_checkpoints(tmp_path):
    out = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, "-m", "spikehooks.cli", "demo", "--out", str(out), "--epochs", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 600  # a hang guard only: the first epoch takes seconds
    while not (out / "checkpoints" / "1").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "stopping after this batch" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert 2 <= summary["epochs_run"] < 200
    assert (out / "checkpoints" / "1").is_dir()
