"""Each neuron model's rule on tiny hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikehooks import (
    Connection,
    InferenceCompiler,
    InputLayer,
    Layer,
    Network,
    Population,
    SequentialNetwork,
)
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import (
    IntegrateFire,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    PoissonInput,
    SpikeInput,
)
from spikehooks.synapses import Exponential


def _spike_steps(backend, pop):
    backend.pull_recording_buffers()
    times, ids = backend.get_spikes(pop)[0]
    return [(int(t), int(i)) for t, i in zip(times, ids, strict=True)]


def _compiled(network, timesteps, **kwargs):
    compiled = InferenceCompiler(evaluate_timesteps=timesteps, **kwargs).compile(network)
    return compiled


def _run_steps(compiled, x, steps):
    backend = compiled.backend
    with compiled:
        backend.reset()
        compiled.set_input(x)
        for _ in range(steps):
            compiled.step_time()
    return backend


@pytest.mark.parametrize("value,first", [(1.0, 4), (0.3, 16), (2.5, 1), (5.0, 0)])
def test_integrate_fire_input_first_spike_at_ceil_thresh_over_x_minus_one(value, first):
    network = Network()
    with network:
        pop = Population(IntegrateFireInput(v_thresh=5.0), 1, record_spikes=True)
    backend = _run_steps(_compiled(network, 30), {pop: np.array([[value]])}, 30)
    steps = [t for t, _ in _spike_steps(backend, pop)]
    assert steps[0] == first == math.ceil(5.0 / value) - 1
    assert np.diff(steps).tolist() == [first + 1] * (len(steps) - 1)


def test_integrate_fire_input_resets_v_to_v_reset():
    network = Network()
    with network:
        pop = Population(IntegrateFireInput(v_thresh=1.0, v_reset=0.25), 1)
    backend = _run_steps(_compiled(network, 3), {pop: np.array([[0.5]])}, 2)
    assert backend.get_var(pop, "v")[0, 0] == np.float32(0.25)


def test_integrate_fire_input_frames_switch_every_frame_timesteps():
    network = Network()
    with network:
        pop = Population(IntegrateFireInput(v_thresh=100.0, input_frames=2,
                                            input_frame_timesteps=3), 1)
    backend = _run_steps(_compiled(network, 10), {pop: np.array([[[1.0], [10.0]]])}, 7)
    # 3 steps of 1.0, then 4 of 10.0 (the last frame stays on)
    assert backend.get_var(pop, "v")[0, 0] == np.float32(43.0)


def test_spike_input_rounds_up_to_the_next_step_and_emits_one_per_step():
    network = Network()
    with network:
        pop = Population(SpikeInput(), 2, record_spikes=True)
    spikes = preprocess_spikes([2.5, 10.0, 10.25, 0.0, 9.0], [0, 0, 0, 1, 1], 2)
    backend = _run_steps(_compiled(network, 12), {pop: [spikes]}, 12)
    assert _spike_steps(backend, pop) == [(0, 1), (3, 0), (9, 1), (10, 0), (11, 0)]


def test_spike_input_never_emits_spikes_past_the_last_step():
    network = Network()
    with network:
        pop = Population(SpikeInput(), 1, record_spikes=True)
    backend = _run_steps(_compiled(network, 5), {pop: [preprocess_spikes([4.0, 4.5], [0, 0], 1)]},
                         5)
    assert _spike_steps(backend, pop) == [(4, 0)]


def _input_to(neuron, weight=1.0, synapse="delta", times=(0.0,)):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(), 1)
        out = Layer(Dense(np.array([[weight]])), neuron, 1, synapse, record_spikes=neuron.spiking)
    spikes = [preprocess_spikes(list(times), [0] * len(times), 1)]
    return network, inp, out, spikes


def test_delta_spike_changes_target_one_step_later():
    network, inp, out, x = _input_to(LeakyIntegrate(tau_mem=20.0), weight=0.5)
    compiled = _compiled(network, 4)
    values = []
    with compiled:
        compiled.backend.reset()
        compiled.set_input({inp: x})
        for _ in range(3):
            compiled.step_time()
            values.append(float(compiled.backend.get_var(out, "v")[0, 0]))
    alpha = np.float32(np.exp(-1.0 / 20.0))
    assert values == [0.0, 0.5, float(np.float32(alpha * np.float32(0.5)))]


def test_exponential_synapse_injects_then_decays():
    network, inp, out, x = _input_to(LeakyIntegrate(tau_mem=1e9), weight=1.0,
                                     synapse=Exponential(tau=5.0))
    backend = _run_steps(_compiled(network, 4), {inp: x}, 3)
    alpha = np.float32(np.exp(-1.0 / 1e9))
    decay = np.float32(np.exp(-1.0 / 5.0))
    expected = np.float32(np.float32(alpha * np.float32(1.0)) + decay)
    assert backend.get_var(out, "v")[0, 0] == expected


def test_exponential_scale_i_multiplies_by_iscale():
    network, inp, out, x = _input_to(LeakyIntegrate(tau_mem=20.0), weight=1.0,
                                     synapse=Exponential(tau=5.0, scale_i=True))
    backend = _run_steps(_compiled(network, 3), {inp: x}, 2)
    assert backend.get_var(out, "v")[0, 0] == np.float32(5.0 * (1.0 - np.exp(-0.2)))


def test_lif_relative_reset_subtracts_thresh_minus_reset():
    network, inp, out, x = _input_to(LeakyIntegrateFire(v_thresh=1.0, v_reset=0.25,
                                                        tau_mem=1e9), weight=1.5)
    backend = _run_steps(_compiled(network, 3), {inp: x}, 2)
    assert _spike_steps(backend, out) == [(1, 0)]
    assert backend.get_var(out, "v")[0, 0] == np.float32(0.75)


def test_lif_absolute_reset_sets_v_reset():
    network, inp, out, x = _input_to(LeakyIntegrateFire(v_thresh=1.0, v_reset=0.25,
                                                        relative_reset=False), weight=1.5)
    backend = _run_steps(_compiled(network, 3), {inp: x}, 2)
    assert backend.get_var(out, "v")[0, 0] == np.float32(0.25)


def test_lif_refractory_minimum_interval_is_tau_refrac_steps():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=0.5), 1)
        out = Layer(Dense(10.0), LeakyIntegrateFire(tau_refrac=2.0), 1, record_spikes=True)
    backend = _run_steps(_compiled(network, 12), {inp: np.array([[1.0]])}, 12)
    steps = [t for t, _ in _spike_steps(backend, out)]
    assert steps == [1, 3, 5, 7, 9, 11]
    assert backend.get_var(out, "RefracTime")[0, 0] == np.float32(2.0)


def test_lif_without_integration_during_refrac_holds_v():
    network, inp, out, x = _input_to(
        LeakyIntegrateFire(tau_refrac=5.0, integrate_during_refrac=False, tau_mem=1e9),
        weight=1.5, times=(0.0, 1.0))
    backend = _run_steps(_compiled(network, 4), {inp: x}, 3)
    # spike in step 1 (V 1.5 -> 0.5); the second weight arrives while refractory
    assert backend.get_var(out, "v")[0, 0] == np.float32(0.5)


def test_integrate_fire_adds_input_without_leak():
    network, inp, out, x = _input_to(IntegrateFire(v_thresh=2.0), weight=0.75,
                                     times=(0.0, 1.0, 2.0))
    backend = _run_steps(_compiled(network, 5), {inp: x}, 4)
    assert _spike_steps(backend, out) == [(3, 0)]
    assert backend.get_var(out, "v")[0, 0] == np.float32(0.0)


def test_leaky_integrate_adds_bias_each_step():
    network, inp, out, x = _input_to(LeakyIntegrate(tau_mem=1e9, bias=0.25), times=())
    backend = _run_steps(_compiled(network, 4), {inp: x}, 4)
    assert backend.get_var(out, "v")[0, 0] == np.float32(1.0)


@pytest.mark.parametrize("readout,expected", [
    ("sum_var", 0.875), ("avg_var", 0.875 / 4), ("max_var", 0.5),
])
def test_readouts_accumulate_v(readout, expected):
    network, inp, out, x = _input_to(LeakyIntegrate(tau_mem=1.0 / np.log(2.0), readout=readout),
                                     weight=0.5)
    compiled = _compiled(network, 4)
    backend = _run_steps(compiled, {inp: x}, 4)
    with compiled:
        got = compiled.get_readout(out)
    assert got.shape == (1, 1) and got.dtype == np.float32
    # Alpha = 0.5: V is 0, 0.5, 0.25, 0.125 over the four steps (all exact in float32)
    assert got[0, 0] == np.float32(expected)
    assert backend.timestep == 4


def test_spike_count_and_first_spike_time_readouts():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(), 1)
        count = Layer(Dense(1.5), LeakyIntegrateFire(readout="spike_count"), 1)
    with network:
        first = Population(LeakyIntegrateFire(readout="first_spike_time"), 1)
        Connection(inp, first, Dense(1.5))
    x = {inp: [preprocess_spikes([2.0, 5.0], [0, 0], 1)]}
    compiled = _compiled(network, 8)
    _run_steps(compiled, x, 8)
    with compiled:
        assert compiled.get_readout(count)[0, 0] == 2.0
        assert compiled.get_readout(first)[0, 0] == -3.0


def test_poisson_input_rate_matches_probability():
    network = Network()
    with network:
        pop = Population(PoissonInput(), 2000, record_spikes=True)
    rate = 0.1
    backend = _run_steps(_compiled(network, 50, rng_seed=3), {pop: np.full((1, 2000), rate)}, 50)
    backend.pull_recording_buffers()
    count = len(backend.get_spikes(pop)[0][0])
    assert count / (2000 * 50) == pytest.approx(1.0 - np.exp(-rate), rel=0.05)


def test_poisson_input_is_reproducible_with_the_seed():
    def spikes(seed):
        network = Network()
        with network:
            pop = Population(PoissonInput(), 50, record_spikes=True)
        backend = _run_steps(_compiled(network, 20, rng_seed=seed),
                             {pop: np.full((1, 50), 0.2)}, 20)
        backend.pull_recording_buffers()
        return backend.get_spikes(pop)[0][1]

    np.testing.assert_array_equal(spikes(5), spikes(5))
    assert not np.array_equal(spikes(5), spikes(6))


def test_one_to_one_and_fixed_probability_weights():
    network = Network()
    with network:
        a = Population(SpikeInput(), 4)
        b = Population(LeakyIntegrate(), 4)
        c = Population(LeakyIntegrate(), 4)
        one = Connection(a, b, OneToOne(np.arange(4.0)))
        sparse = Connection(a, c, FixedProbability(0.5, 1.0))
    backend = _compiled(network, 2, rng_seed=1).backend
    np.testing.assert_array_equal(backend.get_conn_var(one, "weight"), np.diag(np.arange(4.0)))
    mask = backend.get_weight_mask(sparse)
    np.testing.assert_array_equal(backend.get_conn_var(sparse, "g"), mask.astype(np.float32))
    assert 0 < mask.sum() < 16


@pytest.mark.parametrize("accumulation", ["sequential", "blas"])
@pytest.mark.parametrize("synapse", ["delta", "exponential"])
def test_one_to_one_delivers_each_spike_to_its_partner(accumulation, synapse):
    network = Network()
    with network:
        inp = Population(SpikeInput(), 3)
        out = Population(LeakyIntegrate(tau_mem=1e9), 3)
        Connection(inp, out, OneToOne(np.array([1.0, 2.0, 3.0])), synapse)
    x = {inp: [preprocess_spikes([0.0, 0.0], [0, 2], 3)]}
    backend = _run_steps(_compiled(network, 3, backend=("numpy", {"accumulation":
                                                                  accumulation})), x, 2)
    np.testing.assert_array_equal(backend.get_var(out, "v"), [[1.0, 0.0, 3.0]])


@pytest.mark.parametrize("accumulation", ["sequential", "blas"])
def test_two_incoming_connections_are_summed(accumulation):
    network = Network()
    with network:
        a = Population(SpikeInput(), 2)
        out = Population(LeakyIntegrate(tau_mem=1e9), 1)
        Connection(a, out, Dense(np.array([[0.25], [0.5]])))
        Connection(a, out, FixedProbability(1.0, 2.0), Exponential(5.0))
    x = {a: [preprocess_spikes([0.0, 0.0], [0, 1], 2)]}
    backend = _run_steps(_compiled(network, 3, backend=("numpy", {"accumulation":
                                                                  accumulation})), x, 3)
    decay = np.float32(np.exp(-0.2))
    # step 1: 0.75 (delta) + 4.0 (exponential); step 2: + 4.0 * decay
    expected = np.float32(np.float32(np.float32(0.75) + np.float32(4.0)) + np.float32(4.0) * decay)
    assert backend.get_var(out, "v")[0, 0] == expected


def test_time_seen_by_step_i_is_float32_i_times_float32_dt_as_in_genn():
    # At dt = 0.7 ms, float32(9) * float32(0.7) = 6.2999997 < float32(6.3): GeNN (and
    # mlGeNN) emit a spike at 6.3 ms in step 10, not step 9 (float32(9 * 0.7) = 6.3).
    network = Network()
    with network:
        pop = Population(SpikeInput(), 1, record_spikes=True)
    spikes = preprocess_spikes([6.3], [0], 1)
    backend = _run_steps(_compiled(network, 12, dt=0.7), {pop: [spikes]}, 12)
    backend.pull_recording_buffers()
    times, _ = backend.get_spikes(pop)[0]
    assert times.tolist() == [10 * 0.7]
