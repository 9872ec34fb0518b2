"""EventProp with per-neuron parameters (mlGeNN's arrays and initializers for tau_mem,
v_thresh and the synapse tau): gradients against the float64 exact reference, the
compiled sweep against the NumPy sweep, and training on both backends."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _eventprop_exact import simulate_exact
from _finite_differences import assert_gradients_match, perturbed_weight_sets
from _forward_trace import record_forward

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
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

N_IN, N_HID, N_OUT, BATCH, STEPS = 16, 6, 3, 2, 1000
LABELS = np.array([0, 1])


def _graph(dt, readout="avg_var", per_neuron=True):
    """input -> LIF -> output; per neuron: hidden tau_m, v_thresh and synapse tau, output
    tau_m and synapse tau (or their means, one number each, with ``per_neuron=False``)."""
    rng = np.random.default_rng(21)
    tau_hid, thresh = rng.uniform(12.0, 30.0, N_HID), rng.uniform(0.8, 1.2, N_HID)
    tau_s_hid, tau_out = rng.uniform(3.0, 8.0, N_HID), rng.uniform(10.0, 30.0, N_OUT)
    tau_s_out = rng.uniform(3.0, 8.0, N_OUT)
    if not per_neuron:
        tau_hid, thresh, tau_s_hid, tau_out, tau_s_out = (
            float(a.mean()) for a in (tau_hid, thresh, tau_s_hid, tau_out, tau_s_out))
    kind = "lif" if readout == "first_spike_time" else "li"
    return Graph(
        [make_layer("input", N_IN, dt),
         make_layer("lif", N_HID, dt, tau_m=tau_hid, v_thresh=thresh),
         make_layer(kind, N_OUT, dt, tau_m=tau_out, readout=readout)],
        [make_conn(0, 1, dt, tau_s=tau_s_hid), make_conn(1, 2, dt, tau_s=tau_s_out)],
        STEPS, dt,
    )


def _data(dt, readout, w_mean):
    rng = np.random.default_rng(7)
    rates = rng.uniform(0.1, 0.3, (BATCH, N_IN))
    raster = rng.uniform(size=(STEPS, BATCH, N_IN)) < rates
    w_out = (0.3, 0.6) if readout == "first_spike_time" else (0.0, 1.0)
    return raster, [rng.normal(w_mean, 0.1, (N_IN, N_HID)).astype(np.float32),
                    rng.normal(*w_out, (N_HID, N_OUT)).astype(np.float32)]


def _gradients(graph, ws, raster, readout, **kwargs):
    loss = SparseCategoricalCrossentropy()
    fwd = forward(graph, ws, raster)
    _, drive = output_drive(readout, fwd, LABELS, loss, num_steps=graph.num_steps,
                            dt=graph.dt, **kwargs)
    return fwd, drive, backward(graph, ws, fwd, drive)


@pytest.mark.parametrize(("readout", "dt", "w_mean", "hidden_cos", "max_ratio"), [
    ("avg_var", 1.0, 0.35, 0.9, 3.5),
    ("avg_var", 0.25, 0.6, 0.98, 2.0),
    ("first_spike_time", 0.25, 0.6, 0.9, 2.0),
])
def test_per_neuron_gradients_match_the_exact_reference(readout, dt, w_mean, hidden_cos,
                                                        max_ratio):
    """1,000 steps, > 100 spikes per hidden neuron, every time constant and threshold
    different per neuron: the same bounds as the one-value long-trial tests."""
    graph = _graph(dt, readout)
    raster, ws = _data(dt, readout, w_mean)
    kwargs = {"softmax_temperature": 0.5} if readout == "first_spike_time" else {}
    fwd, _, result = _gradients(graph, ws, raster, readout, **kwargs)
    assert fwd.spikes[1].sum(axis=0).min() > 100 and result.clamped == 0
    entries = {0: [(i, j) for i in range(0, N_IN, 6) for j in range(N_HID)],
               1: [(i, j) for i in range(0, N_HID, 2) for j in range(N_OUT)]}
    sets = perturbed_weight_sets(ws, entries, 1e-6)
    readouts, counts = simulate_exact(graph, [np.stack([s[c] for s in sets]) for c in (0, 1)],
                                      raster)
    loss = SparseCategoricalCrossentropy()
    tau0 = kwargs.get("softmax_temperature", 1.0)

    def value(r):
        if readout == "first_spike_time":
            r = np.where(r <= np.finfo(np.float32).min, -STEPS * dt, r) / tau0
        return loss.value_and_grad(r, LABELS)[0]

    values = np.array([value(r) for r in readouts])
    slopes = (values[0::2] - values[1::2]) / 2e-6
    total = sum(c.reshape(len(sets), -1).sum(-1) for c in counts[1:])
    assert_gradients_match(result.gradients, entries, slopes, stable=total[0::2] == total[1::2],
                           min_cosine=lambda conn: hidden_cos if conn == 0 else 0.99,
                           max_ratio=max_ratio)


def test_per_neuron_values_change_the_dynamics_and_the_gradient():
    """Arrays are not averaged away: the mean values give other spikes and gradients."""
    raster, ws = _data(1.0, "avg_var", 0.25)
    fwd, _, result = _gradients(_graph(1.0), ws, raster, "avg_var")
    fwd_mean, _, result_mean = _gradients(_graph(1.0, per_neuron=False), ws, raster, "avg_var")
    assert not np.array_equal(fwd.spikes[1].sum(axis=0), fwd_mean.spikes[1].sum(axis=0))
    cosine = (result.gradients[0].ravel() @ result_mean.gradients[0].ravel()
              / np.linalg.norm(result.gradients[0]) / np.linalg.norm(result_mean.gradients[0]))
    assert cosine < 0.99


def test_arrays_of_one_value_give_the_one_value_gradients_bit_for_bit():
    """The per-neuron code path computes exactly what the one-number path does."""
    raster, ws = _data(1.0, "avg_var", 0.35)
    numbers = _graph(1.0, per_neuron=False)

    def full(value, size):
        return np.full(size, value, dtype=np.asarray(value).dtype)

    arrays = Graph(
        [replace(lay, **{name: full(getattr(lay, name), lay.size)
                         for name in ("tau_m", "alpha", "neuron_scale", "v_thresh")})
         for lay in numbers.layers],
        [replace(c, **{name: full(getattr(c, name), numbers.layers[c.post].size)
                       for name in ("tau_s", "beta", "syn_scale")}) for c in numbers.conns],
        STEPS, 1.0)
    got, expected = (_gradients(g, ws, raster, "avg_var") for g in (arrays, numbers))
    assert got[0].spikes[1].sum() > 1000
    np.testing.assert_array_equal(got[0].spikes[1], expected[0].spikes[1])
    for g, e in zip(got[2].gradients, expected[2].gradients, strict=True):
        assert g.tobytes() == e.tobytes()


@pytest.mark.parametrize("readout", ["avg_var", "first_spike_time"])
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_sweep_equals_the_numpy_sweep_with_per_neuron_parameters(readout, threads):
    pytest.importorskip("numba")
    from spikehooks.training._backward_compiled import backward_compiled

    graph = _graph(0.25, readout)
    raster, ws = _data(0.25, readout, 0.6)
    fwd, drive, expected = _gradients(graph, ws, raster, readout, ttfs_alpha=0.01)
    got = backward_compiled(graph, ws, fwd, drive, num_threads=threads)
    assert got.clamped == expected.clamped
    for g, e in zip(got.gradients, expected.gradients, strict=True):
        assert np.abs(e).max() > 0
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


def _network(v_reset=0.0):
    rng = np.random.default_rng(0)
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=1000), 20)
        hid = Population(LeakyIntegrateFire(v_thresh=rng.uniform(0.8, 1.2, 16),
                                            v_reset=v_reset, tau_mem=Uniform(10.0, 30.0)), 16)
        out = Population(LeakyIntegrate(tau_mem=rng.uniform(10.0, 30.0, 2),
                                        bias=rng.uniform(0.0, 0.01, 2), readout="avg_var"), 2)
        Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5)),
                   Exponential(rng.uniform(3.0, 7.0, 16)))
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0))
    labels = rng.integers(0, 2, 32)
    x = [preprocess_spikes(rng.uniform(0, 15, 10) + 20 * lab, np.arange(10) + 10 * lab, 20)
         for lab in labels]
    return net, inp, out, x, labels


def _train(backend):
    net, inp, out, x, labels = _network()
    compiled = EventPropCompiler(example_timesteps=60,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.02}), batch_size=8, rng_seed=0,
                                 backend=backend).compile(net)
    with compiled:
        hidden = compiled.graph.layers[1]
        drawn = compiled.backend.get_var(net.populations[1], "Alpha")[0]
        # The graph holds the backend's draws: training's backward sees the simulated values.
        assert hidden.alpha.tobytes() == drawn.tobytes() and len(np.unique(drawn)) == 16
        np.testing.assert_allclose(np.exp(-1.0 / hidden.tau_m), drawn, rtol=1e-6)
        recorded = record_forward(compiled, {inp: x}, 8, 60)
        weights = [compiled.backend.get_weight(c) for c in net.connections]
        kernel = forward(compiled.graph, weights, recorded.spikes[0])
        np.testing.assert_array_equal(kernel.spikes[1], recorded.spikes[1])
        assert recorded.spikes[1].sum() > 50
        losses = []
        for _ in range(5):
            compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
            losses.append(compiled.epoch_loss)
        state = compiled.backend.get_learnable_state()
    return losses, state


def test_training_with_per_neuron_parameters_learns_on_numpy_and_compiled_alike():
    pytest.importorskip("numba")
    losses, state = _train("numpy")
    assert losses[-1] < 0.8 * losses[0]
    got_losses, got_state = _train(("compiled", {"num_threads": 1}))
    np.testing.assert_allclose(got_losses, losses, rtol=1e-4)
    for key in state:
        # The bound documented in docs/compiled-backend.md.
        np.testing.assert_allclose(got_state[key], state[key], rtol=1e-4, atol=1e-5)


def test_a_per_neuron_reset_other_than_zero_is_refused_for_eventprop():
    net, *_ = _network(v_reset=np.linspace(0.0, 0.2, 16))
    with pytest.raises(ConfigurationError, match="v_reset must be 0 for EventProp; got "
                                                 r"per-neuron values in \[0, 0.2\]"):
        EventPropCompiler(example_timesteps=60, losses="sparse_categorical_crossentropy",
                          backend="numpy").compile(net)


def test_ranks_with_different_per_neuron_values_are_refused():
    """Data-parallel ranks share rank 0's weights only: per-neuron values must agree."""
    from spikehooks.compilers._parallel import DataParallel

    def compiled(thresholds):
        net = Network(default_params)
        with net:
            inp = Population(SpikeInput(max_spikes=10), 3)
            hid = Population(LeakyIntegrateFire(v_thresh=thresholds), 4)
            out = Population(LeakyIntegrate(readout="avg_var"), 2)
            Connection(inp, hid, Dense(0.5), Exponential(5.0))
            Connection(hid, out, Dense(0.5), Exponential(5.0))
        return EventPropCompiler(example_timesteps=5, losses="sparse_categorical_crossentropy",
                                 backend="numpy").compile(net)

    rank0 = compiled(np.array([1.0, 1.1, 1.2, 1.3]))

    class TwoRanks:
        rank, num_ranks = 1, 2

        def allgather(self, obj):
            from spikehooks.compilers._parallel import network_signature

            return [network_signature(rank0), obj]

        def broadcast_object(self, obj, root):
            return rank0.backend.get_learnable_state()

    DataParallel(TwoRanks()).check_compiled(compiled(np.array([1.0, 1.1, 1.2, 1.3])))
    with pytest.raises(ConfigurationError, match=r"rank 1 must match rank 0's; got "
                                                 r"\('per-neuron', 'pop1', 'Vthresh'"):
        DataParallel(TwoRanks()).check_compiled(compiled(np.array([1.0, 1.1, 1.2, 1.4])))
