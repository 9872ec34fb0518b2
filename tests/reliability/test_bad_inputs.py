"""Catalogue of wrong uses of the core, the runtime, training and the data helpers.

Every case must fail with spikehooks' own error type, a message naming the
object at fault and the fix, and leave nothing half-done (no simulated
batch, no changed weight, no population added).  The plugins' cases are in
``test_bad_inputs_plugins.py``, with training's.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reliability_helpers import (
    Case,
    Ctx,
    Spy,
    inference_net,
    nothing_added,
    nothing_simulated,
    params,
    run_case,
    xy,
)

from spikehooks import (
    Callback,
    CallbackList,
    InputLayer,
    Layer,
    Network,
    Population,
    SequentialNetwork,
    hookimpl,
    registry,
)
from spikehooks.compilers import InferenceCompiler
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.data import (
    linear_latency_encode_data,
    log_latency_encode_data,
    preprocess_spikes,
)
from spikehooks.errors import (
    AmbiguousNameError,
    CallbackValidationError,
    ConfigurationError,
    NotCompiledError,
    PluginError,
    UnknownNameError,
)
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

# ----------------------------------------------------------------- core: callbacks


def _callbacks(*callbacks):
    return lambda ctx: CallbackList(list(callbacks), global_plugins=False)


class Misspelt(Callback):
    def on_batch_ned(self, batch, metrics):
        pass


class WrongArgs(Callback):
    def on_batch_end(self, b, m):
        pass


class StrictParams(Callback):
    def set_params(self, data):
        pass


class Keyed(Callback):
    def __init__(self, key):
        self.key = key


class Wrapper(Callback):
    @hookimpl(wrapper=True)
    def on_batch_end(self, batch, metrics):
        return (yield)


_SHARED = Callback()

CORE = [
    Case("misspelt-hook", _callbacks(Misspelt()), CallbackValidationError,
         r"Misspelt\.on_batch_ned", r"def on_batch_end\(self, batch, metrics\).*Rename"),
    Case("hook-wrong-argument-names", _callbacks(WrongArgs()), CallbackValidationError,
         r"WrongArgs\.on_batch_end", r"Rename the arguments"),
    Case("set-params-without-kwargs", _callbacks(StrictParams()), CallbackValidationError,
         r"StrictParams\.set_params", r"Add a trailing \*\*kwargs"),
    Case("callback-class-not-instance", _callbacks(Misspelt), CallbackValidationError,
         r"class Misspelt", r"Instantiate it: Misspelt\(\.\.\.\)"),
    Case("duplicate-callback-keys", _callbacks(Keyed("a"), Keyed("a")), CallbackValidationError,
         r"key 'a'", r"Give each callback its own key="),
    Case("same-callback-object-twice", _callbacks(_SHARED, _SHARED), CallbackValidationError,
         r"Callback", r"Create a second instance"),
    Case("hook-wrapper", _callbacks(Wrapper()), CallbackValidationError,
         r"Wrapper\.on_batch_end", r"Use a plain implementation"),
    Case("unknown-callback-name", _callbacks("spike_recorderr"), UnknownNameError,
         r"'spike_recorderr'", r"Did you mean 'spike_recorder'"),
    Case("callback-spec-kwargs-not-dict", _callbacks(("spike_recorder", [1])),
         ConfigurationError, r"'spike_recorder'", r"Write \('spike_recorder', \{\.\.\.\}\)"),
    Case("empty-callback-name", _callbacks(""), ConfigurationError,
         r"callback name", r"registered name"),
    Case("unknown-constructor-argument",
         lambda ctx: registry.create("optimisers", ("adam", {"alpah": 0.1})),
         ConfigurationError, r"'adam'", r"Check the constructor arguments of Adam"),
]


def _entry_point_to_nothing(ctx: Ctx):
    ctx.fake_dist("ghost-dist", {"callbacks": {"ghost": "ghost_mod:Missing"}},
                  {"ghost_mod": "X = 1\n"})
    return registry.create("callbacks", "ghost")


def _two_distributions(ctx: Ctx):
    source = "from spikehooks import Callback\nclass Twin(Callback):\n    pass\n"
    ctx.fake_dist("twin-a", {"callbacks": {"twin": "twin_a_mod:Twin"}}, {"twin_a_mod": source})
    ctx.fake_dist("twin-b", {"callbacks": {"twin": "twin_b_mod:Twin"}}, {"twin_b_mod": source})
    return registry.create("callbacks", "twin")


def _other_names_still_resolve(ctx: Ctx) -> None:
    assert type(registry.create("callbacks", "batch_progress_bar")).__name__ == \
        "BatchProgressBar"


CORE += [
    Case("entry-point-pointing-at-nothing", _entry_point_to_nothing, PluginError,
         r"ghost = ghost_mod:Missing \(ghost-dist 1\.0\)", r"Reinstall or fix ghost-dist",
         _other_names_still_resolve),
    Case("name-offered-by-two-distributions", _two_distributions, AmbiguousNameError,
         r"twin-a.*twin-b", r"'twin-a:twin' or 'twin-b:twin'", _other_names_still_resolve),
]

# ----------------------------------------------------------------- runtime: building


def _building(build):
    """Run ``build(network, ctx)`` inside a network holding one input population."""
    def act(ctx: Ctx):
        network = SequentialNetwork()
        with network:
            InputLayer(IntegrateFireInput(), 4, name="input")
            ctx.saved.update(network=network, populations=["input"], connections=[])
            build(network, ctx)
    return act


BUILD = [
    Case("population-shape-zero", _building(lambda n, c: Layer(Dense(1.0), LeakyIntegrate(), 0)),
         ConfigurationError, r"Layer shape", r"Pass e\.g\. 784 or \(28, 28\)", nothing_added),
    Case("duplicate-population-name",
         _building(lambda n, c: Layer(Dense(1.0), LeakyIntegrate(), 2, name="input")),
         ConfigurationError, r"'input' twice", r"Give each population and connection its own",
         nothing_added),
    Case("population-name-with-slash",
         _building(lambda n, c: Layer(Dense(1.0), LeakyIntegrate(), 2, name="a/b")),
         ConfigurationError, r"'a/b'", r"Pick a plain name", nothing_added),
    Case("record-spikes-on-non-spiking",
         _building(lambda n, c: Layer(Dense(1.0), LeakyIntegrate(), 2, record_spikes=True,
                                      name="out")),
         ConfigurationError, r"Population out record_spikes.*LeakyIntegrate",
         r"Record its V with a VarRecorder", nothing_added),
    Case("dense-weight-wrong-shape",
         _building(lambda n, c: Layer(Dense(np.ones((3, 3))), LeakyIntegrate(), 2, name="out")),
         ConfigurationError, r"Connection 'input->out' weight must have shape \(4, 2\)",
         r"Pass an array of that shape", nothing_added),
    Case("probability-out-of-range",
         _building(lambda n, c: Layer(FixedProbability(1.5, 1.0), LeakyIntegrate(), 2)),
         ConfigurationError, r"FixedProbability p", r"Pass e\.g\. FixedProbability\(0\.1",
         nothing_added),
    Case("one-to-one-size-mismatch",
         _building(lambda n, c: Layer(OneToOne(1.0), LeakyIntegrate(), 3, name="out")),
         ConfigurationError, r"4 and 3 neurons", r"Use Dense or FixedProbability",
         nothing_added),
    Case("input-layer-after-a-layer",
         _building(lambda n, c: InputLayer(IntegrateFireInput(), 2)),
         ConfigurationError, r"after 'input'", r"Create the InputLayer first", nothing_added),
    Case("input-layer-with-non-input-model",
         lambda ctx: _fresh_input(LeakyIntegrate()),
         ConfigurationError, r"LeakyIntegrate", r"Use Layer for other models"),
    Case("spike-readout-on-non-spiking", lambda ctx: LeakyIntegrate(readout="spike_count"),
         ConfigurationError, r"LeakyIntegrate readout.*SpikeCount", r"Use 'sum_var'"),
    Case("unknown-readout-name", lambda ctx: LeakyIntegrate(readout="sum_vr"),
         UnknownNameError, r"'sum_vr'", r"Did you mean 'sum_var'"),
    Case("unknown-neuron-name", _building(lambda n, c: Layer(Dense(1.0), "leaky_integrat", 2)),
         UnknownNameError, r"'leaky_integrat'", r"Did you mean 'leaky_integrate'",
         nothing_added),
    Case("population-outside-network", lambda ctx: Population(LeakyIntegrate(), 3),
         ConfigurationError, r"Population", r"with network:"),
    Case("layer-in-plain-network", lambda ctx: _in_plain_network(),
         ConfigurationError, r"got a Network", r"network = SequentialNetwork\(\)"),
]


def _fresh_input(neuron):
    with SequentialNetwork():
        InputLayer(neuron, 3)


def _in_plain_network():
    with Network():
        Layer(Dense(1.0), LeakyIntegrate(), 3)


# ----------------------------------------------------------------- runtime: compile, evaluate

COMPILE = [
    Case("zero-timesteps", lambda ctx: InferenceCompiler(evaluate_timesteps=0),
         ConfigurationError, r"InferenceCompiler evaluate_timesteps",
         r"Pass e\.g\. evaluate_timesteps=32"),
    Case("negative-dt", lambda ctx: InferenceCompiler(10, dt=-1.0),
         ConfigurationError, r"InferenceCompiler dt", r"Pass e\.g\. dt=1\.0"),
    Case("fractional-batch-size", lambda ctx: InferenceCompiler(10, batch_size=2.5),
         ConfigurationError, r"InferenceCompiler batch_size", r"Pass e\.g\. batch_size=32"),
    Case("unknown-backend", lambda ctx: InferenceCompiler(10, backend="numpyy"),
         UnknownNameError, r"'numpyy'", r"Did you mean 'numpy'"),
    Case("unknown-backend-option",
         lambda ctx: InferenceCompiler(10, backend=("numpy", {"bogus": 1})).compile(
             inference_net()["network"]),
         ConfigurationError, r"\['bogus'\]", r"Check the backend's parameters"),
    Case("recording-window-zero", lambda ctx: InferenceCompiler(10, num_recording_timesteps=0),
         ConfigurationError, r"InferenceCompiler num_recording_timesteps",
         r"Pass e\.g\. num_recording_timesteps=32"),
    Case("seed-a-string", lambda ctx: InferenceCompiler(10, rng_seed="a"),
         ConfigurationError, r"InferenceCompiler rng_seed", r"Pass e\.g\. rng_seed=0"),
    Case("readout-outside-with",
         lambda ctx: (lambda n: n["compiled"].get_readout(n["output"]))(inference_net()),
         NotCompiledError, r"CompiledNetwork\.get_readout", r"with compiled_net:"),
    Case("empty-network", lambda ctx: InferenceCompiler(10).compile(SequentialNetwork()),
         ConfigurationError, r"empty SequentialNetwork", r"Create populations inside"),
]


def _evaluate(change, *, loaded=True):
    """Evaluate the small inference net after ``change(net)`` returns (x, y, kwargs)."""
    def act(ctx: Ctx):
        net = inference_net()
        ctx.saved["compiled"] = net["compiled"]
        x, y, kwargs = change(net)
        kwargs.setdefault("callbacks", [ctx.spy])
        if not loaded:
            return net["compiled"].evaluate(x, y, **kwargs)
        with net["compiled"]:
            return net["compiled"].evaluate(x, y, **kwargs)
    return act


def _predict_hidden(ctx: Ctx):
    net = inference_net()
    ctx.saved["compiled"] = net["compiled"]
    with net["compiled"]:
        return net["compiled"].predict({net["input"]: net["x"]}, net["hidden"],
                                       callbacks=[ctx.spy])


def _nan(net):
    x = net["x"].copy()
    x[3, 2] = np.nan
    return xy(net, x=x)


def _foreign_output(net):
    other = inference_net()
    return {net["input"]: net["x"]}, {other["output"]: net["y"]}, {}


EVALUATE = [
    Case("evaluate-outside-with", _evaluate(xy, loaded=False), NotCompiledError,
         r"CompiledNetwork\.evaluate", r"with compiled_net:", nothing_simulated),
    Case("x-not-a-dict", _evaluate(lambda n: (n["x"], {n["output"]: n["y"]}, {})),
         ConfigurationError, r"x must be a dict", r"Write x=\{input_layer: data\}",
         nothing_simulated),
    Case("x-wrong-shape", _evaluate(lambda n: xy(n, x=n["x"][:, :4])), ConfigurationError,
         r"population 'input'", r"Reshape the data", nothing_simulated),
    Case("nan-input", _evaluate(_nan), ConfigurationError,
         r"population 'input'.*example 3", r"Clean or clip the data", nothing_simulated),
    Case("labels-out-of-range", _evaluate(lambda n: xy(n, y=n["y"] + 1)), ConfigurationError,
         r"population 'output'.*\[0, 2\]", r"Check the labels", nothing_simulated),
    Case("one-hot-labels", _evaluate(lambda n: xy(n, y=np.eye(3)[n["y"]])), ConfigurationError,
         r"population 'output'", r"not one-hot", nothing_simulated),
    Case("x-and-y-lengths-differ", _evaluate(lambda n: xy(n, y=n["y"][:5])),
         ConfigurationError, r"population 'output'", r"same length", nothing_simulated),
    Case("y-key-without-readout",
         _evaluate(lambda n: ({n["input"]: n["x"]}, {n["hidden"]: n["y"]}, {})),
         ConfigurationError, r"'hidden' readout", r"Give its neuron a readout",
         nothing_simulated),
    Case("y-key-of-another-network", _evaluate(_foreign_output), ConfigurationError,
         r"name='output'", r"Use the objects created when building the network",
         nothing_simulated),
    Case("no-data-for-an-input", _evaluate(lambda n: ({}, {n["output"]: n["y"]}, {})),
         ConfigurationError, r"\['input'\]", r"Add \{population: data\}", nothing_simulated),
    Case("callbacks-not-a-list", _evaluate(lambda n: xy(n, callbacks=Spy())),
         ConfigurationError, r"got Spy", r"Wrap it in a list", nothing_simulated),
    Case("callbacks-a-bare-name", _evaluate(lambda n: xy(n, callbacks="batch_progress_bar")),
         ConfigurationError, r"'batch_progress_bar'", r"Wrap it in a list", nothing_simulated),
    Case("callback-not-a-callback", _evaluate(lambda n: xy(n, callbacks=[3])),
         CallbackValidationError, r"got int 3", r"Pass e\.g\. 'batch_progress_bar'",
         nothing_simulated),
    Case("predict-output-without-readout", _predict_hidden, ConfigurationError,
         r"'hidden' readout", r"Give its neuron a readout", nothing_simulated),
    Case("unknown-metric", _evaluate(lambda n: xy(n, metrics="acuracy")), UnknownNameError,
         r"'acuracy'", r"Install the distribution that provides it", nothing_simulated),
]

# ----------------------------------------------------------------- data helpers

DATA = [
    Case("spike-ids-out-of-range", lambda ctx: preprocess_spikes([1.0, 2.0], [0, 9], 4),
         ConfigurationError, r"preprocess_spikes ids", r"Check num_neurons"),
    Case("negative-spike-times", lambda ctx: preprocess_spikes([-1.0], [0], 4),
         ConfigurationError, r"preprocess_spikes times", r"Drop or shift those spikes"),
    Case("nan-spike-times", lambda ctx: preprocess_spikes([np.nan], [0], 4),
         ConfigurationError, r"preprocess_spikes times", r"Drop or shift those spikes"),
    Case("times-and-ids-lengths-differ", lambda ctx: preprocess_spikes([1.0, 2.0], [0], 4),
         ConfigurationError, r"preprocess_spikes times and ids", r"Pass one id per spike time"),
    Case("spike-times-2d", lambda ctx: preprocess_spikes(np.ones((2, 2)), np.zeros((2, 2)), 4),
         ConfigurationError, r"preprocess_spikes times", r"Flatten it"),
    Case("float-spike-ids", lambda ctx: preprocess_spikes([1.0], [0.5], 4),
         ConfigurationError, r"preprocess_spikes ids", r"ids\.astype\(int\)"),
    Case("zero-neurons", lambda ctx: preprocess_spikes([], [], 0),
         ConfigurationError, r"preprocess_spikes num_neurons", r"size of the input population"),
    Case("neuron-index-out-of-range",
         lambda ctx: preprocess_spikes([1.0], [0], 4).neuron_times(7),
         ConfigurationError, r"PreprocessedSpikes neuron", r"Pass a flat neuron index"),
    Case("latency-data-in-unit-range",
         lambda ctx: linear_latency_encode_data(np.full((2, 3), 0.5), 20.0),
         ConfigurationError, r"linear_latency_encode_data data", r"Scale data in \[0, 1\] by 255"),
    Case("latency-data-nan",
         lambda ctx: linear_latency_encode_data(np.array([[np.nan, 9.0]]), 20.0),
         ConfigurationError, r"linear_latency_encode_data data", r"np\.nan_to_num"),
    Case("latency-max-before-min",
         lambda ctx: linear_latency_encode_data(np.full((2, 3), 9), 5.0, min_time=10.0),
         ConfigurationError, r"linear_latency_encode_data max_time", r"dimmest input"),
    Case("log-latency-tau-zero",
         lambda ctx: log_latency_encode_data(np.ones((2, 3)), 0.0, 0.5),
         ConfigurationError, r"log_latency_encode_data tau_eff", r"time scale"),
    Case("latency-data-one-example-1d",
         lambda ctx: linear_latency_encode_data(np.arange(5), 20.0),
         ConfigurationError, r"linear_latency_encode_data data", r"data\[np\.newaxis\]"),
]

ALL = CORE + BUILD + COMPILE + EVALUATE + DATA


def test_catalogue_is_large_and_distinct():
    ids = [case.id for case in ALL]
    assert len(set(ids)) == len(ids)
    assert len(ids) >= 60


@pytest.mark.parametrize("case", params(ALL))
def test_bad_input_is_refused_with_a_fix(case, tmp_path, monkeypatch, fake_dist):
    run_case(case, Ctx(tmp_path, monkeypatch, fake_dist))


def test_refused_evaluate_leaves_the_network_usable():
    net = inference_net()
    with net["compiled"]:
        with pytest.raises(ConfigurationError):
            net["compiled"].evaluate({net["input"]: net["x"][:, :4]}, {net["output"]: net["y"]},
                                     callbacks=[])
        metrics, _ = net["compiled"].evaluate({net["input"]: net["x"]},
                                              {net["output"]: net["y"]}, callbacks=[])
    assert metrics[net["output"]].total == 8


def test_refused_layer_leaves_no_dangling_connection():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(), 4, name="input")
        with pytest.raises(ConfigurationError):
            Layer(Dense(np.ones((3, 3))), LeakyIntegrateFire(), 2, name="bad")
        Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2, name="good")
    assert [p.name for p in network.populations] == ["input", "good"]
    assert [(c.source, c.target.name) for c in network.connections] == [(inp, "good")]
