"""ReduceOnPlateau, EarlyStopping and how monitors name metrics."""

from __future__ import annotations

import numpy as np
import pytest
from _schedules_fakes import OUT, FakeNetwork, Pop, accuracy, callback_list, mse

from spikehooks import CallbackList
from spikehooks.errors import ConfigurationError
from spikehooks.serialisers import NumpySerialiser
from spikehooks_schedules import EarlyStopping, ReduceOnPlateau


def _run_epochs(callback, network, train_values, val_values=None, metric=accuracy):
    cbl = callback_list([callback], network)
    alphas = []
    for epoch, value in enumerate(train_values):
        if val_values is not None:
            cbl.run.validation_metrics = {OUT: metric(val_values[epoch])}
        cbl.on_epoch_end(epoch, {OUT: metric(value)})
        alphas.append(network.optimisers[0].alpha)
        if network.stop_training:
            break
    return cbl, alphas


def test_reduce_on_plateau_reduces_after_patience_plus_one_flat_epochs():
    network = FakeNetwork(alpha=0.1)
    schedule = ReduceOnPlateau("accuracy", factor=0.5, patience=1)
    _, alphas = _run_epochs(schedule, network, [0.5, 0.6, 0.6, 0.6, 0.6, 0.6])
    assert alphas == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025]


def test_reduce_on_plateau_never_goes_below_min_value():
    network = FakeNetwork(alpha=0.1)
    schedule = ReduceOnPlateau("accuracy", factor=0.1, patience=0, min_value=0.02)
    _, alphas = _run_epochs(schedule, network, [0.5, 0.5, 0.5])
    assert alphas == pytest.approx([0.1, 0.02, 0.02])


def test_reduce_on_plateau_min_delta_ignores_tiny_improvements():
    network = FakeNetwork(alpha=0.1)
    schedule = ReduceOnPlateau("mean_square_error", factor=0.5, patience=0, min_delta=0.01)
    _, alphas = _run_epochs(schedule, network, [1.0, 0.995], metric=mse)
    assert alphas == [0.1, 0.05]


def test_reduce_on_plateau_reads_validation_metrics_for_val_names():
    network = FakeNetwork(alpha=0.1)
    schedule = ReduceOnPlateau("val_accuracy", factor=0.5, patience=0)
    _, alphas = _run_epochs(schedule, network, [0.1, 0.2, 0.3], val_values=[0.9, 0.8, 0.95])
    assert alphas == [0.1, 0.05, 0.05]


def test_val_monitor_without_validation_data_says_how_to_fix():
    network = FakeNetwork()
    cbl = callback_list([ReduceOnPlateau("val_accuracy")], network)
    with pytest.raises(ConfigurationError, match="needs validation metrics.*validation_split="):
        cbl.on_epoch_end(0, {OUT: accuracy(0.5)})


def test_per_batch_plateau_checks_after_every_batch():
    network = FakeNetwork(alpha=0.1)
    cbl = callback_list([ReduceOnPlateau("accuracy", factor=0.5, patience=0, per_batch=True)],
                        network)
    for batch in range(3):
        cbl.on_batch_end(batch, {OUT: accuracy(0.5)})
    assert network.optimisers[0].alpha == pytest.approx(0.025)
    assert not cbl.implements("on_epoch_end")


def test_per_batch_with_a_validation_monitor_is_refused():
    with pytest.raises(ConfigurationError, match="per_batch must be False"):
        ReduceOnPlateau("val_accuracy", per_batch=True)


def test_plateau_state_survives_a_serialiser_round_trip(tmp_path):
    network = FakeNetwork()
    schedule = ReduceOnPlateau("accuracy", patience=3)
    _run_epochs(schedule, network, [0.5, 0.4, 0.4])
    ser = NumpySerialiser(tmp_path)
    ser.save(("s",), {"callbacks": {"r": schedule.state_dict()}})
    again = ReduceOnPlateau("accuracy", patience=3)
    again.load_state_dict(ser.load(("s",))["callbacks"]["r"])
    assert (again.best, again.wait) == (0.5, 2)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    network = FakeNetwork()
    stopper = EarlyStopping("val_accuracy", patience=2)
    _, alphas = _run_epochs(stopper, network, [0] * 10, val_values=[0.5, 0.7, 0.6, 0.7, 0.9, 1])
    assert network.stop_training is True
    assert (stopper.best_epoch, stopper.stopped_epoch, len(alphas)) == (1, 3, 4)


def test_early_stopping_restore_best_loads_the_best_weights_at_train_end():
    network = FakeNetwork()
    stopper = EarlyStopping("mean_square_error", patience=5, restore_best=True)
    cbl = callback_list([stopper], network)
    for epoch, loss in enumerate([0.5, 0.2, 0.4]):
        network.backend.weights["c/weight"][:] = epoch
        cbl.on_epoch_end(epoch, {OUT: mse(loss)})
    cbl.on_train_end({})
    np.testing.assert_array_equal(network.backend.weights["c/weight"], [1, 1, 1])


def test_early_stopping_state_keeps_best_weights_through_a_serialiser(tmp_path):
    network = FakeNetwork()
    stopper = EarlyStopping("accuracy", patience=3, restore_best=True)
    network.backend.weights["c/weight"][:] = 7
    _run_epochs(stopper, network, [0.5])
    ser = NumpySerialiser(tmp_path)
    ser.save(("s",), {"callbacks": {"e": stopper.state_dict()}})
    again = EarlyStopping("accuracy", patience=3, restore_best=True)
    callback_list([again], network)
    again.load_state_dict(ser.load(("s",))["callbacks"]["e"])
    network.backend.weights["c/weight"][:] = 0
    again.on_train_end({})
    np.testing.assert_array_equal(network.backend.weights["c/weight"], [7, 7, 7])


def test_early_stopping_patience_must_be_at_least_one():
    with pytest.raises(ConfigurationError, match="patience must be an int >= 1; got 0"):
        EarlyStopping("accuracy", patience=0)


@pytest.mark.parametrize("name", ["accuracy", "sparse_categorical_accuracy", "out/accuracy"])
def test_monitor_accepts_short_full_and_population_names(name):
    network = FakeNetwork(alpha=0.1)
    _, alphas = _run_epochs(ReduceOnPlateau(name, factor=0.5, patience=0), network, [0.5, 0.4])
    assert alphas == [0.1, 0.05]


def test_monitor_with_two_outputs_needs_the_population_and_lists_names():
    cbl = callback_list([ReduceOnPlateau("accuracy")], FakeNetwork())
    metrics = {Pop("a"): accuracy(0.5), Pop("b"): accuracy(0.5)}
    with pytest.raises(ConfigurationError, match="got 2 metrics. Available: a/sparse_categ"):
        cbl.on_epoch_end(0, metrics)


def test_unknown_monitor_is_refused_listing_available_names():
    cbl = callback_list([EarlyStopping("loss", patience=1)], FakeNetwork())
    with pytest.raises(ConfigurationError, match="got no metric. Available: out/sparse_"):
        cbl.on_epoch_end(0, {OUT: accuracy(0.5)})


def test_auto_mode_maximises_accuracy_and_minimises_errors():
    assert ReduceOnPlateau("val_accuracy").monitor.mode == "max"
    assert ReduceOnPlateau("mean_square_error").monitor.mode == "min"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 1.0}, "factor must be in"),
        ({"patience": -1}, "patience must be an int >= 0"),
        ({"mode": "up"}, "mode must be one of"),
        ({"min_delta": -0.1}, "min_delta must be a number >= 0"),
    ],
)
def test_plateau_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        ReduceOnPlateau("accuracy", **kwargs)


def test_a_wrong_monitor_fails_at_set_up_when_the_run_passes_its_metrics():
    network = FakeNetwork()
    with pytest.raises(ConfigurationError, match="'val_loss' must name exactly one metric"):
        CallbackList([EarlyStopping("val_loss", patience=1)], mode="train",
                     compiled_network=network, backend=network.backend,
                     metrics={OUT: accuracy(0.0)}, global_plugins=False)


def test_each_run_starts_with_a_fresh_count():
    network = FakeNetwork()
    stopper = EarlyStopping("accuracy", patience=1)
    _run_epochs(stopper, network, [0.5, 0.4])
    assert stopper.stopped_epoch == 1
    callback_list([stopper], network)
    assert (stopper.best, stopper.wait, stopper.stopped_epoch) == (None, 0, None)


def test_a_run_resumed_after_stopping_stops_at_once():
    network = FakeNetwork()
    stopper = EarlyStopping("accuracy", patience=1)
    _run_epochs(stopper, network, [0.5, 0.4])
    saved = stopper.state_dict()
    resumed_network, again = FakeNetwork(), EarlyStopping("accuracy", patience=1)
    cbl = callback_list([again], resumed_network)
    again.load_state_dict(saved)
    cbl.on_train_begin()
    assert resumed_network.stop_training is True
