"""Behaviours mlGeNN's own unit tests check, written for spikehooks on the real backend:
recorders over batches with filters, heterogeneous thresholds as variables, dense and
one-to-one propagation read with the ``var`` readout."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import InferenceCompiler
from spikehooks.connectivity import Dense, OneToOne
from spikehooks.neurons import BinarySpikeInput, IntegrateFire
from spikehooks_recorders import ConnVarRecorder, VarRecorder

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("example_filter", [None, [0, 3, 4]])
@pytest.mark.parametrize("src_filter", [None, np.s_[1::3]])
def test_weights_are_recorded_per_example_per_timestep(batch_size, example_filter, src_filter):
    weight = np.outer(np.arange(6.0), np.arange(4.0)).astype(np.float32)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), 6)
        out = Layer(Dense(weight), IntegrateFire(readout="var"))
    compiled = InferenceCompiler(evaluate_timesteps=3, batch_size=batch_size).compile(network)
    recorder = ConnVarRecorder(out, genn_var="g", key="g", example_filter=example_filter,
                               src_neuron_filter=src_filter)
    with compiled:
        _, cb_data = compiled.predict({inp: np.zeros((5, 6))}, out, callbacks=[recorder])
    kept = weight if src_filter is None else weight[src_filter]
    examples = range(5) if example_filter is None else example_filter
    assert len(cb_data["g"]) == len(examples)
    for array in cb_data["g"]:
        np.testing.assert_array_equal(array, np.broadcast_to(kept, (3, *kept.shape)))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_input_and_per_neuron_threshold_are_recordable_by_genn_name(batch_size):
    v_thresh = np.arange(1.0, 7.0)
    x = RNG.random((5, 6)).astype(np.float32)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), 6)
        out = Layer(Dense(0.0), IntegrateFire(v_thresh=v_thresh, readout="var"), 6)
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=batch_size).compile(network)
    callbacks = [VarRecorder(inp, genn_var="Input", key="in", example_filter=[1, 4],
                             neuron_filter=np.s_[::2]),
                 VarRecorder(out, genn_var="Vthresh", key="th")]
    with compiled:
        _, cb_data = compiled.predict({inp: x}, out, callbacks=callbacks)
    np.testing.assert_array_equal(cb_data["in"][0], np.broadcast_to(x[1, ::2], (2, 3)))
    np.testing.assert_array_equal(cb_data["in"][1], np.broadcast_to(x[4, ::2], (2, 3)))
    assert len(cb_data["th"]) == 5
    np.testing.assert_array_equal(cb_data["th"][3], np.broadcast_to(v_thresh, (2, 6)))


@pytest.mark.parametrize(("n_in", "n_out"), [(4, 4), (4, 9)])
def test_dense_and_one_to_one_propagate_one_step_of_binary_spikes(n_in, n_out):
    x = RNG.integers(0, 2, (3, n_in)).astype(np.float32)
    w = RNG.random((n_in, n_out)).astype(np.float32)
    never = float(np.finfo(np.float32).max)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), n_in)
        dense = Layer(Dense(w), IntegrateFire(v_thresh=never, readout="var"))
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=2).compile(network)
    with compiled:
        y, _ = compiled.predict({inp: x}, dense)
    np.testing.assert_allclose(y[dense], x @ w, rtol=1e-6)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), n_in)
        one = Layer(OneToOne(1.0), IntegrateFire(v_thresh=never, readout="var"))
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=2).compile(network)
    with compiled:
        y, _ = compiled.predict({inp: x}, one)
    np.testing.assert_array_equal(y[one], x)
