"""The Checkpoint callback against a fake training network that follows the training contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _checkpoint_fakes import OUT, Counter, FakeTrainingNetwork

from spikehooks import Callback, CallbackList, registry
from spikehooks.errors import ConfigurationError, UnknownNameError
from spikehooks.metrics import SparseCategoricalAccuracy
from spikehooks.serialisers import MANIFEST_NAME, CheckpointError, NumpySerialiser
from spikehooks_checkpoint import Checkpoint, callback_ids


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _folders(path="checkpoints"):
    return Checkpoint(path=path).epochs()


def test_saves_every_epoch_interval_from_epoch_zero():
    FakeTrainingNetwork().train(5, [Checkpoint(epoch_interval=2)])
    assert _folders() == [0, 2, 4]


def test_checkpoint_holds_weights_training_state_and_callback_states():
    network = FakeTrainingNetwork()
    network.train(2, [Checkpoint(), Counter()])
    state = NumpySerialiser().load(("checkpoints", 1))
    np.testing.assert_array_equal(state["learnable"]["c/weight"],
                                  network.backend.weights["c/weight"])
    assert state["training"]["epoch"] == 2
    assert state["training"]["optimisers"][0]["step"] == 6
    assert state["training"]["rng"] == network.rng.bit_generator.state
    assert state["callbacks"]["Counter#0"]["batches"] == 6
    assert state["callbacks"]["Checkpoint#0"] == {"best": None, "best_epoch": None}


def test_runs_after_callbacks_listed_after_it():
    network = FakeTrainingNetwork()
    network.train(1, [Checkpoint(), Counter()])
    saved = NumpySerialiser().load(("checkpoints", 0))["callbacks"]["Counter#0"]
    assert saved["batches"] == 3


def test_keep_last_deletes_older_checkpoints():
    FakeTrainingNetwork().train(6, [Checkpoint(keep_last=2)])
    assert _folders() == [4, 5]


def test_save_best_only_saves_only_improvements_of_the_monitor():
    network = FakeTrainingNetwork()
    checkpoint = Checkpoint(monitor="val_accuracy", save_best_only=True)
    values = []

    class Spy(Callback):
        def on_epoch_end(self, epoch, metrics):
            values.append(network.validation_metrics[next(iter(network.validation_metrics))].result)

    network.train(8, [Spy(), checkpoint], validate=True)
    best, expected = -1.0, []
    for epoch, value in enumerate(values):
        if value > best:
            best, expected = value, expected + [epoch]
    assert _folders() == expected
    assert checkpoint.best == max(values)
    saved = NumpySerialiser().load(("checkpoints", expected[-1]))["checkpoint"]
    assert saved == {"epoch": expected[-1], "monitor": "val_accuracy", "value": max(values)}


def test_resume_latest_continues_bit_for_bit():
    reference = FakeTrainingNetwork(seed=7)
    ref_counter = Counter()
    reference.train(6, [Checkpoint(path="ref"), ref_counter])

    interrupted = FakeTrainingNetwork(seed=7)
    interrupted.train(3, [Checkpoint(), Counter()])
    resumed = FakeTrainingNetwork(seed=99, alpha=1.0)  # a fresh process: nothing carried over
    counter = Counter()
    resumed.train(6, [Checkpoint(), counter], resume_from="latest")

    np.testing.assert_array_equal(resumed.backend.weights["c/weight"],
                                  reference.backend.weights["c/weight"])
    assert resumed.optimisers[0].state_dict()["step"] == 18
    np.testing.assert_array_equal(resumed.optimisers[0].m, reference.optimisers[0].m)
    assert resumed.rng.bit_generator.state == reference.rng.bit_generator.state
    assert counter.batches == ref_counter.batches == 18
    np.testing.assert_array_equal(counter.total, ref_counter.total)


def test_restore_returns_the_next_epoch_and_zero_without_checkpoints():
    network = FakeTrainingNetwork()
    checkpoint = Checkpoint()
    assert checkpoint.restore(network, "latest") == 0
    network.train(3, [checkpoint])
    assert Checkpoint().restore(FakeTrainingNetwork(), "latest") == 3
    assert Checkpoint().restore(FakeTrainingNetwork(), 1) == 2
    assert Checkpoint().restore(FakeTrainingNetwork(), "checkpoints/0") == 1


def test_corrupt_newest_checkpoint_falls_back_with_a_warning_naming_the_file():
    FakeTrainingNetwork().train(3, [Checkpoint()])
    (damaged,) = NumpySerialiser().folder(("checkpoints", 2)).glob("learnable-*.npz")
    damaged.write_bytes(damaged.read_bytes()[:-1])
    network = FakeTrainingNetwork()
    with pytest.warns(UserWarning, match=f"epoch 2: checkpoint file {damaged}"):
        start = Checkpoint().restore(network, "latest")
    assert start == 2


def test_incomplete_newest_checkpoint_is_skipped():
    FakeTrainingNetwork().train(2, [Checkpoint()])
    (NumpySerialiser().folder(("checkpoints", 1)) / MANIFEST_NAME).unlink()
    with pytest.warns(UserWarning, match="manifest.json does not exist"):
        assert Checkpoint().restore(FakeTrainingNetwork(), "latest") == 1


def test_every_checkpoint_corrupt_is_an_error():
    FakeTrainingNetwork().train(1, [Checkpoint()])
    manifest = NumpySerialiser().folder(("checkpoints", 0)) / MANIFEST_NAME
    manifest.write_text(json.dumps({"format": "x"}))
    with pytest.warns(UserWarning), pytest.raises(CheckpointError, match="no valid checkpoint"):
        Checkpoint().restore(FakeTrainingNetwork(), "latest")


def test_an_explicit_corrupt_checkpoint_is_refused():
    FakeTrainingNetwork().train(1, [Checkpoint()])
    (NumpySerialiser().folder(("checkpoints", 0)) / MANIFEST_NAME).write_text("{")
    with pytest.raises(CheckpointError, match="not a valid manifest"):
        Checkpoint().restore(FakeTrainingNetwork(), 0)


def test_resuming_with_a_callback_missing_from_the_checkpoint_warns():
    FakeTrainingNetwork().train(1, [Checkpoint()])
    with pytest.warns(UserWarning, match="no state for callback Counter#0"):
        FakeTrainingNetwork().train(2, [Checkpoint(), Counter()], resume_from="latest")


def test_callback_ids_use_keys_or_per_class_counts():
    ids = callback_ids([Counter(), Counter(key="a"), Counter(), Checkpoint()])
    assert list(ids) == ["Counter#0", "Counter['a']", "Counter#1", "Checkpoint#0"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epoch_interval": 0}, ConfigurationError, "epoch_interval must be an int >= 1"),
        ({"keep_last": 0}, ConfigurationError, "keep_last must be an int >= 1 or None"),
        ({"save_best_only": True}, ConfigurationError, "monitor must name a metric"),
        ({"monitor": "accuracy", "mode": "best"}, ConfigurationError, "mode must be one of"),
        ({"serialiser": "hdf5"}, UnknownNameError, "unknown serialisers name 'hdf5'"),
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        Checkpoint(**kwargs)


def test_checkpoint_is_registered_by_name():
    made = registry.create("callbacks", ("checkpoint", {"epoch_interval": 3}))
    assert isinstance(made, Checkpoint) and made.epoch_interval == 3


def test_a_wrong_monitor_fails_at_set_up_when_the_run_passes_its_metrics():
    with pytest.raises(ConfigurationError, match="Available: val_out/sparse_categorical_acc"):
        CallbackList([Checkpoint(monitor="val_loss")], mode="train",
                     compiled_network=FakeTrainingNetwork(),
                     metrics={OUT: SparseCategoricalAccuracy()}, global_plugins=False)


def test_both_plugins_name_monitors_with_the_core_monitor():
    import spikehooks_checkpoint.checkpoint as checkpoint_module
    import spikehooks_schedules.plateau as plateau_module
    from spikehooks.callbacks.monitor import Monitor

    assert checkpoint_module.Monitor is Monitor
    assert plateau_module.Monitor is Monitor
