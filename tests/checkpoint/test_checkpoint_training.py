"""Checkpoint with real EventProp training: resume bit for bit, load a checkpoint's weights."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    Callback,
    EventPropCompiler,
    InferenceCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
)
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.serialisers import NumpySerialiser, load
from spikehooks.synapses import Exponential
from spikehooks_checkpoint import Checkpoint

_RNG = np.random.default_rng(0)
X = _RNG.random((24, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 24)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _network():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4, name="in")
        Layer(Dense(("normal", {"mean": 0.5, "sd": 0.3})),
              LeakyIntegrateFire(v_thresh=1.0, relative_reset=False), 8,
              synapse=Exponential(5.0), name="hid")
        out = Layer(Dense(("normal", {"mean": 0.2, "sd": 0.3})), LeakyIntegrate(readout="sum_var"),
                    3, synapse=Exponential(5.0), name="out")
    return network, inp, out


def _train(num_epochs, callbacks, resume_from=None, **kwargs):
    network, inp, out = _network()
    compiled = EventPropCompiler(example_timesteps=20, losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.01}), batch_size=4,
                                 rng_seed=3).compile(network)
    with compiled:
        compiled.train({inp: X}, {out: Y}, num_epochs=num_epochs, callbacks=callbacks,
                       resume_from=resume_from, **kwargs)
    return compiled


def test_resume_from_latest_gives_the_uninterrupted_weights_bit_for_bit():
    reference = _train(5, [Checkpoint(path="ref")])
    _train(2, [Checkpoint()])
    resumed = _train(5, [Checkpoint()], resume_from="latest")
    want, got = reference.state_dict(), resumed.state_dict()
    assert sorted(got["learnable"]) == ["conn0/weight", "conn1/weight"]
    for key in want["learnable"]:
        np.testing.assert_array_equal(got["learnable"][key], want["learnable"][key])
    assert got["optimisers"][0]["step"] == want["optimisers"][0]["step"] == 30
    for name, arrays in want["optimisers"][0]["slots"].items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(got["optimisers"][0]["slots"][name][key], array)
    assert got["rng"] == want["rng"]


def _weights(compiled):
    return compiled.state_dict()["learnable"]["conn0/weight"]


def test_resume_changes_the_weights_of_a_fresh_network():
    network, _, _ = _network()
    fresh = EventPropCompiler(example_timesteps=20, losses="sparse_categorical_crossentropy",
                              optimiser=("adam", {"alpha": 0.01}), batch_size=4,
                              rng_seed=3).compile(network)
    one_epoch = _train(1, [Checkpoint(path="plain")])
    # No checkpoint to resume from: "latest" starts at epoch 0, like a plain run.
    resumed_from_nothing = _train(1, [Checkpoint(path="empty")], resume_from="latest")
    np.testing.assert_array_equal(_weights(resumed_from_nothing), _weights(one_epoch))
    # The checkpoint of epoch 0 resumes at epoch 1 = num_epochs: nothing left to train.
    restored = _train(1, [Checkpoint(path="plain")], resume_from=0)
    np.testing.assert_array_equal(_weights(restored), _weights(one_epoch))
    assert not np.array_equal(_weights(one_epoch), _weights(fresh))


def test_a_checkpoints_weights_load_into_a_network_for_inference():
    trained = _train(3, [Checkpoint(keep_last=1)])
    assert Checkpoint().epochs() == [2]
    network, inp, out = _network()
    load(network, ("checkpoints", 2))
    compiled = InferenceCompiler(evaluate_timesteps=20, batch_size=4).compile(network)
    with compiled:
        np.testing.assert_array_equal(compiled.backend.get_learnable_state()["conn1/weight"],
                                      trained.state_dict()["learnable"]["conn1/weight"])
        metrics, _ = compiled.evaluate({inp: X}, {out: Y}, callbacks=[])
    assert 0.0 <= metrics[out].result <= 1.0


def test_checkpoint_files_hold_the_optimiser_moments():
    _train(1, [Checkpoint()])
    state = NumpySerialiser().load(("checkpoints", 0))
    slots = state["training"]["optimisers"][0]["slots"]
    assert set(slots) == {"m", "v"}
    assert slots["m"]["conn0/weight"].shape == (4, 8)
    assert slots["m"]["conn0/weight"].dtype == np.float64


def test_save_best_only_on_validation_accuracy_keeps_the_improving_epochs():
    seen = []

    class ValidationLog(Callback):
        def set_params(self, compiled_network=None, **kwargs):
            self.network = compiled_network

        def on_validation_end(self, epoch, metrics):
            seen.append(next(iter(metrics.values())).result)

    checkpoint = Checkpoint(monitor="val_accuracy", save_best_only=True)
    _train(5, [ValidationLog(), checkpoint], validation_split=0.25, validation_callbacks=[])
    improving = [e for e, v in enumerate(seen) if all(v > earlier for earlier in seen[:e])]
    assert checkpoint.epochs() == improving
    assert checkpoint.best == max(seen)
    saved = NumpySerialiser().load(("checkpoints", improving[-1]))["checkpoint"]
    assert saved["value"] == max(seen)
