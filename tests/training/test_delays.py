"""Synaptic delays: inference, EventProp gradients against the exact reference, errors."""

from __future__ import annotations

import numpy as np
import pytest
from _eventprop_exact import simulate_exact
from _finite_differences import assert_gradients_match, perturbed_weight_sets
from _forward_trace import record_forward

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal, Uniform
from spikehooks.losses import SparseCategoricalCrossentropy
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward
from spikehooks.training._graph import Graph, make_conn, make_layer


def _net(delay, max_delay_steps=6):
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=10), 2)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 2)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2)
        Connection(inp, hid, Dense(np.array([[3.0, 0.0], [0.0, 3.0]]), delay=delay),
                   Exponential(5.0), max_delay_steps=max_delay_steps)
        Connection(hid, out, Dense(np.eye(2)), Exponential(5.0))
    return net, inp, hid, out


def _voltage(delay):
    from spikehooks_recorders import VarRecorder

    net, inp, hid, out = _net(delay)
    compiled = InferenceCompiler(evaluate_timesteps=30).compile(net)
    with compiled:
        rec = VarRecorder(hid, "v", key="v")
        spikes = preprocess_spikes(np.array([2.0, 5.0]), np.array([0, 1]), 2)
        _, cb = compiled.evaluate({inp: [spikes]}, {out: [0]}, callbacks=[rec])
    return np.array(cb["v"][0])


def test_delays_shift_the_postsynaptic_trace_by_whole_steps():
    v0 = _voltage(0)
    assert np.abs(v0).max() > 0.1
    v3 = _voltage(3)
    np.testing.assert_array_equal(v3[3:], v0[:-3])
    assert not v3[:3].any()
    per_synapse = _voltage(np.array([[2, 0], [0, 5]]))
    np.testing.assert_array_equal(per_synapse[2:, 0], v0[:-2, 0])
    np.testing.assert_array_equal(per_synapse[5:, 1], v0[:-5, 1])


@pytest.mark.parametrize(
    ("delay", "max_delay_steps", "match"),
    [(7, 5, "delay must be at most max_delay_steps=5; got a delay of 7 steps"),
     (np.array([[1, 9], [0, 0]]), 4, "at most max_delay_steps=4; got a delay of 9"),
     (Uniform(0.0, 3.0), None, "max_delay_steps must be given when delays come from an "
                               "initializer"),
     (np.array([[1.5, 0], [0, 0]]), 4, "delay must hold whole numbers"),
     (2, -1, "max_delay_steps must be an int >= 0")],
)
def test_bad_delays_are_refused_when_the_connection_is_made(delay, max_delay_steps, match):
    with pytest.raises(ConfigurationError, match=match):
        _net(delay, max_delay_steps)


def test_drawn_delay_beyond_max_delay_steps_is_refused_at_compile():
    net, *_ = _net(Uniform(0.0, 20.0), max_delay_steps=3)
    with pytest.raises(ConfigurationError, match="delay must be at most max_delay_steps=3; "
                                                 "got a drawn delay of"):
        InferenceCompiler(evaluate_timesteps=10).compile(net)


def _delayed_graph(dt, steps):
    rng = np.random.default_rng(11)
    layers = [make_layer("input", 16, dt), make_layer("lif", 6, dt),
              make_layer("li", 3, dt, readout="avg_var")]
    conns = [make_conn(0, 1, dt, delays=rng.integers(0, 6, (16, 6)).astype(np.int32)),
             make_conn(1, 2, dt, delays=rng.integers(0, 4, (6, 3)).astype(np.int32))]
    graph = Graph(layers, conns, steps, dt)
    raster = rng.uniform(size=(steps, 2, 16)) < rng.uniform(0.1, 0.3, (2, 16))
    ws = [rng.normal(0.25, 0.1, (16, 6)).astype(np.float32),
          rng.normal(0.0, 1.0, (6, 3)).astype(np.float32)]
    return graph, ws, raster


def test_delayed_gradients_match_the_exact_reference_on_a_long_trial():
    """1,000 steps of 0.25 ms, > 100 spikes per hidden neuron, per-synapse delays of 0-5
    steps: measured cosines 0.9998 (hidden) and 0.9998 (output); at dt = 1 ms 0.94 and
    0.998, the discrete model's own difference from the exact one."""
    graph, ws, raster = _delayed_graph(0.25, 1000)
    ws[0] = ws[0] * np.float32(2.4)  # keeps > 100 spikes per neuron in 250 ms
    labels, loss = np.array([0, 1]), SparseCategoricalCrossentropy()
    fwd = forward(graph, ws, raster)
    _, drive = output_drive("avg_var", fwd, labels, loss, num_steps=1000, dt=0.25)
    result = backward(graph, ws, fwd, drive)
    assert fwd.spikes[1].sum(axis=0).min() > 100 and result.clamped == 0
    entries = {0: [(i, j) for i in range(0, 16, 8) for j in range(6)],
               1: [(i, j) for i in range(0, 6, 3) for j in range(3)]}
    sets = perturbed_weight_sets(ws, entries, 1e-6)
    readouts, counts = simulate_exact(graph, [np.stack([s[c] for s in sets]) for c in (0, 1)],
                                      raster)
    values = np.array([loss.value_and_grad(r, labels)[0] for r in readouts])
    slopes = (values[0::2] - values[1::2]) / 2e-6
    stable = counts[1].reshape(len(sets), -1).sum(-1)
    stable = stable[0::2] == stable[1::2]
    assert_gradients_match(result.gradients, entries, slopes, stable, lambda conn: 0.99,
                           max_ratio=2.0)


def test_delayed_training_forward_equals_the_backend_and_learns():
    rng = np.random.default_rng(0)
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=8 * 10), 20)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 16)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2)
        Connection(inp, hid, FixedProbability(0.8, Normal(mean=1.0, sd=0.5),
                                              delay=Uniform(0.0, 8.0)),
                   Exponential(5.0), max_delay_steps=8)
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5), delay=2), Exponential(5.0))
    labels = rng.integers(0, 2, 32)
    x = [preprocess_spikes(rng.uniform(0, 15, 10) + 20 * lab, np.arange(10) + 10 * lab, 20)
         for lab in labels]
    compiled = EventPropCompiler(example_timesteps=60, losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.02}), batch_size=8,
                                 rng_seed=0).compile(net)
    with compiled:
        delays = compiled.backend.get_delays(net.connections[0])
        assert delays is not None and delays.max() <= 8 and len(np.unique(delays)) > 4
        recorded = record_forward(compiled, {inp: x}, 8, 60)
        weights = [compiled.backend.get_weight(c) for c in net.connections]
        kernel = forward(compiled.graph, weights, recorded.spikes[0])
        np.testing.assert_array_equal(kernel.spikes[1], recorded.spikes[1])
        assert kernel.readout.tobytes() == recorded.readout[:8].tobytes()
        losses = []
        for _ in range(6):
            compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
            losses.append(compiled.epoch_loss)
    assert losses[-1] < losses[0]
