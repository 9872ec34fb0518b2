"""CSVLogger: one row per epoch with real values, resume without a repeated epoch, failures."""

from __future__ import annotations

import csv
import errno

import numpy as np
import pandas as pd
import pytest
from _logger_runs import Truth, train

from spikehooks import ConfigurationError
from spikehooks_checkpoint import Checkpoint
from spikehooks_loggers import CSVLogger, csv_logger


def _rows(path="training.csv"):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_one_row_per_epoch_holds_every_metric_rate_loss_and_time():
    truth = Truth()
    train(3, [truth, CSVLogger("logs/training.csv")], validation_split=0.25)
    rows = _rows("logs/training.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["epoch", "epoch_time_s", "learning_rate", "loss",
                             "sparse_categorical_accuracy", "val_sparse_categorical_accuracy"]
    for row in rows:
        want = truth.rows[int(row["epoch"])]
        for column, value in want.items():
            assert float(row[column]) == value, column   # written with repr: exact
        assert 0.0 < float(row["epoch_time_s"]) < 60.0


def test_a_logger_also_among_the_validation_callbacks_writes_the_same_rows():
    # Validation callbacks get epoch hooks around each pass (mlGeNN's order); a logger sitting
    # in both lists must not take a validation pass for a training epoch.
    truth = Truth()
    logger = CSVLogger("both.csv")
    train(3, [truth, logger], validation_split=0.25, validation_callbacks=[logger])
    rows = _rows("both.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    for row in rows:
        want = truth.rows[int(row["epoch"])]
        assert len(want) == 4
        for column, value in want.items():
            assert float(row[column]) == value, column


def test_a_logger_only_among_the_validation_callbacks_writes_nothing(tmp_path):
    train(2, [], validation_split=0.25, validation_callbacks=[CSVLogger("val.csv")])
    assert not (tmp_path / "val.csv").exists()


def test_pandas_reads_the_file_with_numeric_columns():
    truth = Truth()
    train(2, [truth, CSVLogger()])
    frame = pd.read_csv("training.csv")
    assert list(frame["epoch"]) == [0, 1]
    assert frame["loss"].dtype == np.float64
    np.testing.assert_array_equal(frame["loss"], [truth.rows[0]["loss"], truth.rows[1]["loss"]])


def test_evaluate_adds_test_columns_to_the_last_epochs_row():
    logger = CSVLogger()
    _, test_accuracy = train(2, [logger], evaluate_callbacks=[logger])
    rows = _rows()
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert rows[0]["test_sparse_categorical_accuracy"] == ""
    assert float(rows[1]["test_sparse_categorical_accuracy"]) == test_accuracy


def test_resume_replaces_the_epochs_after_the_checkpoint_and_matches_an_unbroken_run():
    reference = Truth()
    train(5, [Checkpoint(path="ref"), reference, CSVLogger("ref.csv")], validation_split=0.25)
    # Checkpoints after epochs 0 and 2; epoch 3 is logged but not saved, as in a crash.
    train(4, [Checkpoint(epoch_interval=2), CSVLogger()], validation_split=0.25)
    assert [r["epoch"] for r in _rows()] == ["0", "1", "2", "3"]
    train(5, [Checkpoint(epoch_interval=2), CSVLogger()], validation_split=0.25,
          resume_from="latest")
    rows = _rows()
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3", "4"]
    for row, want in zip(rows, _rows("ref.csv"), strict=True):
        del row["epoch_time_s"], want["epoch_time_s"]
        assert row == want


def test_a_run_from_epoch_zero_starts_a_new_file():
    train(3, [CSVLogger()])
    train(1, [CSVLogger()])
    assert [r["epoch"] for r in _rows()] == ["0"]


def test_a_full_disk_warns_naming_the_logger_and_training_goes_on(monkeypatch):
    reference, _ = train(3, [])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(csv_logger, "open", full, raising=False)
    with pytest.warns(RuntimeWarning) as record:
        result, _ = train(3, [CSVLogger()])
    messages = [str(w.message) for w in record]
    assert [m.split(": OSError")[0] for m in messages] == [
        "CSVLogger(filename='training.csv') could not open the log",
        *(f"CSVLogger(filename='training.csv') could not write epoch {e}" for e in range(3)),
    ]
    assert all("No space left on device" in m and "Training goes on" in m for m in messages)
    assert result[0][next(iter(result[0]))].result == reference[0][next(iter(reference[0]))].result


@pytest.mark.parametrize("kwargs, match", [
    ({"separator": ";;"}, "separator must be one character"),
    ({"separator": "\n"}, "separator must be one character"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        CSVLogger(**kwargs)


def test_a_folder_as_filename_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="filename must name a file; got the folder"):
        CSVLogger(tmp_path)
