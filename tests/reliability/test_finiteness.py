"""Numbers that stay finite: optimiser parameters are checked wherever they are set,
and training stops at the end of the first batch with a NaN or infinite loss,
gradient or weight, leaving the last good checkpoint the newest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _reliability_helpers import training_net

from spikehooks import Callback, CallbackError, NonFiniteError, NonFiniteWarning
from spikehooks.compilers import EventPropCompiler
from spikehooks.errors import ConfigurationError
from spikehooks.optimisers import SGD, Adam
from spikehooks.training._finite import first_non_finite
from spikehooks_checkpoint import Checkpoint
from spikehooks_schedules import CosineAnnealing, OptimiserParamSchedule


def _train(net, callbacks, num_epochs=3):
    with net["compiled"] as compiled:
        return compiled.train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                              num_epochs=num_epochs, callbacks=callbacks, shuffle=False)


# ------------------------------------------------------------ optimiser parameters
@pytest.mark.parametrize("value", [math.nan, math.inf, -1e-3, "0.1", None, True])
@pytest.mark.parametrize(("optimiser", "param"), [(Adam(), "alpha"), (SGD(0.1), "alpha"),
                                                  (Adam(), "beta1"), (SGD(0.1), "momentum")])
def test_every_assignment_of_a_hyperparameter_is_checked(optimiser, param, value):
    before = getattr(optimiser, param)
    with pytest.raises(ConfigurationError, match=rf"{type(optimiser).__name__} {param} must be"):
        setattr(optimiser, param, value)
    assert getattr(optimiser, param) == before


def test_numpy_scalars_and_a_zero_rate_are_accepted_after_construction():
    adam = Adam(np.float32(0.5))
    adam.alpha = np.float64(0.25)
    assert adam.alpha == 0.25 and type(adam.alpha) is float
    adam.alpha = 0  # frozen: a schedule's floor
    assert adam.alpha == 0.0
    with pytest.raises(ConfigurationError, match="Adam alpha must be a finite number > 0"):
        Adam(0.0)


def test_a_checkpointed_nan_rate_is_refused_on_load():
    state = Adam(0.1).state_dict()
    state["params"]["alpha"] = math.nan
    target = Adam(0.1)
    with pytest.raises(ConfigurationError, match="Adam alpha must be a finite number >= 0; "
                                                 "got nan"):
        target.load_state_dict(state)
    assert target.alpha == 0.1


@pytest.mark.parametrize(("schedule", "message"), [
    (OptimiserParamSchedule("alpha", lambda epoch, alpha: math.nan if epoch == 1 else alpha),
     r"OptimiserParamSchedule set Adam alpha to nan at epoch 1, which is refused: Adam alpha "
     r"must be a finite number >= 0; got nan"),
    (OptimiserParamSchedule("alpha", lambda epoch, alpha: -0.5 if epoch == 2 else alpha),
     r"OptimiserParamSchedule set Adam alpha to -0.5 at epoch 2, which is refused"),
    (CosineAnnealing(total_epochs=2, min_value=0.0, per_batch=True),
     None),
])
def test_a_schedule_setting_a_bad_rate_is_refused_naming_schedule_epoch_and_value(
        schedule, message, tmp_path):
    net = training_net()
    if message is None:  # a valid schedule ending at 0 runs: 0 is a legal (frozen) rate
        _train(net, [schedule], num_epochs=2)
        return
    with pytest.raises(CallbackError, match=message) as info:
        _train(net, [schedule])
    assert info.value.callback is schedule and info.value.hook == "on_epoch_begin"
    assert isinstance(info.value.__cause__, ConfigurationError)
    assert net["compiled"].optimisers[0][0].alpha == 0.01


# ------------------------------------------------------------ non-finite training
class PoisonWeight(Callback):
    """Writes NaN into one weight at the end of (epoch, batch): a stand-in for a blow-up."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)
        self.epoch = None

    def set_params(self, compiled_network=None, **kwargs):
        self.net = compiled_network

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, batch, metrics):
        if (self.epoch, batch) == self.at:
            hidden_to_output = self.net.network.connections[1]
            self.net.backend.get_weight(hidden_to_output)[2, 1] = np.nan


def test_nan_weights_stop_training_at_the_next_batch_naming_epoch_batch_and_connection(
        tmp_path):
    net = training_net()
    checkpoint = Checkpoint(path=tmp_path / "ck")
    with pytest.raises(NonFiniteError) as info:
        _train(net, [checkpoint, PoisonWeight(epoch=1, batch=0)], num_epochs=4)
    error = info.value
    name = net["network"].connections[1].name
    assert (error.epoch, error.batch, error.what, error.connection, error.index) == (
        1, 1, "weight", name, (2, 1))
    assert (f"non-finite weight at epoch 1, batch 1: connection {name!r} weight[2, 1] was nan "
            f"before the optimiser step") in str(error)
    # The last good state (epoch 0) is the newest checkpoint; epoch 1 was never saved.
    assert checkpoint.epochs() == [0]


def test_an_update_that_overflows_is_caught_after_the_step(tmp_path):
    net = training_net(optimiser=SGD(1e300))  # alpha * gradient overflows float32
    with pytest.raises(NonFiniteError, match=r"non-finite weight at epoch 0, batch 0: the "
                                             r"optimiser step made connection") as info:
        _train(net, [Checkpoint(path=tmp_path / "ck")])
    assert info.value.what == "weight" and info.value.index is not None
    assert not (tmp_path / "ck").exists() or Checkpoint(path=tmp_path / "ck").epochs() == []


def test_the_error_keeps_what_the_callbacks_recorded():
    class Batches(Callback):
        key = "batches"

        def __init__(self):
            self.seen = []

        def on_batch_end(self, batch, metrics):
            self.seen.append(batch)

        def get_data(self):
            return self.key, list(self.seen)

    net = training_net()
    with pytest.raises(NonFiniteError) as info:
        _train(net, [Batches(), PoisonWeight(epoch=0, batch=0)])
    assert info.value.cb_data == {"batches": [0]}


def test_warn_mode_warns_once_and_checkpoint_skips_the_bad_epochs(tmp_path):
    net = training_net(on_non_finite="warn")
    checkpoint = Checkpoint(path=tmp_path / "ck")
    with pytest.warns(NonFiniteWarning) as caught:
        _train(net, [checkpoint, PoisonWeight(epoch=1, batch=0)], num_epochs=3)
    messages = [str(w.message) for w in caught]
    training = [m for m in messages if m.startswith("training produced")]
    assert len(training) == 1 and "at epoch 1, batch 1" in training[0]
    assert any(m.startswith("Checkpoint did not save epoch 1") for m in messages)
    assert any(m.startswith("Checkpoint did not save epoch 2") for m in messages)
    assert checkpoint.epochs() == [0]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ConfigurationError, match=r"EventPropCompiler on_non_finite must be one "
                                                 r"of \['raise', 'warn'\]; got 'ignore'"):
        EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                          on_non_finite="ignore")


def test_first_non_finite_finds_the_first_bad_entry_and_ignores_overflowing_sums():
    big = np.full(4, np.finfo(np.float32).max, dtype=np.float32)
    with np.errstate(over="ignore"):
        assert not np.isfinite(big.sum())
    assert first_non_finite([big, np.zeros(3)]) is None
    bad = np.zeros((3, 4))
    bad[2, 1], bad[2, 3] = np.inf, np.nan
    assert first_non_finite([np.ones(2), bad]) == (1, (2, 1))
