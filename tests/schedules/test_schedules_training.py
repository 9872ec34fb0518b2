"""Schedules and early stopping in real EventProp training."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential
from spikehooks_schedules import EarlyStopping, ExponentialDecay, ReduceOnPlateau, StepDecay

_RNG = np.random.default_rng(1)
X = _RNG.random((16, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 16)


class AlphaSpy(Callback):
    """Records the learning rate each batch trains with."""

    def __init__(self):
        self.seen = []

    def set_params(self, compiled_network=None, **kwargs):
        self._optimiser = compiled_network.optimisers[0][0]

    def on_batch_begin(self, batch):
        self.seen.append(self._optimiser.alpha)


def _compiled():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4, name="in")
        Layer(Dense(("normal", {"mean": 0.5, "sd": 0.3})),
              LeakyIntegrateFire(v_thresh=1.0, relative_reset=False), 6,
              synapse=Exponential(5.0), name="hid")
        out = Layer(Dense(("normal", {"mean": 0.2, "sd": 0.3})), LeakyIntegrate(readout="sum_var"),
                    3, synapse=Exponential(5.0), name="out")
    compiled = EventPropCompiler(example_timesteps=15, losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.01}), batch_size=8).compile(network)
    return compiled, inp, out


def _train(num_epochs, callbacks):
    compiled, inp, out = _compiled()
    with compiled:
        compiled.train({inp: X}, {out: Y}, num_epochs=num_epochs, callbacks=callbacks)
    return compiled


def test_step_decay_sets_the_rate_each_epoch_trains_with():
    spy = AlphaSpy()
    _train(4, [StepDecay(2, 0.1), spy])
    assert spy.seen == pytest.approx([0.01] * 4 + [0.001] * 4)


def test_per_batch_decay_changes_the_rate_between_batches():
    spy = AlphaSpy()
    _train(2, [ExponentialDecay(0.25, per_batch=True), spy])
    assert spy.seen == pytest.approx([0.01, 0.005, 0.0025, 0.00125])


def test_early_stopping_ends_training_and_sets_stop_training():
    stopper = EarlyStopping("accuracy", patience=1, min_delta=2.0)
    spy = AlphaSpy()
    compiled = _train(10, [stopper, spy])
    assert compiled.stop_training is True
    assert (stopper.best_epoch, stopper.stopped_epoch, len(spy.seen)) == (0, 1, 4)


def test_reduce_on_plateau_reads_the_real_accuracy_metric():
    plateau = ReduceOnPlateau("out/accuracy", factor=0.5, patience=0, min_delta=2.0)
    spy = AlphaSpy()
    _train(3, [plateau, spy])
    assert spy.seen == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.005, 0.005])
    assert 0.0 <= plateau.best <= 1.0
