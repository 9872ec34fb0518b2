"""What holds for every logger: rank 0 only, evaluate alone, registered names, the CLI listing."""

from __future__ import annotations

import csv
import json
import os

import pytest
from _logger_runs import SetRank, X, Y, network, train

from spikehooks import Callback, CallbackError, InferenceCompiler, cli, registry
from spikehooks_loggers import CSVLogger, MLflowLogger, TensorBoardLogger

ACC = "sparse_categorical_accuracy"


def _loggers(uri):
    return [CSVLogger("logs/training.csv"), TensorBoardLogger("logs/tb"),
            MLflowLogger("ranks", tracking_uri=uri)]


def test_only_rank_0_writes(mlflow_uri):
    quiet = _loggers(mlflow_uri)
    train(2, [SetRank(1), *quiet], evaluate_callbacks=[SetRank(1), *quiet])
    assert not os.path.exists("logs")
    assert quiet[2].run_id is None
    loud = _loggers(mlflow_uri)
    train(2, [SetRank(0), *loud])
    assert sorted(os.listdir("logs")) == ["tb", "training.csv"]
    assert loud[2].run_id is not None


def test_evaluate_alone_logs_the_test_metrics(mlflow_uri):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    net, inp, _, out = network()
    loggers = [CSVLogger(), TensorBoardLogger("tb"), MLflowLogger("alone", tracking_uri=mlflow_uri)]
    compiled = InferenceCompiler(evaluate_timesteps=20, batch_size=4).compile(net)
    with compiled:
        metrics, _ = compiled.evaluate({inp: X}, {out: Y}, callbacks=loggers)
    accuracy = metrics[out].result
    with open("training.csv", newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == [{"epoch": "", "test_" + ACC: repr(accuracy)}]
    events = EventAccumulator("tb/test")
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars(ACC)] == [(0, pytest.approx(accuracy))]
    from mlflow.tracking import MlflowClient

    history = MlflowClient(mlflow_uri).get_metric_history(loggers[2].run_id, "test_" + ACC)
    assert [(m.step, m.value) for m in history] == [(0, accuracy)]


@pytest.mark.parametrize("name, cls", [("csv_logger", CSVLogger),
                                       ("tensorboard", TensorBoardLogger),
                                       ("mlflow", MLflowLogger)])
def test_each_logger_is_registered_by_name(name, cls):
    assert registry.resolve("callbacks", name) is cls
    assert registry.find("callbacks", name).distribution == "spikehooks-loggers"


def test_spikehooks_plugins_lists_the_loggers_with_their_hooks(capsys):
    assert cli.main(["plugins", "--json", "--load"]) == 0
    records = {(r["kind"], r["name"]): r for r in json.loads(capsys.readouterr().out)}
    for name in ("csv_logger", "tensorboard", "mlflow"):
        record = records[("callbacks", name)]
        assert record["distribution"] == "spikehooks-loggers" and record["status"] == "loaded"
        assert {"on_train_begin", "on_epoch_end", "on_validation_end",
                "on_test_end"} <= set(record["hooks"])
    assert "on_batch_end" in records[("callbacks", "tensorboard")]["hooks"]


class Crash(Callback):
    def on_epoch_end(self, epoch, metrics):
        if epoch == 1:
            raise RuntimeError("out of memory")


def test_a_run_that_crashed_is_closed_when_the_logger_runs_again(mlflow_uri):
    from mlflow.tracking import MlflowClient

    loggers = [CSVLogger(), TensorBoardLogger("tb"), MLflowLogger("crash", tracking_uri=mlflow_uri)]
    with pytest.raises(CallbackError, match="out of memory"):
        train(3, [*loggers, Crash()])
    train(2, loggers)
    with open("training.csv", newline="", encoding="utf-8") as handle:
        assert [r["epoch"] for r in csv.DictReader(handle)] == ["0", "1"]
    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("crash").experiment_id
    runs = {r.info.run_id: r.info.status for r in client.search_runs([experiment])}
    assert runs.pop(loggers[2].run_id) == "FINISHED"
    assert list(runs.values()) == ["FAILED"]


def test_writes_of_a_crashed_run_that_finish_late_do_not_block_the_next_run():
    # The crashed run's epochs are written only after the run ended and the core
    # released the log folder: the folder must still count as this logger's.
    import threading

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger, gate, drained = TensorBoardLogger("tb"), threading.Event(), threading.Event()
    logger.write_epoch = lambda *args: (gate.wait(), TensorBoardLogger.write_epoch(logger, *args))
    with pytest.raises(CallbackError, match="out of memory"):
        train(3, [logger, Crash()])
    gate.set()
    logger._submit("wait for the queued writes", drained.set)
    drained.wait()
    del logger.write_epoch
    train(2, [logger])
    events = EventAccumulator("tb/train", purge_orphaned_data=True)
    events.Reload()
    assert [e.step for e in events.Scalars("loss")] == [0, 1]
