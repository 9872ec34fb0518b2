"""Validation monitors (``val_...``) in real training.

train() runs each epoch's validation after the training callbacks'
``on_epoch_end`` (mlGeNN's order), leaves its metrics in
``compiled_network.validation_metrics`` and then calls the training callbacks'
``on_validation_end``, where the monitors act.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    Callback,
    ConfigurationError,
    EventPropCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
)
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential
from spikehooks_schedules import EarlyStopping, ReduceOnPlateau

_RNG = np.random.default_rng(2)
X = _RNG.random((20, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 20)


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
                                 optimiser=("adam", {"alpha": 0.01}), batch_size=4).compile(network)
    return compiled, inp, out


class ValidationSpy(Callback):
    """Records the validation accuracy the training callbacks see after each validation."""

    def __init__(self):
        self.seen = []

    def set_params(self, compiled_network=None, **kwargs):
        self._network = compiled_network

    def on_validation_end(self, epoch, metrics):
        (metric,) = self._network.validation_metrics.values()
        assert metrics is self._network.validation_metrics
        self.seen.append(metric.result)


def _train(num_epochs, callbacks):
    compiled, inp, out = _compiled()
    with compiled:
        result = compiled.train({inp: X}, {out: Y}, num_epochs=num_epochs, callbacks=callbacks,
                                validation_split=0.4, validation_callbacks=[])
    return compiled, result


def test_val_monitor_sees_the_same_epochs_validation_result():
    spy = ValidationSpy()
    stopper = EarlyStopping("val_accuracy", patience=10)
    _, (_, val_metrics, _, _) = _train(3, [spy, stopper])
    (final,) = val_metrics.values()
    assert spy.seen[-1] == final.result
    assert stopper.best == max(spy.seen)


def test_early_stopping_on_a_validation_metric_stops_training():
    spy = ValidationSpy()
    stopper = EarlyStopping("val_accuracy", patience=1, min_delta=2.0)
    compiled, _ = _train(10, [spy, stopper])
    assert compiled.stop_training is True
    assert (stopper.stopped_epoch, len(spy.seen)) == (1, 2)


def test_reduce_on_plateau_on_a_validation_metric_reduces_the_rate():
    plateau = ReduceOnPlateau("val_out/accuracy", factor=0.5, patience=0, min_delta=2.0)
    compiled, _ = _train(3, [plateau])
    assert compiled.optimisers[0][0].alpha == pytest.approx(0.0025)


def test_a_misspelt_validation_monitor_fails_before_training():
    with pytest.raises(Exception, match="'val_acuracy' must name exactly one metric"):
        _train(3, [EarlyStopping("val_acuracy", patience=1)])


def test_a_validation_monitor_without_validation_data_is_refused_before_training():
    compiled, inp, out = _compiled()
    before = compiled.backend.get_learnable_state()
    with compiled, pytest.raises(ConfigurationError, match="validation_split="):
        compiled.train({inp: X}, {out: Y}, num_epochs=2,
                       callbacks=[EarlyStopping("val_accuracy", patience=1)])
    after = compiled.backend.get_learnable_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_checkpoint_state_saved_after_validation_includes_the_monitors_update(tmp_path):
    from spikehooks_checkpoint import Checkpoint

    stopper = EarlyStopping("val_accuracy", patience=10)
    checkpoint = Checkpoint(path=str(tmp_path / "ck"))
    _train(2, [checkpoint, stopper])
    saved = checkpoint.serialiser.load((str(tmp_path / "ck"), 1))
    assert saved["callbacks"]["EarlyStopping#0"]["best_epoch"] == stopper.best_epoch
