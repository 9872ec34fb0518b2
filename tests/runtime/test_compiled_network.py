"""mlGeNN's low-level CompiledNetwork API and the compiler's reset switches."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    Callback,
    CallbackList,
    ConfigurationError,
    InferenceCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
)
from spikehooks.connectivity import Dense
from spikehooks.metrics import MeanSquareError, SparseCategoricalAccuracy
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate


def _network():
    with SequentialNetwork() as network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 2)
        out = Layer(Dense(np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)),
                    LeakyIntegrate(tau_mem=1e9, readout="sum_var"), 2)
    return network, inp, out


def test_step_time_calls_timestep_hooks_of_a_callback_list():
    class Count(Callback):
        def __init__(self):
            self.calls = []

        def on_timestep_begin(self, timestep):
            self.calls.append(("begin", timestep))

        def on_timestep_end(self, timestep):
            self.calls.append(("end", timestep))

    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=3).compile(network)
    count = Count()
    with compiled:
        compiled.set_input({inp: np.ones((1, 2))})
        cbl = CallbackList([count], global_plugins=False)
        compiled.step_time(cbl)
        compiled.step_time(cbl)
        value, = compiled.get_readout([out])
    assert count.calls == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]
    # spikes of step 0 arrive in step 1: V = [1, 2]
    np.testing.assert_array_equal(value, [[1.0, 2.0]])


def test_set_input_refuses_more_examples_than_the_batch():
    network, inp, _ = _network()
    compiled = InferenceCompiler(evaluate_timesteps=3, batch_size=2).compile(network)
    with compiled, pytest.raises(ConfigurationError, match="at most batch_size=2 examples; "
                                                           "got 3"):
        compiled.set_input({inp: np.ones((3, 2))})


def test_reset_vars_false_lets_state_run_on_between_batches():
    network, inp, out = _network()
    x, y = np.ones((2, 2)), np.zeros(2, int)
    readouts = {}
    for reset in (True, False):
        compiled = InferenceCompiler(evaluate_timesteps=2,
                                     reset_vars_between_batches=reset).compile(network)
        with compiled:
            predictions, _ = compiled.predict({inp: x}, out, callbacks=[])
            compiled.evaluate({inp: x}, {out: y}, callbacks=[])
        readouts[reset] = predictions[out]
    np.testing.assert_array_equal(readouts[True], [[1.0, 2.0], [1.0, 2.0]])
    # without the reset, the sum and V carry on: V keeps growing in example 1
    assert np.all(readouts[False][1] > readouts[True][1])


def test_metrics_can_be_given_per_output_as_objects():
    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=3).compile(network)
    with compiled:
        metrics, _ = compiled.evaluate({inp: np.ones((2, 2))}, {out: np.ones((2, 2))},
                                       metrics={out: MeanSquareError()}, callbacks=[])
    # the input spikes every step; V = [0, 0], [1, 2], [2, 4], so VSum = [3, 6]
    assert metrics[out].result == pytest.approx(((3 - 1) ** 2 + (6 - 1) ** 2) / 2)


def test_sparse_categorical_accuracy_counts_argmax_hits():
    metric = SparseCategoricalAccuracy()
    metric.update(np.array([1, 0, 1]), np.array([[0.0, 1.0], [2.0, 1.0], [3.0, 0.0]]))
    assert (metric.correct, metric.total, metric.result) == (2, 3, pytest.approx(2 / 3))
    metric.reset()
    assert (metric.correct, metric.total, metric.result) == (0, 0, 0.0)


def test_backend_option_must_be_known():
    network, _, _ = _network()
    with pytest.raises(ConfigurationError, match="accumulation must be 'blas' or 'sequential'"):
        InferenceCompiler(evaluate_timesteps=2,
                          backend=("numpy", {"accumulation": "fast"})).compile(network)


def test_unknown_backend_option_is_a_configuration_error():
    network, _, _ = _network()
    with pytest.raises(ConfigurationError, match=r"backend options must be ones the backend "
                                                 r"accepts; got \['speed'\]"):
        InferenceCompiler(evaluate_timesteps=2, backend=("numpy", {"speed": 1})).compile(network)


def test_set_input_accepts_one_example_without_batch_axis():
    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=2).compile(network)
    with compiled:
        compiled.set_input({inp: np.ones(2)})
        compiled.step_time()
        compiled.step_time()
        np.testing.assert_array_equal(compiled.get_readout(out), [[1.0, 2.0]])
