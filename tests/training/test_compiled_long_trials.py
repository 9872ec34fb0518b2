"""The compiled EventProp path against the NumPy one on the long-trial jump, recurrence,
avg_var_exp_weight and delays: equal sweeps (float64 rounding), identical forward traces,
training within the bound of docs/compiled-backend.md, and delays on the NumPy backend."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.losses import RelativeMeanSquareError, SparseCategoricalCrossentropy
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward
from spikehooks.training._graph import Graph, make_conn, make_layer

pytest.importorskip("numba")

from spikehooks.training._backward_compiled import backward_compiled  # noqa: E402

N_IN, N_HID, N_OUT, BATCH = 16, 6, 3, 3
LABELS = np.array([0, 1, 2])


def _graph(readout, synapse, steps, *, recurrent=False, delays=False, dt=1.0):
    kind = "lif" if readout == "first_spike_time" else "li"
    rng = np.random.default_rng(5)
    conns = [make_conn(0, 1, dt,
                       delays=rng.integers(0, 5, (N_IN, N_HID)).astype(np.int32)
                       if delays else None),
             make_conn(1, 2, dt, synapse=synapse)]
    if recurrent:
        conns.append(make_conn(1, 1, dt))
    layers = [make_layer("input", N_IN, dt), make_layer("lif", N_HID, dt),
              make_layer(kind, N_OUT, dt, readout=readout)]
    return Graph(layers, conns, steps, dt)


def _case(readout, synapse, steps, loss, **graph_kwargs):
    """A long trial with many spikes per hidden neuron, its forward pass and drive."""
    graph = _graph(readout, synapse, steps, **graph_kwargs)
    rng = np.random.default_rng(7)
    raster = rng.uniform(size=(steps, BATCH, N_IN)) < rng.uniform(0.1, 0.3, (BATCH, N_IN))
    w_out = (0.3, 0.6) if readout == "first_spike_time" else (0.0, 1.0)
    ws = [rng.normal(0.25, 0.1, (N_IN, N_HID)).astype(np.float32),
          rng.normal(*w_out, (N_HID, N_OUT)).astype(np.float32)]
    if len(graph.conns) == 3:
        ws.append(rng.normal(0.0, 0.2, (N_HID, N_HID)).astype(np.float32))
    fwd = forward(graph, ws, raster)
    _, drive = output_drive(readout, fwd, LABELS, loss, num_steps=steps, dt=graph.dt,
                            ttfs_alpha=0.01)
    return graph, ws, fwd, drive


def _assert_same_sweep(graph, ws, fwd, drive, threads, reg=None):
    expected = backward(graph, ws, fwd, drive, reg=reg, min_denominator=0.05)
    got = backward_compiled(graph, ws, fwd, drive, reg=reg, min_denominator=0.05,
                            num_threads=threads)
    assert got.clamped == expected.clamped
    for g, e in zip(got.gradients, expected.gradients, strict=True):
        # Every connection gets a gradient: the comparison means something.
        assert np.abs(e).max() > 0
        assert g.dtype == np.float64 and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    return expected


@pytest.mark.parametrize("readout,synapse,loss", [
    ("avg_var", "exponential", SparseCategoricalCrossentropy()),
    ("sum_var", "delta", SparseCategoricalCrossentropy()),
    ("max_var", "exponential", SparseCategoricalCrossentropy()),
    ("avg_var_exp_weight", "exponential", SparseCategoricalCrossentropy()),
    ("avg_var_exp_weight", "delta", SparseCategoricalCrossentropy()),
    ("first_spike_time", "exponential", RelativeMeanSquareError(2.0)),
])
@pytest.mark.parametrize("recurrent", [False, True])
def test_compiled_sweep_equals_the_numpy_sweep_on_long_trials(readout, synapse, loss,
                                                              recurrent):
    graph, ws, fwd, drive = _case(readout, synapse, 1000, loss, recurrent=recurrent)
    # Long trial: well over 100 spikes per hidden neuron, where the old jump drifted.
    assert fwd.spikes[1].sum(axis=0).mean() > 100
    # The new jump terms are present: I - V differs from I - v_thresh at spikes.
    assert fwd.currents is not None
    fired = fwd.spikes[1]
    den, cur = fwd.denominators[1][fired], fwd.currents[1][fired]
    assert np.abs(den - (cur - graph.layers[1].v_thresh)).max() > 1e-3
    reg = [None, np.random.default_rng(0).normal(0, 1e-3, (BATCH, N_HID)), None]
    for threads in (1, 2):
        for regulariser in (None, reg):
            _assert_same_sweep(graph, ws, fwd, drive, threads, regulariser)


def test_avg_var_exp_weight_sweep_weights_each_step():
    """The readout's step weights reach the compiled sweep: an unweighted (avg_var-like)
    source would give other gradients, so agreement is not an accident."""
    loss = SparseCategoricalCrossentropy()
    graph, ws, fwd, drive = _case("avg_var_exp_weight", "exponential", 300, loss)
    weighted = _assert_same_sweep(graph, ws, fwd, drive, 1)
    graph.layers[2].readout = "avg_var"
    plain = backward_compiled(graph, ws, fwd, drive, min_denominator=0.05)
    assert not np.allclose(plain.gradients[1], weighted.gradients[1], rtol=1e-3)


def test_delayed_graph_is_swept_by_the_numpy_sweep():
    """The compiled sweep has no delay code: it hands a delayed graph to the NumPy sweep."""
    graph, ws, fwd, drive = _case("avg_var", "exponential", 200,
                                  SparseCategoricalCrossentropy(), delays=True)
    expected = backward(graph, ws, fwd, drive, min_denominator=0.05)
    got = backward_compiled(graph, ws, fwd, drive, min_denominator=0.05, num_threads=2)
    for g, e in zip(got.gradients, expected.gradients, strict=True):
        assert np.abs(e).max() > 0
        np.testing.assert_array_equal(g, e)


# ------------------------------------------------ end to end, through the compilers
STEPS, EXAMPLES = 80, 16


def _data(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, EXAMPLES)
    x = [preprocess_spikes(rng.uniform(0, 20, 10) + 30 * lab, np.arange(10) + 10 * lab, 20)
         for lab in labels]
    return x, labels


def _network(delay=0):
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=100), 20)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 16)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 2)
        Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5), delay=delay), Exponential(5.0))
        Connection(hid, hid, FixedProbability(0.4, Normal(mean=0.0, sd=0.3)), Exponential(5.0))
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0))
    return net, inp, out


def _compile(backend, batch_size=8, delay=0):
    net, inp, out = _network(delay)
    kwargs = {} if backend is None else {"backend": backend}
    compiled = EventPropCompiler(example_timesteps=STEPS,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.02}), batch_size=batch_size,
                                 rng_seed=1, **kwargs).compile(net)
    return compiled, inp, out


def _first_batch(backend):
    """The recorder's forward result of the first batch, before any update."""
    compiled, inp, _ = _compile(backend)
    x, _ = _data()
    with compiled:
        compiled.start_batch(np.arange(8), {inp: x})
        recorder = compiled._recorder
        recorder.begin()
        observe = getattr(recorder, "needs_observer", True)
        if observe:
            compiled._observing = True
            compiled.backend.add_step_observer(compiled._observe)
        compiled.backend.run(STEPS)
        if observe:
            compiled.backend.remove_step_observer(compiled._observe)
            compiled._observing = False
        fwd = recorder.result()
        weights = [compiled.backend.get_weight(c) for c in compiled.network.connections]
        copied = [[None if a is None else a.copy() for a in arrays]
                  for arrays in (fwd.spikes, fwd.denominators, fwd.currents)]
        return compiled.graph, weights, copied, fwd.readout.copy()


def test_compiled_trace_equals_the_numpy_recorder_and_the_reference_forward():
    """Spikes, currents I and denominators I - V (V before the reset) bit for bit, with
    a recurrent hidden layer and an avg_var_exp_weight output."""
    graph, weights, expected, expected_readout = _first_batch("numpy")
    _, _, got, got_readout = _first_batch(("compiled", {"num_threads": 2}))
    reference = forward(graph, weights, expected[0][0])
    assert reference.currents is not None
    kernel = [reference.spikes, reference.denominators, reference.currents]
    for name, e, g, k in zip(("spikes", "denominators", "currents"), expected, got, kernel,
                             strict=True):
        for li, (a, b, c) in enumerate(zip(e, g, k, strict=True)):
            if a is None:
                assert b is None and c is None, (name, li)
                continue
            assert a.dtype == b.dtype, (name, li)
            np.testing.assert_array_equal(b, a, err_msg=f"{name}[{li}]")
            np.testing.assert_array_equal(c, a, err_msg=f"{name}[{li}] vs forward()")
    assert got_readout.tobytes() == expected_readout.tobytes()
    assert got[0][1].sum() > 50  # the hidden layer spikes


@pytest.mark.parametrize("batch_size", [1, 8])
def test_recurrent_exp_weight_training_gives_the_numpy_weights(batch_size):
    def train(backend):
        compiled, inp, out = _compile(backend, batch_size)
        x, labels = _data()
        with compiled:
            name = compiled.backend.name
            compiled.train({inp: x}, {out: labels}, num_epochs=3, callbacks=[])
            return name, compiled.backend.get_learnable_state()

    name, got = train(None)  # the default backend
    assert name == "compiled"
    _, expected = train("numpy")
    assert list(got) == list(expected)
    initial = _compile("numpy")[0]
    with initial:
        start = initial.backend.get_learnable_state()
    for key in expected:
        assert not np.array_equal(expected[key], start[key]), key  # every layer learned
        # The bound documented in docs/compiled-backend.md.
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-5)


def test_delays_train_on_the_compiled_backend_by_default_without_a_fallback(caplog):
    """(tests/runtime/test_compiled_delays.py checks the results bit for bit.)"""
    with caplog.at_level(logging.WARNING, logger="spikehooks.backends"):
        compiled, inp, out = _compile(None, delay=2)
    assert compiled.backend.name == "compiled"
    assert not [r for r in caplog.records if r.name == "spikehooks.backends"]
    x, labels = _data()
    with compiled:
        compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
        assert np.isfinite(compiled.epoch_loss)
