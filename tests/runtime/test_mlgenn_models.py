"""mlGeNN's other neuron models, per-neuron parameters and the ``var`` readout, each
checked step by step against a float64 re-simulation of GeNN's update rules."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.connectivity import Dense
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import (
    AdaptiveLeakyIntegrateFire,
    BinarySpikeInput,
    Input,
    IntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    LeakyIntegrateFireInput,
)
from spikehooks.synapses import Exponential
from spikehooks_recorders import SpikeRecorder, VarRecorder

T, DT = 40, 1.0


def _run(network, inp, x, recorders, batch_size=2):
    compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=batch_size,
                                 dt=DT).compile(network)
    with compiled:
        _, cb_data = compiled.predict({inp: x}, network.populations[-1], callbacks=recorders)
    return cb_data


def _spike_matrix(cb_data, key, example, n):
    """(T, n) bool of the recorded spikes of one example."""
    times, ids = cb_data[key][0][example], cb_data[key][1][example]
    out = np.zeros((T, n), dtype=bool)
    out[np.round(times / DT).astype(int), ids] = True
    return out


def _lif64(inputs, alpha, thresh, reset, relative, tau_refrac=None, integrate_during=True,
           scale=1.0):
    """float64 LIF driven by per-step currents ``inputs`` (T, n).

    Returns V (T, n), spikes (T, n) and the closest any V came to the threshold.
    """
    n = inputs.shape[1]
    v, refrac = np.zeros(n), np.zeros(n)
    vs, spikes = np.zeros((T, n)), np.zeros((T, n), dtype=bool)
    margin = np.inf
    for t in range(T):
        busy = refrac > 0.0
        step = alpha * v + scale * inputs[t]
        v = step if (tau_refrac is None or integrate_during) else np.where(busy, v, step)
        refrac = np.where(busy, refrac - DT, refrac)
        margin = min(margin, float(np.min(np.abs(v - thresh))))
        fired = (v >= thresh) & (refrac <= 0.0)
        v = np.where(fired, v - (thresh - reset) if relative else reset, v)
        if tau_refrac is not None:
            refrac = np.where(fired, tau_refrac, refrac)
        vs[t], spikes[t] = v, fired
    return vs, spikes, margin


def _check_close(v32, v64, spikes32, spikes64, thresh_margin):
    # The inputs are chosen so that no crossing is within float32 rounding of the
    # threshold (thresh_margin), so the spike trains must agree exactly.
    assert thresh_margin > 1e-4
    np.testing.assert_array_equal(spikes32, spikes64)
    np.testing.assert_allclose(v32, v64, rtol=2e-5, atol=2e-5)


def test_binary_spike_input_spikes_every_step_its_input_is_positive():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), 5, record_spikes=True)
        Layer(Dense(0.0), LeakyIntegrate(readout="sum_var"), 1)
    x = np.array([[0.5, 0.0, -1.0, 2.0, 1e-30], [0.0] * 5], dtype=np.float32)
    cb_data = _run(network, inp, x, [SpikeRecorder(inp, key="s")])
    expected = np.broadcast_to(x[0] > 0, (T, 5))
    np.testing.assert_array_equal(_spike_matrix(cb_data, "s", 0, 5), expected)
    assert len(cb_data["s"][0][1]) == 0
    assert isinstance(BinarySpikeInput(), Input)
    with pytest.raises(ConfigurationError, match="signed_spikes must be False"):
        BinarySpikeInput(signed_spikes=True)


def test_binary_spike_input_shows_frames_of_time_varying_input():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(input_frames=2, input_frame_timesteps=10), 2,
                         record_spikes=True)
        Layer(Dense(0.0), LeakyIntegrate(readout="sum_var"), 1)
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]], dtype=np.float32)
    cb_data = _run(network, inp, x, [SpikeRecorder(inp, key="s")], batch_size=1)
    spikes = _spike_matrix(cb_data, "s", 0, 2)
    assert spikes[:10, 0].all() and not spikes[:10, 1].any()
    assert spikes[10:, 1].all() and not spikes[10:, 0].any()  # the last frame stays on


@pytest.mark.parametrize(("relative", "tau_refrac", "during", "scale_i"),
                         [(True, None, True, False), (False, 3.0, False, True),
                          (True, 2.0, True, False)])
def test_leaky_integrate_fire_input_matches_float64(relative, tau_refrac, during, scale_i):
    neuron = LeakyIntegrateFireInput(v_thresh=1.0, v_reset=0.1, tau_mem=15.0,
                                     tau_refrac=tau_refrac, relative_reset=relative,
                                     integrate_during_refrac=during, scale_i=scale_i)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(neuron, 4, record_spikes=True)
        Layer(Dense(0.0), LeakyIntegrate(readout="sum_var"), 1)
    x = np.array([[0.137, 0.291, 0.053, 0.611]] * 2, dtype=np.float32)
    if scale_i:
        x *= 12.7
    cb_data = _run(network, inp, x, [SpikeRecorder(inp, key="s"), VarRecorder(inp, "v", key="v")])
    alpha = np.exp(-DT / 15.0)
    v64, s64, margin = _lif64(np.broadcast_to(x[0].astype(np.float64), (T, 4)), alpha, 1.0,
                              0.1, relative, tau_refrac, during,
                              (1 - alpha) if scale_i else 1.0)
    _check_close(cb_data["v"][0], v64, _spike_matrix(cb_data, "s", 0, 4), s64, margin)
    assert s64.any()


@pytest.mark.parametrize(("tau_refrac", "during", "relative"),
                         [(None, True, True), (4.0, False, False), (3.0, True, True)])
def test_adaptive_lif_matches_float64(tau_refrac, during, relative):
    w = np.array([[0.35, 0.2, 0.6]], dtype=np.float32)
    neuron = AdaptiveLeakyIntegrateFire(v_thresh=1.0, v_reset=0.0, beta=0.3, tau_mem=10.0,
                                        tau_adapt=50.0, tau_refrac=tau_refrac,
                                        relative_reset=relative, integrate_during_refrac=during)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), 1)
        hid = Layer(Dense(w), neuron, record_spikes=True)
        Layer(Dense(0.0), LeakyIntegrate(readout="sum_var"), 1)
    x = np.ones((2, 1), dtype=np.float32)
    cb_data = _run(network, inp, x, [SpikeRecorder(hid, key="s"), VarRecorder(hid, "v", key="v"),
                                     VarRecorder(hid, "a", key="a")])
    # The input spikes every step; a delta synapse delivers a spike in the next step.
    current = np.repeat(w.astype(np.float64), T, axis=0)
    current[0] = 0.0
    alpha, rho = np.exp(-DT / 10.0), np.exp(-DT / 50.0)
    v, a, refrac = np.zeros(3), np.zeros(3), np.zeros(3)
    v64, a64, s64 = np.zeros((T, 3)), np.zeros((T, 3)), np.zeros((T, 3), dtype=bool)
    margin = np.inf
    for t in range(T):
        busy = refrac > 0
        step = alpha * v + current[t]
        v = step if (tau_refrac is None or during) else np.where(busy, v, step)
        a = a * rho
        refrac = np.where(busy, refrac - DT, refrac)
        level = 1.0 + 0.3 * a
        margin = min(margin, np.min(np.abs(v - level)))
        fired = (v >= level) & (refrac <= 0)
        v = np.where(fired, v - 1.0 if relative else 0.0, v)
        a = np.where(fired, a + 1.0, a)
        if tau_refrac is not None:
            refrac = np.where(fired, tau_refrac, refrac)
        v64[t], a64[t], s64[t] = v, a, fired
    _check_close(cb_data["v"][0], v64, _spike_matrix(cb_data, "s", 0, 3), s64, margin)
    np.testing.assert_allclose(cb_data["a"][0], a64, rtol=2e-5, atol=2e-6)
    assert s64[:, 2].sum() > 1 and not s64[:, 0].all()


def test_per_neuron_parameters_match_float64_and_are_recordable():
    thresh = np.array([0.5, 1.0, 1.5, 2.0], dtype=np.float32)
    tau = np.array([5.0, 10.0, 20.0, 40.0])
    neuron = LeakyIntegrateFireInput(v_thresh=thresh, tau_mem=tau, relative_reset=False)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(neuron, 4, record_spikes=True)
        Layer(Dense(0.0), LeakyIntegrate(readout="sum_var"), 1)
    x = np.full((2, 4), 0.173, dtype=np.float32)
    cb_data = _run(network, inp, x, [SpikeRecorder(inp, key="s"), VarRecorder(inp, "v", key="v"),
                                     VarRecorder(inp, genn_var="Vthresh", key="th"),
                                     VarRecorder(inp, genn_var="Alpha", key="alpha")])
    alpha = np.exp(-DT / tau)
    v64, s64, margin = _lif64(np.broadcast_to(x[0].astype(np.float64), (T, 4)), alpha,
                              thresh.astype(np.float64), 0.0, False)
    _check_close(cb_data["v"][0], v64, _spike_matrix(cb_data, "s", 0, 4), s64, margin)
    np.testing.assert_array_equal(cb_data["th"][1], np.broadcast_to(thresh, (T, 4)))
    np.testing.assert_array_equal(cb_data["alpha"][0][0], alpha.astype(np.float32))
    # Per-neuron values matter: the four neurons fire different numbers of spikes.
    assert len(set(s64.sum(axis=0))) == 4


def test_per_neuron_parameters_of_the_wrong_size_or_sign_are_refused():
    with pytest.raises(ConfigurationError, match="tau_mem must be > 0 for every neuron"):
        LeakyIntegrateFire(tau_mem=np.array([1.0, -2.0]))
    network = SequentialNetwork()
    with network:
        InputLayer(BinarySpikeInput(), 3)
        Layer(Dense(1.0), IntegrateFire(v_thresh=np.arange(4.0), readout="var"), 3)
    with pytest.raises(ConfigurationError, match=r"v_thresh must hold one value per neuron \(3\)"):
        InferenceCompiler(evaluate_timesteps=2).compile(network)


def test_training_takes_per_neuron_thresholds_behind_an_mlgenn_input_model():
    network = SequentialNetwork()
    with network:
        InputLayer(BinarySpikeInput(), 3)
        Layer(Dense(1.0), LeakyIntegrateFire(v_thresh=np.arange(1, 5), relative_reset=False), 4,
              synapse="exponential")
        Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2, synapse="exponential")
    compiled = EventPropCompiler(example_timesteps=5, losses="sparse_categorical_crossentropy",
                                 optimiser="adam").compile(network)
    np.testing.assert_array_equal(compiled.graph.layers[1].v_thresh,
                                  np.arange(1, 5, dtype=np.float32))


def test_the_genn_backend_refuses_what_it_cannot_simulate():
    from spikehooks.backends.genn_backend._models import neuron_spec

    with pytest.raises(ConfigurationError, match="Use backend='numpy'"):
        neuron_spec(AdaptiveLeakyIntegrateFire(), None, None, 1.0, 10)
    # Per-neuron parameters are GeNN variables, whose values the plan draws.
    with pytest.raises(ConfigurationError, match=r"\['Vthresh'\] must come with their drawn"):
        neuron_spec(IntegrateFire(v_thresh=np.ones(3)), None, None, 1.0, 10)


def test_var_readout_is_v_at_the_end_of_the_example():
    w = np.array([[0.25, 0.5], [1.0, -0.75]], dtype=np.float32)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(), 2)
        out = Layer(Dense(w), IntegrateFire(v_thresh=1e30, readout="var"))
    x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    compiled = InferenceCompiler(evaluate_timesteps=3, batch_size=2).compile(network)
    with compiled:
        y_pred, _ = compiled.predict({inp: x}, out)
    # Spikes of steps 0 and 1 arrive in steps 1 and 2: V = 2 * x @ w after 3 steps.
    np.testing.assert_array_equal(y_pred[out], 2.0 * (x @ w))


def test_per_neuron_synapse_time_constants_decay_each_target_on_its_own():
    taus = np.array([2.0, 5.0, 10.0])
    network = SequentialNetwork()
    with network:
        inp = InputLayer(BinarySpikeInput(input_frames=2, input_frame_timesteps=1), 1)
        out = Layer(Dense(np.ones((1, 3), dtype=np.float32)),
                    IntegrateFire(v_thresh=1e30, readout="var"), synapse=Exponential(taus))
    x = np.array([[[1.0], [0.0]]], dtype=np.float32)  # one input spike, in step 0
    compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=1).compile(network)
    with compiled:
        y, _ = compiled.predict({inp: x}, out)
    # The spike lands in inSyn in step 1; V sums inSyn * ExpDecay**k over steps 1..T-1.
    decay = np.exp(-DT / taus)
    expected = (1 - decay ** (T - 1)) / (1 - decay)
    np.testing.assert_allclose(y[out][0], expected, rtol=1e-5)
    with pytest.raises(ConfigurationError, match=r"one value per target neuron \(3\)"):
        with SequentialNetwork():
            InputLayer(BinarySpikeInput(), 1)
            Layer(Dense(1.0), IntegrateFire(), 3, synapse=Exponential(np.ones(2)))
