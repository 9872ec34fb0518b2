"""Inference with avg_var_exp_weight, var, recurrence and delays on the compiled backend equals
the NumPy backend bit for bit; the mlGeNN models fall back to NumPy by name."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.neurons.mlgenn_models import (
    AdaptiveLeakyIntegrateFire,
    LeakyIntegrateFireInput,
)
from spikehooks.synapses import Exponential

pytest.importorskip("numba")

STEPS = 40


def _network():
    """Recurrent LIF layers (dense and sparse) and avg_var_exp_weight readouts."""
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=400), 8, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=0.8, tau_mem=15.0,
                                            readout="avg_var_exp_weight"), 20, name="hid")
        Connection(inp, hid, Dense(Normal(0.5, 0.3)), Exponential(4.0))
        Connection(hid, hid, Dense(Normal(0.0, 0.3)), Exponential(5.0))
        sparse = Population(LeakyIntegrateFire(v_thresh=0.6, tau_mem=10.0,
                                               readout="spike_count"), 10, name="sparse")
        Connection(hid, sparse, Dense(Normal(0.4, 0.3)))
        Connection(sparse, sparse, FixedProbability(0.5, Normal(0.1, 0.3)), Exponential(3.0))
        out = Population(LeakyIntegrate(tau_mem=20.0, scale_i=True,
                                        readout="avg_var_exp_weight"), 4, name="out")
        Connection(hid, out, Dense(Normal(0.0, 0.5)), Exponential(5.0))
        Connection(sparse, out, Dense(Normal(0.0, 0.5)))
        # mlGeNN's var readout (V at the end; per-timestep training reads it each step).
        vout = Population(LeakyIntegrate(tau_mem=10.0, readout="var"), 3, name="vout")
        Connection(hid, vout, Dense(Normal(0.0, 0.5)), Exponential(5.0))
    return net, {p.name: p for p in net.populations}


def _inputs(pop, num):
    rng = np.random.default_rng(2)
    return {pop: [preprocess_spikes(np.sort(rng.uniform(0, STEPS, 60)).round(),
                                    rng.integers(0, 8, 60), 8) for _ in range(num)]}


def _predict(backend, batch_size):
    net, pops = _network()
    compiled = InferenceCompiler(STEPS, batch_size=batch_size, rng_seed=4,
                                 backend=backend).compile(net)
    readouts = [pops["hid"], pops["sparse"], pops["out"], pops["vout"]]
    with compiled:
        predictions = compiled.predict(_inputs(pops["inp"], 5), readouts, callbacks=[])[0]
    return {p.name: v for p, v in predictions.items()}


@pytest.mark.parametrize("batch_size,threads", [(1, 1), (3, 2)])
def test_recurrence_and_avg_var_exp_weight_agree_bit_for_bit(batch_size, threads):
    expected = _predict("numpy", 2)
    got = _predict(("compiled", {"num_threads": threads}), batch_size)
    assert list(got) == list(expected)
    for name in expected:
        assert got[name].dtype == expected[name].dtype
        assert got[name].tobytes() == expected[name].tobytes(), name
    assert (expected["sparse"] > 0).any() and np.abs(expected["out"]).max() > 0
    assert np.abs(expected["vout"]).max() > 0


def test_the_default_backend_runs_them_compiled():
    net, _ = _network()
    assert InferenceCompiler(STEPS).compile(net).backend.name == "compiled"


def test_avg_var_exp_weight_past_num_timesteps_matches_numpy():
    """Steps beyond num_timesteps keep the NumPy backend's weight exp(-t / T) / T."""
    def run(backend):
        net, pops = _network()
        compiled = InferenceCompiler(STEPS, backend=backend).compile(net)
        with compiled:
            compiled.set_input(_inputs(pops["inp"], 1))
            for _ in range(STEPS + 15):
                compiled.step_time()
            return compiled.backend.get_readout(pops["out"])

    expected = run("numpy")
    assert run("compiled").tobytes() == expected.tobytes()


def _delayed(delay, max_delay_steps=None):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3, name="inp")
        lif = Population(LeakyIntegrateFire(), 4, name="lif")
        Connection(inp, lif, Dense(0.5, delay=delay), name="slow",
                   max_delay_steps=max_delay_steps)
    return net


@pytest.mark.parametrize("delay,max_delay_steps", [
    (2, None),
    (np.array([[0, 1, 0, 0]] * 3), None),
    (Uniform(0.0, 4.0), 4),
])
def test_delays_run_compiled_by_default_without_a_fallback(delay, max_delay_steps, caplog):
    """Delays on Dense and FixedProbability have kernel code (tests/runtime/
    test_compiled_delays.py checks the results bit for bit)."""
    with caplog.at_level(logging.WARNING, logger="spikehooks.backends"):
        compiled = InferenceCompiler(5).compile(_delayed(delay, max_delay_steps))
    assert compiled.backend.name == "compiled"
    assert not [r for r in caplog.records if r.name == "spikehooks.backends"]
    named = InferenceCompiler(5, backend="compiled").compile(_delayed(delay, max_delay_steps))
    assert named.backend.name == "compiled"


def test_all_zero_delays_run_compiled():
    compiled = InferenceCompiler(5).compile(_delayed(np.zeros((3, 4), dtype=int)))
    assert compiled.backend.name == "compiled"


def test_mlgenn_models_fall_back_to_numpy_by_default_and_are_refused_by_name(caplog):
    def network():
        net = Network()
        with net:
            inp = Population(LeakyIntegrateFireInput(), 3, name="lifin")
            lif = Population(LeakyIntegrateFire(), 4, name="lif")
            Connection(inp, lif, Dense(0.5))
        return net

    with caplog.at_level(logging.WARNING, logger="spikehooks.backends"):
        compiled = InferenceCompiler(5).compile(network())
    assert compiled.backend.name == "numpy"
    lines = [r.getMessage() for r in caplog.records if r.name == "spikehooks.backends"]
    assert len(lines) == 1
    assert "population 'lifin' has neuron model LeakyIntegrateFireInput" in lines[0]
    with pytest.raises(ConfigurationError, match=r"LeakyIntegrateFireInput\. The NumPy"):
        InferenceCompiler(5, backend="compiled").compile(network())


def test_adaptive_neurons_run_compiled_by_default_without_a_fallback(caplog):
    """AdaptiveLeakyIntegrateFire has kernel code (tests/runtime/test_compiled_alif.py
    checks the results bit for bit)."""
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3, name="inp")
        alif = Population(AdaptiveLeakyIntegrateFire(), 4, name="alif")
        Connection(inp, alif, Dense(0.5))
    with caplog.at_level(logging.WARNING, logger="spikehooks.backends"):
        compiled = InferenceCompiler(5).compile(net)
    assert compiled.backend.name == "compiled"
    assert not [r for r in caplog.records if r.name == "spikehooks.backends"]
