"""The loggers under ``mpiexec``: every rank gets them, rank 0 alone writes the run's log."""

from __future__ import annotations

import csv
import os

import pytest
from _mpi_launch import run_ok


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def test_every_rank_gets_the_loggers_and_rank_0_alone_writes(tmp_path):
    pytest.importorskip("spikehooks_loggers")
    logs = tmp_path / "logs"
    results = run_ok(2, "train", "--shard", "--shuffle", "--task", "ce", "--epochs", "2",
                     "--loggers", str(logs), out=tmp_path)
    # Every rank reports the same global values: the log of rank 0 is the run's.
    truth = results[0]["epoch_values"]
    assert sorted(truth) == [0, 1]
    assert results[1]["epoch_values"] == truth
    # One CSV file (no per-rank copies), one row per epoch, exactly the global values.
    assert sorted(os.listdir(logs)) == ["tb", "training.csv"]
    with open(logs / "training.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert set(rows[0]) == {"epoch", "epoch_time_s", *truth[0]}
    for row in rows:
        for column, value in truth[int(row["epoch"])].items():
            assert float(row[column]) == value, column   # written with repr: exact
    # One TensorBoard run: one event file per sub-folder, one point per epoch and scalar.
    tb = logs / "tb"
    runs = sorted(p.name for p in tb.iterdir() if p.is_dir())
    assert runs == ["train", "validation"]
    for name in runs:
        assert len([f for f in os.listdir(tb / name) if f.startswith("events.out")]) == 1
    train, validation = _scalars(tb / "train"), _scalars(tb / "validation")
    assert set(train) == {"epoch_time_s", *(k for k in truth[0] if not k.startswith("val_"))}
    for tag, points in train.items():
        assert [step for step, _ in points] == [0, 1], tag
    for tag in ("loss", "learning_rate", "sparse_categorical_accuracy"):
        assert train[tag] == [(e, pytest.approx(truth[e][tag])) for e in (0, 1)], tag
    assert validation == {"sparse_categorical_accuracy": [
        (e, pytest.approx(truth[e]["val_sparse_categorical_accuracy"])) for e in (0, 1)]}
