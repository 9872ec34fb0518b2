"""OptimiserParamSchedule and the closed-form schedules, against fake optimisers."""

from __future__ import annotations

import math

import pytest
from _schedules_fakes import FakeNetwork, callback_list

from spikehooks import registry
from spikehooks.errors import ConfigurationError
from spikehooks_schedules import (
    CosineAnnealing,
    ExponentialDecay,
    OptimiserParamSchedule,
    StepDecay,
)


def _alphas_per_epoch(schedule, epochs, network=None):
    network = network or FakeNetwork(alpha=0.1)
    cbl = callback_list([schedule], network)
    values = []
    for epoch in epochs:
        cbl.on_epoch_begin(epoch)
        values.append(network.optimisers[0].alpha)
    return values


def test_param_schedule_calls_func_at_every_epoch_from_zero():
    calls = []

    def halve(epoch, current):
        calls.append((epoch, current))
        return current / 2

    network = FakeNetwork(num_optimisers=2, alpha=1.0)
    cbl = callback_list([OptimiserParamSchedule("alpha", halve)], network)
    for epoch in range(3):
        cbl.on_epoch_begin(epoch)
    assert [o.alpha for o in network.optimisers] == [0.125, 0.125]
    assert calls[:2] == [(0, 1.0), (0, 1.0)]
    assert calls[-1] == (2, 0.25)


def test_param_schedule_unknown_parameter_lists_the_optimisers_parameters():
    with pytest.raises(ConfigurationError, match=r"one of \['alpha', 'beta1'\]; got 'lr'"):
        callback_list([OptimiserParamSchedule("lr", lambda e, v: v)], FakeNetwork())


def test_param_schedule_needs_optimisers():
    network = FakeNetwork()
    network.optimisers = []
    with pytest.raises(ConfigurationError, match="needs a compiled network with optimisers"):
        callback_list([OptimiserParamSchedule("alpha", lambda e, v: v)], network)


def test_param_schedule_func_must_be_callable():
    with pytest.raises(ConfigurationError, match="func must be callable"):
        OptimiserParamSchedule("alpha", 0.5)


def test_step_decay_multiplies_by_gamma_every_step_size_epochs():
    values = _alphas_per_epoch(StepDecay(2, 0.5), range(6))
    assert values == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_exponential_decay_follows_gamma_to_the_epoch():
    values = _alphas_per_epoch(ExponentialDecay(0.9), range(4))
    assert values == pytest.approx([0.1 * 0.9**e for e in range(4)], rel=1e-15)


def test_cosine_annealing_warms_up_then_follows_a_half_cosine():
    schedule = CosineAnnealing(6, warmup_epochs=2, min_value=0.01)
    values = _alphas_per_epoch(schedule, range(8))
    half = 0.01 + 0.09 * (1 + math.cos(math.pi * 2 / 4)) / 2
    expected = [0.1 / 3, 0.2 / 3, 0.1, None, half, None, 0.01, 0.01]
    for got, want in zip(values, expected, strict=True):
        if want is not None:
            assert got == pytest.approx(want, rel=1e-12)
    assert values[2] > values[3] > values[4] > values[5] > values[6]


def test_per_batch_applies_the_curve_at_fractional_epochs():
    network = FakeNetwork(alpha=1.0)
    cbl = callback_list([ExponentialDecay(0.5, per_batch=True)], network, num_batches=4)
    cbl.on_epoch_begin(1)
    cbl.on_batch_begin(2)
    assert network.optimisers[0].alpha == pytest.approx(0.5**1.5, rel=1e-15)


def test_per_epoch_schedules_add_no_batch_hook():
    cbl = callback_list([StepDecay(2, 0.5)], FakeNetwork())
    assert not cbl.implements("on_batch_begin")


def test_schedule_changes_any_named_parameter():
    network = FakeNetwork()
    callback_list([StepDecay(1, 0.5, param="beta1")], network).on_epoch_begin(1)
    assert network.optimisers[0].beta1 == 0.45


def test_state_dict_carries_the_initial_value_into_a_resumed_run():
    first = FakeNetwork(alpha=0.1)
    schedule = StepDecay(1, 0.5)
    cbl = callback_list([schedule], first)
    for epoch in range(3):
        cbl.on_epoch_begin(epoch)
    saved = schedule.state_dict()
    resumed = FakeNetwork(alpha=first.optimisers[0].alpha)  # the optimiser state was restored
    again = StepDecay(1, 0.5)
    callback_list([again], resumed)
    again.load_state_dict(saved)
    again.on_epoch_begin(3)
    cbl.on_epoch_begin(3)
    assert resumed.optimisers[0].alpha == first.optimisers[0].alpha == 0.1 * 0.5**3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StepDecay(0, 0.5), "step_size must be a finite number > 0"),
        (lambda: StepDecay(1, -1.0), "gamma must be a finite number > 0"),
        (lambda: ExponentialDecay(math.nan), "gamma must be a finite number > 0"),
        (lambda: CosineAnnealing(5, warmup_epochs=5), "warmup_epochs must be < total_epochs"),
        (lambda: CosineAnnealing(5, min_value=-1), "min_value must be a finite number >= 0"),
        (lambda: StepDecay(1, 0.5, per_batch="yes"), "per_batch must be True or False"),
    ],
)
def test_bad_arguments_are_refused_at_construction(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_schedules_are_registered_by_name():
    made = registry.create("callbacks", ("cosine_annealing", {"total_epochs": 10}))
    assert isinstance(made, CosineAnnealing) and made.total_epochs == 10.0
