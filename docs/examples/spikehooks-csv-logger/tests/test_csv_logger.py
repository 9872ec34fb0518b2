"""Tests of the example plugin, run against the installed distribution."""

from __future__ import annotations

import csv
import logging

from spikehooks import CallbackList, registry


class Output:
    name = "output"


class Accuracy:
    def __init__(self, result):
        self.result = result


def test_csv_logger_is_found_by_name(tmp_path):
    logger = registry.create("callbacks", ("metrics_csv", {"path": tmp_path / "m.csv"}))
    assert type(logger).__name__ == "CSVLogger"


def test_one_row_per_epoch_with_a_header(tmp_path):
    path = tmp_path / "metrics.csv"
    callbacks = CallbackList([("metrics_csv", {"path": path})], mode="train", num_epochs=2)
    callbacks.on_epoch_end(0, {Output(): Accuracy(0.5)})
    callbacks.on_epoch_end(1, {Output(): Accuracy(0.75)})
    with path.open() as stream:
        rows = list(csv.DictReader(stream))
    assert rows == [
        {"phase": "train", "epoch": "0", "output/Accuracy": "0.500000"},
        {"phase": "train", "epoch": "1", "output/Accuracy": "0.750000"},
    ]
    assert callbacks.get_data()["csv_logger"][1]["epoch"] == 1


def test_one_row_per_validation_pass(tmp_path):
    # The validation callbacks of train(): on_test_begin once, epoch hooks per pass.
    path = tmp_path / "metrics.csv"
    callbacks = CallbackList([("metrics_csv", {"path": path})], mode="validate", num_epochs=2)
    callbacks.on_test_begin()
    callbacks.on_epoch_end(0, {Output(): Accuracy(0.25)})
    callbacks.on_epoch_end(1, {Output(): Accuracy(1.0)})
    callbacks.on_test_end({Output(): Accuracy(1.0)})
    with path.open() as stream:
        rows = list(csv.DictReader(stream))
    assert rows == [
        {"phase": "validate", "epoch": "0", "output/Accuracy": "0.250000"},
        {"phase": "validate", "epoch": "1", "output/Accuracy": "1.000000"},
    ]


def test_run_timer_logs_every_run(caplog):
    callbacks = CallbackList([])
    with caplog.at_level(logging.INFO, logger="spikehooks_csv_logger"):
        callbacks.on_test_begin()
        callbacks.on_test_end({})
    assert "test run took" in caplog.text
