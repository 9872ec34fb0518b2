"""mlGeNN calls whose parameters the audit (tests/core/test_mlgenn_parameters.py) added.

Each is checked for its meaning: batch-wise evaluation against ``evaluate``,
positional calls against keyword calls, refusals against their messages.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    ConfigurationError,
    Connection,
    InferenceCompiler,
    InputLayer,
    Layer,
    Network,
    Population,
    SequentialNetwork,
)
from spikehooks.compilers import EventPropCompiler, FewSpikeCompiler
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal, Uniform
from spikehooks.metrics import Metric, SparseCategoricalAccuracy
from spikehooks.neurons import (
    FewSpikeRelu,
    FewSpikeReluInput,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
)
from spikehooks_recorders import SpikeRecorder

STEPS = 20


def _network():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 6, name="input")
        hidden = Layer(Dense(Normal(0.4, 0.3)), LeakyIntegrateFire(v_thresh=0.5), 10,
                       record_spikes=True, name="hidden")
        out = Layer(Dense(Normal(0.0, 0.5)), LeakyIntegrate(readout="sum_var"), 3, name="out")
    return network, inp, hidden, out


def _data(num=10):
    rng = np.random.default_rng(4)
    return rng.uniform(0.0, 1.0, (num, 6)).astype(np.float32), rng.integers(0, 3, num)


def _batches(x, y, size):
    for i in range(0, len(x), size):
        yield x[i:i + size], y[i:i + size]


def test_evaluate_batch_iter_gives_evaluates_metrics_and_recordings():
    network, inp, hidden, out = _network()
    x, y = _data()
    compiled = InferenceCompiler(STEPS, batch_size=4).compile(network)
    with compiled:
        whole, whole_cb = compiled.evaluate({inp: x}, {out: y},
                                            callbacks=[SpikeRecorder(hidden, key="s")])
        parts, parts_cb = compiled.evaluate_batch_iter(
            inp, out, _batches(x, y, 4), num_batches=3,
            callbacks=[SpikeRecorder(hidden, key="s")])
    assert parts[out].total == whole[out].total == 10
    assert parts[out].correct == whole[out].correct
    # One recording per example, counted across batches, as evaluate records them.
    assert len(parts_cb["s"][0]) == len(whole_cb["s"][0]) == 10
    for a, b in zip([*parts_cb["s"][0], *parts_cb["s"][1]],
                    [*whole_cb["s"][0], *whole_cb["s"][1]], strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluate_batch_iter_takes_sequences_of_inputs_and_outputs():
    network, inp, _, out = _network()
    x, y = _data(4)
    compiled = InferenceCompiler(STEPS, batch_size=4).compile(network)
    with compiled:
        single, _ = compiled.evaluate_batch_iter(inp, out, iter([(x, y)]), callbacks=[])
        # As in mlGeNN, a sequence of one population still takes the data itself.
        listed, _ = compiled.evaluate_batch_iter([inp], [out], iter([(x, y)]), callbacks=[])
        one, _ = compiled.evaluate_batch({inp: x}, {out: y})
    assert single[out].correct == listed[out].correct == one[out].correct
    assert single[out].total == listed[out].total == one[out].total == 4


def test_a_batch_larger_than_batch_size_is_refused():
    network, inp, _, out = _network()
    x, y = _data(6)
    compiled = InferenceCompiler(STEPS, batch_size=4).compile(network)
    with compiled, pytest.raises(ConfigurationError,
                                 match=r"evaluate_batch_iter batches must hold at most "
                                       r"batch_size=4 examples; got 6 in batch 0"):
        compiled.evaluate_batch_iter(inp, out, iter([(x, y)]), callbacks=[])


def test_reset_time_restarts_the_clock_and_keeps_state():
    network, inp, hidden, _ = _network()
    x, _ = _data(1)
    compiled = InferenceCompiler(STEPS).compile(network)
    with compiled:
        compiled.set_input({inp: x[0]})
        for _ in range(5):
            compiled.step_time()
        v = compiled.neuron_populations[hidden].vars["V"]
        v.pull_from_device()
        before = v.view.copy()
        compiled.reset_time()
        assert compiled.backend.timestep == 0
        v.pull_from_device()
        np.testing.assert_array_equal(v.view, before)
        assert np.any(before != 0.0)


def test_custom_update_is_refused_naming_what_to_use():
    network, *_ = _network()
    compiled = InferenceCompiler(STEPS).compile(network)
    with compiled, pytest.raises(ConfigurationError,
                                 match=r"custom_update \(mlGeNN's GeNN custom update\) is not "
                                       r"supported; got name 'Reset'\..*vars\[name\]\.view"):
        compiled.custom_update("Reset")


class _TwoRanks:
    """Stands for two ranks that saw the same batch: each sum doubles."""

    def reduce_sum(self, value):
        return 2 * value


def test_metric_update_adds_over_ranks_with_a_communicator():
    metric = SparseCategoricalAccuracy()
    pred = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    metric.update(np.array([0, 1, 1]), pred, _TwoRanks())
    assert (metric.correct, metric.total) == (4, 6)
    metric.update(np.array([0, 1, 1]), pred)
    assert (metric.correct, metric.total) == (6, 9)


class _MlGeNNStyleAccuracy(Metric):
    """A metric written for mlGeNN: ``update`` requires ``communicator``."""

    def __init__(self):
        self.reset()

    def update(self, y_true, y_pred, communicator):
        assert communicator is None
        self.correct += int(np.sum(np.argmax(y_pred, axis=1) == y_true))
        self.total += len(y_true)

    def reset(self):
        self.correct = self.total = 0

    @property
    def result(self):
        return self.correct / self.total


def test_a_metric_written_for_mlgenn_runs_in_evaluate():
    network, inp, _, out = _network()
    x, y = _data()
    compiled = InferenceCompiler(STEPS, batch_size=4).compile(network)
    with compiled:
        ours, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
        theirs, _ = compiled.evaluate({inp: x}, {out: y}, _MlGeNNStyleAccuracy(), callbacks=[])
    assert theirs[out].total == 10 and theirs[out].correct == ours[out].correct


def test_layer_takes_max_delay_steps_for_drawn_delays():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 4)
        layer = Layer(Dense(0.5, delay=Uniform(0.0, 3.0)), LeakyIntegrateFire(), 3, "delta",
                      False, False, 3, "hidden")
    assert layer.name == "hidden" and layer.connection.max_delay_steps == 3
    with SequentialNetwork(), pytest.raises(ConfigurationError,
                                            match="max_delay_steps must be given"):
        InputLayer(IntegrateFireInput(), 4)
        Layer(Dense(0.5, delay=Uniform(0.0, 3.0)), LeakyIntegrateFire(), 3)


def test_connections_and_populations_answer_mlgenns_weak_reference_calls():
    network = Network()
    with network:
        a = Population(IntegrateFireInput(), 2, add_to_model=True)
        b = Population(LeakyIntegrateFire(), 2)
        conn = Connection(a, b, Dense(1.0), add_to_model=True)
    assert conn.source() is a and conn.target() is b and conn() is conn
    assert [c() for c in b.incoming_connections] == [conn]
    assert a.outgoing_connections == [conn] and a.population() is a


def test_event_prop_compiler_takes_mlgenns_positional_order():
    compiler = EventPropCompiler(10, "sparse_categorical_crossentropy", "adam", 0.5, 0.25, 3.0,
                                 400, True, False, 0.5, 0.02, 2.0, 4, 3, True, None)
    assert (compiler.reg_lambda_upper, compiler.reg_lambda_lower, compiler.reg_nu_upper) == \
        (0.5, 0.25, 3.0)
    assert (compiler.max_spikes, compiler.strict_buffer_checking) == (400, True)
    assert (compiler.dt, compiler.ttfs_alpha, compiler.softmax_temperature) == (0.5, 0.02, 2.0)
    assert (compiler.batch_size, compiler.rng_seed, compiler.kernel_profiling) == (4, 3, True)


def test_inference_compiler_takes_communicator_in_mlgenns_position():
    compiler = InferenceCompiler(10, 1.0, 2, 0, False, True, True, True, False, None)
    assert compiler.communicator is None and not compiler.reset_in_syn_between_batches


def _few_spike_network():
    network = Network()
    with network:
        inp = Population(FewSpikeReluInput(k=8, alpha=4.0), 3, name="inp")
        out = Population(FewSpikeRelu(k=8, alpha=4.0, readout="var"), 2, name="out")
        Connection(inp, out, Dense(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])))
    return network, inp, out


def test_few_spike_compiler_takes_mlgenns_parameters_and_pipeline_ends():
    network, inp, out = _few_spike_network()
    compiler = FewSpikeCompiler(8, 1.0, 2, 0, True, False, None)
    assert compiler.kernel_profiling and not compiler.prefer_in_memory_connect
    x = np.array([[1.0, 2.0, 0.0], [0.5, 0.0, 2.0], [3.0, 1.0, 1.0]])
    y = np.array([0, 1, 0])
    with compiler.compile(network, "fs", inputs=inp, outputs=[out]) as compiled:
        assert compiled.name == "fs"
        whole, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
        parts, _ = compiled.evaluate_batch_iter(inp, out, _batches(x, y, 2), callbacks=[])
        assert (parts[out].correct, parts[out].total) == (whole[out].correct, 3)
        with pytest.raises(ConfigurationError, match=r"CompiledFewSpikeNetwork\.step_time "
                                                     r".*has no clock\. Use evaluate"):
            compiled.step_time()
    with pytest.raises(ConfigurationError, match="compile inputs must be FewSpikeReluInput "
                                                 "populations of the network; got"):
        compiler.compile(network, inputs=out)
    with pytest.raises(ConfigurationError, match=r"FewSpikeCompiler keywords must be its "
                                                 r"parameters or GeNN model preferences.*"
                                                 r"\['batchsize'\]"):
        FewSpikeCompiler(batchsize=2)
