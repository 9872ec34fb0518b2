"""train(num_epochs, start_epoch) counts as mlGeNN does; resume_from finishes the planned run."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential
from spikehooks_checkpoint import Checkpoint

_RNG = np.random.default_rng(1)
X = _RNG.random((8, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 8)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class Epochs(Callback):
    """Log the epochs begun; stop training after epoch ``stop_after``."""

    def __init__(self, stop_after=None):
        self.seen, self.stop_after = [], stop_after

    def set_params(self, compiled_network=None, **kwargs):
        self.net = compiled_network

    def on_epoch_begin(self, epoch):
        self.seen.append(epoch)

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.stop_after:
            self.net.stop_training = True


def _train(callbacks, **kwargs):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4)
        Layer(Dense(("normal", {"mean": 0.5, "sd": 0.3})),
              LeakyIntegrateFire(v_thresh=1.0, relative_reset=False), 6, synapse=Exponential(5.0))
        out = Layer(Dense(("normal", {"mean": 0.2, "sd": 0.3})),
                    LeakyIntegrate(readout="sum_var"), 3, synapse=Exponential(5.0))
    compiled = EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                                 optimiser="adam", batch_size=4, rng_seed=3).compile(network)
    with compiled:
        compiled.train({inp: X}, {out: Y}, callbacks=callbacks, **kwargs)
    return compiled


@pytest.mark.parametrize(("start", "count"), [(0, 2), (3, 2), (3, 5)])
def test_num_epochs_counts_from_start_epoch(start, count):
    log = Epochs()
    _train([log], start_epoch=start, num_epochs=count)
    assert log.seen == list(range(start, start + count))


def test_rerunning_with_resume_from_finishes_the_planned_run():
    planned = {"start_epoch": 2, "num_epochs": 4, "resume_from": "latest"}
    first = Epochs(stop_after=3)  # the job is "killed" after its second epoch
    _train([Checkpoint(), first], **planned)
    assert first.seen == [2, 3]
    second = Epochs()
    _train([Checkpoint(), second], **planned)
    assert second.seen == [4, 5]
    third = Epochs()  # the planned run is complete: nothing left to train
    _train([Checkpoint(), third], **planned)
    assert third.seen == []


def test_resumed_run_matches_the_uninterrupted_one_bit_for_bit():
    straight = _train([Checkpoint(path="straight")], start_epoch=1, num_epochs=3)
    planned = {"start_epoch": 1, "num_epochs": 3, "resume_from": "latest"}
    _train([Checkpoint(path="cut"), Epochs(stop_after=1)], **planned)
    resumed = _train([Checkpoint(path="cut"), Epochs()], **planned)
    expected = straight.state_dict()["learnable"]
    got = resumed.state_dict()["learnable"]
    assert sorted(expected) == sorted(got)
    assert all(expected[k].tobytes() == got[k].tobytes() for k in expected)
