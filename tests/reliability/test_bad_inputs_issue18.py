"""Catalogue of wrong uses added with the reliability classes of numbers that stay
finite and errors that name the culprit: unrepresentable inputs, seeds numpy
refuses, batch sizes that cannot fit in memory, ``metrics=None``, a validation
split that holds out nothing, callbacks in a list where they cannot act,
garbage ``SPIKEHOOKS_*`` values, schedules setting bad learning rates, and
callbacks that raise outside their hooks.

Same rules as ``test_bad_inputs.py``: spikehooks' own error type, a message
naming the object at fault and the fix, and nothing half-done.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _reliability_helpers import (
    Case,
    Ctx,
    inference_net,
    nothing_simulated,
    params,
    run_case,
    training_net,
    weights,
    weights_unchanged,
    xy,
)

from spikehooks import Callback, CallbackError, CallbackList, plugins
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.data import PreprocessedSpikes
from spikehooks.errors import ConfigurationError
from spikehooks_checkpoint import Checkpoint
from spikehooks_schedules import (
    CosineAnnealing,
    EarlyStopping,
    OptimiserParamSchedule,
    ReduceOnPlateau,
)


def _evaluate(change, metrics=None):
    def act(ctx: Ctx):
        net = inference_net()
        ctx.saved["compiled"] = net["compiled"]
        x, y, kwargs = change(net)
        kwargs.setdefault("callbacks", [ctx.spy])
        with net["compiled"]:
            return net["compiled"].evaluate(x, y, **kwargs)
    return act


def _train(change, **compiler_kwargs):
    def act(ctx: Ctx):
        net = training_net(**compiler_kwargs)
        ctx.saved.update(compiled=net["compiled"], weights=weights(net["compiled"]))
        x, y, kwargs = change(net)
        kwargs.setdefault("callbacks", [ctx.spy])
        with net["compiled"]:
            return net["compiled"].train(x, y, **{"num_epochs": 2, **kwargs})
    return act


def _env(name, value, then):
    def act(ctx: Ctx):
        ctx.monkeypatch.setenv(name, value)
        plugins.reset()
        return then(ctx)
    return act


def _both(ctx: Ctx) -> None:
    nothing_simulated(ctx)
    weights_unchanged(ctx)


def _complex_times(net):
    spikes = net["x"][0]
    bad = PreprocessedSpikes(spikes.end_spikes, spikes.spike_times.astype(np.complex128))
    return xy(net, x=[bad] * len(net["x"]))


class RaisesInSetParams(Callback):
    key = "fragile"

    def set_params(self, **kwargs):
        raise KeyError("num_batches")


class RaisesInGetData(Callback):
    key = "broken_data"

    def get_data(self):
        raise ValueError("cannot serialise")


VALIDATE = [
    Case("complex-rate-input",
         _evaluate(lambda n: xy(n, x=n["x"].astype(np.complex64))), ConfigurationError,
         r"input of population 'input' must be a real-valued", r"taking the real part",
         nothing_simulated),
    Case("string-rate-input",
         _evaluate(lambda n: xy(n, x=n["x"].astype(str))), ConfigurationError,
         r"input of population 'input' must be a real-valued", r"numpy\.asarray",
         nothing_simulated),
    Case("complex-spike-times", _train(_complex_times), ConfigurationError,
         r"population 'input' example 0 spike_times must be real numbers",
         r"Rebuild it with preprocess_spikes", _both),
    Case("complex-labels", _evaluate(lambda n: xy(n, y=n["y"].astype(complex))),
         ConfigurationError, r"population 'output'", r"Pass one int label per example",
         nothing_simulated),
    Case("negative-seed",
         lambda ctx: InferenceCompiler(evaluate_timesteps=10, rng_seed=-1),
         ConfigurationError, r"InferenceCompiler rng_seed must be an int >= 0.*got -1",
         r"Pass e\.g\. rng_seed=0"),
    Case("float-seed",
         lambda ctx: EventPropCompiler(10, "sparse_categorical_crossentropy", rng_seed=1.5),
         ConfigurationError, r"EventPropCompiler rng_seed must be an int >= 0.*got 1\.5",
         r"rng_seed=0"),
    Case("batch-size-beyond-memory",
         lambda ctx: InferenceCompiler(evaluate_timesteps=10, batch_size=10**13).compile(
             inference_net()["network"]),
         ConfigurationError, r"InferenceCompiler batch_size must fit in memory; got "
                             r"batch_size=10000000000000", r"Pass batch_size=\d+ or less"),
    Case("training-batch-size-beyond-memory",
         lambda ctx: EventPropCompiler(10**4, "sparse_categorical_crossentropy",
                                       batch_size=10**8).compile(training_net()["network"]),
         ConfigurationError, r"EventPropCompiler batch_size must fit in memory",
         r"training keeps every timestep of every example"),
    Case("metrics-none", _train(lambda n: xy(n, metrics=None)), ConfigurationError,
         r"metrics must be a metric name.*got NoneType None for 'output'",
         r"metrics='sparse_categorical_accuracy'", _both),
    Case("evaluate-metrics-none", _evaluate(lambda n: xy(n, metrics=None)),
         ConfigurationError, r"metrics must be a metric name", r"Pass e\.g\. metrics=",
         nothing_simulated),
    Case("validation-split-holds-out-nothing",
         _train(lambda n: xy(n, validation_split=0.05)), ConfigurationError,
         r"validation_split must hold out at least one example; got validation_split=0\.05 "
         r"of 8 examples", r"Pass validation_split >= 0\.125", _both),
    Case("schedule-among-validation-callbacks",
         _train(lambda n: xy(n, validation_split=0.5,
                               validation_callbacks=[CosineAnnealing(total_epochs=2)])),
         ConfigurationError, r"CosineAnnealing cannot act in the validation_callbacks",
         r"Use it in the callbacks of train\(\)", _both),
    Case("early-stopping-among-validation-callbacks",
         _train(lambda n: xy(n, validation_split=0.5,
                               validation_callbacks=[EarlyStopping("accuracy", patience=1)])),
         ConfigurationError, r"EarlyStopping cannot act in the validation_callbacks",
         r"monitor a 'val_' metric", _both),
    Case("plateau-in-evaluate",
         _evaluate(lambda n: xy(n, callbacks=[ReduceOnPlateau("accuracy")])),
         ConfigurationError, r"ReduceOnPlateau cannot act in the callbacks of evaluate\(\)",
         r"Use it in the callbacks of train\(\)", nothing_simulated),
    Case("checkpoint-among-validation-callbacks",
         _train(lambda n: xy(n, validation_split=0.5, validation_callbacks=[Checkpoint()])),
         ConfigurationError, r"Checkpoint cannot act in the validation_callbacks",
         r"Use it in the callbacks of train\(\)", _both),
    Case("checkpoint-path-as-serialiser", lambda ctx: Checkpoint(ctx.tmp_path / "ck"),
         ConfigurationError, r"Checkpoint serialiser must be a Serialiser",
         r"The folder is the path argument"),
    Case("schedule-sets-nan-rate",
         _train(lambda n: xy(n, callbacks=[OptimiserParamSchedule(
             "alpha", lambda epoch, alpha: math.nan)])),
         CallbackError, r"OptimiserParamSchedule set Adam alpha to nan at epoch 0",
         r"Fix the schedule's function", _both),
    Case("schedule-sets-negative-rate",
         _train(lambda n: xy(n, callbacks=[OptimiserParamSchedule(
             "alpha", lambda epoch, alpha: -alpha)])),
         CallbackError, r"set Adam alpha to -0\.01 at epoch 0.*must be a finite number >= 0",
         r"Fix the schedule's function", _both),
    Case("schedule-returns-a-string",
         _train(lambda n: xy(n, callbacks=[OptimiserParamSchedule(
             "alpha", lambda epoch, alpha: "0.1")])),
         CallbackError, r"set Adam alpha to '0\.1' at epoch 0", r"Fix the schedule's", _both),
    Case("callback-raises-in-set-params",
         _evaluate(lambda n: xy(n, callbacks=[RaisesInSetParams()])), CallbackError,
         r"RaisesInSetParams\.set_params raised KeyError.*key is 'fragile'", r"cb_data",
         nothing_simulated),
    Case("garbage-strict-plugins-flag",
         _env("SPIKEHOOKS_STRICT_PLUGINS", "ture", lambda ctx: CallbackList([])),
         ConfigurationError, r"environment variable SPIKEHOOKS_STRICT_PLUGINS must be one of "
                             r"1, true, yes, on", r"Set it to 1 or 0, or unset it"),
    Case("garbage-autoload-flag",
         _env("SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD", "2", lambda ctx: CallbackList([])),
         ConfigurationError, r"SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD.*got '2'", r"Set it to 1 or 0"),
    Case("garbage-plugin-allow-list",
         _env("SPIKEHOOKS_PLUGINS", "a b;c", lambda ctx: CallbackList([])),
         ConfigurationError, r"SPIKEHOOKS_PLUGINS must be comma-separated entry-point names",
         r"SPIKEHOOKS_PLUGINS=name_a,name_b"),
]


def test_catalogue_ids_are_distinct():
    ids = [case.id for case in VALIDATE]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", params(VALIDATE))
def test_bad_input_is_refused_with_a_fix(case, tmp_path, monkeypatch, fake_dist):
    run_case(case, Ctx(tmp_path, monkeypatch, fake_dist))


def test_an_allow_list_naming_an_uninstalled_plugin_warns(monkeypatch, fake_dist):
    fake_dist("good-plugin", {"plugins": {"present": "present_plugin_mod"}},
              {"present_plugin_mod": "import spikehooks\n"})
    monkeypatch.setenv("SPIKEHOOKS_PLUGINS", "present,absent_one")
    with pytest.warns(RuntimeWarning, match=r"SPIKEHOOKS_PLUGINS names absent_one, which no "
                                            r"installed distribution offers.*installed: "
                                            r"present\. Install it or fix the name"):
        loaded = plugins.load_global_plugins(refresh=True)
    assert [p.info.name for p in loaded] == ["present"]


def test_a_failing_get_data_loses_no_other_callbacks_data():
    class Good(Callback):
        key = "good"

        def get_data(self):
            return self.key, [1, 2]

    net = inference_net()
    with net["compiled"], pytest.raises(CallbackError) as info:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[RaisesInGetData(), Good()])
    error = info.value
    assert (error.hook, error.key, type(error.callback)) == ("get_data", "broken_data",
                                                             RaisesInGetData)
    assert "RaisesInGetData.get_data raised ValueError: cannot serialise" in str(error)
    assert error.cb_data == {"good": [1, 2]}


def test_callbacks_get_a_snapshot_of_the_list_not_the_live_one():
    seen = {}

    class Meddler(Callback):
        def set_params(self, callbacks=(), **kwargs):
            seen["callbacks"] = callbacks

    meddler, other = Meddler(), Callback()
    cbl = CallbackList([meddler, other], global_plugins=False)
    assert seen["callbacks"] == (meddler, other)
    assert seen["callbacks"] is not cbl.callbacks
    with pytest.raises(AttributeError):
        seen["callbacks"].append(object())  # a tuple: nothing to mutate
    assert cbl.callbacks == [meddler, other]


@pytest.mark.parametrize("value", [np.int64(3), np.int32(3), np.uint8(3)])
def test_numpy_integers_are_accepted_where_ints_are(value, tmp_path):
    net = training_net()
    checkpoint = Checkpoint(path=tmp_path / "ck", epoch_interval=np.int64(1),
                            keep_last=np.int16(2))
    stopper = EarlyStopping("accuracy", patience=np.int64(5), min_delta=np.float32(0.0))
    with net["compiled"]:
        net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                              num_epochs=value, start_epoch=np.int64(0),
                              validation_split=np.float32(0.25),
                              callbacks=[checkpoint, stopper,
                                         ReduceOnPlateau("accuracy", patience=np.int64(1),
                                                         factor=np.float64(0.5))])
    assert checkpoint.epochs() == [1, 2]
    assert checkpoint.epoch_interval == 1 and type(checkpoint.keep_last) is int
    compiler = EventPropCompiler(np.int64(10), "sparse_categorical_crossentropy",
                                 batch_size=np.int64(4), dt=np.float32(1.0),
                                 rng_seed=np.uint32(7))
    assert (compiler.batch_size, compiler.rng_seed) == (4, 7)
