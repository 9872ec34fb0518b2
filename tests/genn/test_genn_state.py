"""Build cache, learnable state, checkpoints and input handling of the genn backend."""

from __future__ import annotations

import gc
import subprocess
import sys

import numpy as np
import pytest
from _genn_helpers import PYGENN_MISSING, compiler

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.backends.genn_backend import GeNNBackend
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import (
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    PoissonInput,
    SpikeInput,
)
from spikehooks.serialisers import load, save

pytest.importorskip("pygenn", reason=PYGENN_MISSING)

X = np.random.default_rng(1).uniform(0.0, 1.5, (3, 6)).astype(np.float32)


def _network(weight=("normal", {"mean": 0.4, "sd": 0.3}), p=None, tau_mem=20.0):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(), 6, name="in")
        Layer(Dense(weight) if p is None else FixedProbability(p, weight),
              LeakyIntegrateFire(tau_mem=tau_mem), 5, name="hid")
        out = Layer(Dense(("normal", {"sd": 0.5})), LeakyIntegrate(readout="sum_var"), 3,
                    name="out")
    return network, inp, out


def _predict(network, inp, out, backend, cache, rng_seed=0):
    compiled = compiler(backend, 25, cache, rng_seed=rng_seed).compile(network)
    with compiled:
        y_pred, _ = compiled.predict({inp: X}, out, callbacks=[])
    return compiled, y_pred[out]


# ------------------------------------------------------------------ build cache
def test_second_compile_of_the_same_model_does_not_rebuild(tmp_path):
    first = GeNNBackend(_network()[0], batch_size=1, dt=1.0, num_timesteps=25,
                        cache_dir=tmp_path)
    build_dir, cold_seconds = first.build_dir, first.build_seconds
    library = build_dir / "spikehooks_CODE" / "librunner.so"
    built_at = library.stat().st_mtime_ns
    del first
    gc.collect()
    other, _, _ = _network(weight=0.3)  # same code, other weights
    second = GeNNBackend(other, batch_size=1, dt=1.0, num_timesteps=25, cache_dir=tmp_path)
    assert second.build_dir == build_dir == tmp_path / second.cache_key
    assert library.stat().st_mtime_ns == built_at
    assert second.build_seconds < cold_seconds / 2


def test_live_networks_of_one_model_each_simulate_their_own_weights(genn_cache):
    readouts, folders, live = [], [], []
    for weight in (0.5, -0.5, 0.5):
        network, inp, out = _network(weight=weight)
        backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                              cache_dir=genn_cache)
        live.append((backend, inp, out))
        folders.append(backend.build_dir)
    for backend, inp, out in live:
        backend.reset()
        backend.set_input(inp, X[:1, None])
        backend.run(25)
        readouts.append(backend.get_readout(out))
    assert len(set(folders)) == 3
    assert np.ptp(readouts[0]) > 0
    np.testing.assert_array_equal(readouts[2], readouts[0])
    assert not np.array_equal(readouts[1], readouts[0])


def test_a_different_model_gets_its_own_build_folder(genn_cache):
    first = GeNNBackend(_network()[0], batch_size=1, dt=1.0, num_timesteps=25,
                        cache_dir=genn_cache)
    second = GeNNBackend(_network(tau_mem=5.0)[0], batch_size=1, dt=1.0, num_timesteps=25,
                         cache_dir=genn_cache)
    assert first.build_dir != second.build_dir
    for backend in (first, second):
        assert backend.build_dir == genn_cache / backend.cache_key
        assert (backend.build_dir / "spikehooks_CODE" / "librunner.so").is_file()


_TWIN_SCRIPT = """
import sys
import numpy as np
from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.backends.genn_backend import GeNNBackend
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

network = SequentialNetwork()
with network:
    inp = InputLayer(IntegrateFireInput(), 6)
    Layer(Dense(0.4), LeakyIntegrateFire(tau_mem=7.0), 5)
    out = Layer(Dense(0.3), LeakyIntegrate(readout="sum_var"), 3)
backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25, cache_dir=sys.argv[1])
backend.reset()
backend.set_input(inp, np.full((1, 1, 6), 0.7, np.float32))
backend.run(25)
print(backend.get_readout(out).tolist())
"""


def test_two_processes_compiling_one_model_at_once_both_succeed(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _TWIN_SCRIPT, str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results[0][1][-2000:]
    assert results[0][0] == results[1][0]
    assert float(results[0][0].strip("[]\n").split(",")[0]) > 0
    assert len(list(tmp_path.iterdir())) == 1


def test_build_messages_go_to_standard_error(genn_cache, capfd):
    GeNNBackend(_network()[0], batch_size=1, dt=1.0, num_timesteps=25, cache_dir=genn_cache)
    out, err = capfd.readouterr()
    assert "make" not in out
    assert "make" in err


def test_cache_dir_defaults_to_the_environment_variable(genn_cache, monkeypatch):
    monkeypatch.setenv("SPIKEHOOKS_GENN_CACHE", str(genn_cache))
    backend = GeNNBackend(_network()[0], batch_size=1, dt=1.0, num_timesteps=25)
    assert backend.build_dir == genn_cache / backend.cache_key


# ----------------------------------------------------------- learnable state
@pytest.mark.parametrize("p", [None, 0.5])
def test_learnable_state_round_trips(genn_cache, p):
    network, _, _ = _network(p=p)
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                          cache_dir=genn_cache, rng_seed=2)
    state = backend.get_learnable_state()
    assert sorted(state) == ["conn0/weight", "conn1/weight"]
    new = {key: value + np.float32(1.0) for key, value in state.items()}
    backend.set_learnable_state(new)
    got = backend.get_learnable_state()
    mask = state["conn0/weight"] != 0 if p is not None else np.ones((6, 5), bool)
    np.testing.assert_array_equal(got["conn0/weight"], np.where(mask, new["conn0/weight"], 0))
    np.testing.assert_array_equal(got["conn1/weight"], new["conn1/weight"])


def test_sparse_weights_read_as_dense_with_absent_synapses_zero(genn_cache):
    network, _, _ = _network(weight=1.0, p=0.5)
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                          cache_dir=genn_cache, rng_seed=4)
    from spikehooks.backends.numpy_backend import NumpyBackend

    reference = NumpyBackend(network, batch_size=1, dt=1.0, num_timesteps=25, rng_seed=4)
    conn = network.get_connection("conn0")
    weight = backend.get_conn_var(conn, "weight")
    assert weight.shape == (6, 5) and weight.dtype == np.float32
    assert not weight.flags.writeable
    np.testing.assert_array_equal(weight != 0, reference.get_weight_mask(conn))


def test_set_learnable_state_checks_everything_before_writing(genn_cache):
    network, _, _ = _network()
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                          cache_dir=genn_cache)
    before = backend.get_learnable_state()
    bad = {"conn0/weight": before["conn0/weight"] + 1, "conn1/weight": np.zeros((2, 2))}
    with pytest.raises(ConfigurationError, match=r"'conn1/weight' must have shape \(5, 3\)"):
        backend.set_learnable_state(bad)
    with pytest.raises(ConfigurationError, match="key must be one of"):
        backend.set_learnable_state({"nope/weight": before["conn0/weight"]})
    for key, value in backend.get_learnable_state().items():
        np.testing.assert_array_equal(value, before[key])


def test_checkpoint_saved_on_genn_reproduces_outputs_on_numpy(genn_cache, tmp_path):
    serialiser = ("numpy", {"path": tmp_path})
    network, inp, out = _network()
    compiled, on_genn = _predict(network, inp, out, "genn", genn_cache, rng_seed=7)
    with compiled:
        save(compiled, ("ckpt", 1), serialiser)
    other, inp2, out2 = _network(weight=0.0)
    load(other, ("ckpt", 1), serialiser)
    _, on_numpy = _predict(other, inp2, out2, "numpy", genn_cache, rng_seed=8)
    assert np.ptp(on_genn) > 0
    np.testing.assert_array_equal(on_numpy, on_genn)


def test_checkpoint_saved_on_numpy_loads_into_a_compiled_genn_network(genn_cache, tmp_path):
    serialiser = ("numpy", {"path": tmp_path})
    network, inp, out = _network()
    compiled, on_numpy = _predict(network, inp, out, "numpy", genn_cache, rng_seed=7)
    with compiled:
        save(compiled, ("ckpt", 2), serialiser)
    other, inp2, out2 = _network(weight=0.0)
    genn_compiled = compiler("genn", 25, genn_cache, rng_seed=7).compile(other)
    with genn_compiled:
        load(genn_compiled, ("ckpt", 2), serialiser)
        y_pred, _ = genn_compiled.predict({inp2: X}, out2, callbacks=[])
    np.testing.assert_array_equal(y_pred[out2], on_numpy)


def test_training_on_genn_is_refused_with_a_pointer_to_numpy(genn_cache):
    from spikehooks.compilers.event_prop_compiler import EventPropCompiler

    network, _, _ = _network()
    with pytest.raises(ConfigurationError, match="backend='numpy'"):
        EventPropCompiler(25, "sparse_categorical_crossentropy",
                          backend=("genn", {"cache_dir": genn_cache})).compile(network)


# ------------------------------------------------------------------- inputs
def _poisson_spikes(cache, rng_seed):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(PoissonInput(), 400, record_spikes=True, name="in")
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=100,
                          cache_dir=cache, rng_seed=rng_seed)
    rates = np.where(np.arange(400) < 200, np.float32(0.05), np.float32(0.0))
    backend.reset()
    backend.set_input(inp, rates.reshape(1, 1, 400))
    backend.run(100)
    backend.pull_recording_buffers()
    return backend.get_spikes(inp)[0]


def test_poisson_input_fires_at_the_requested_rate(genn_cache):
    times, ids = _poisson_spikes(genn_cache, 11)
    p = 1.0 - np.exp(-0.05)
    expected, sd = 200 * 100 * p, np.sqrt(200 * 100 * p * (1 - p))
    assert abs(len(ids) - expected) < 5 * sd
    assert ids.max() < 200  # rate 0 never fires
    assert times.max() <= 99.0


def test_poisson_input_is_reproducible_for_every_seed(genn_cache):
    # GeNN itself seeds from the clock when given seed 0.
    first, second = _poisson_spikes(genn_cache, 0), _poisson_spikes(genn_cache, 0)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], _poisson_spikes(genn_cache, 1)[1])


def test_model_time_is_the_float32_product_of_step_and_dt(genn_cache):
    # GeNN's runner computes t = float32(step) * float32(dt) in float32; with
    # dt = 0.1 that differs from float32(step * 0.1) at step 9 (0.90000004).
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 1, name="in")
        out = Layer(Dense(1.0), LeakyIntegrateFire(readout="first_spike_time"), 1, name="out")
    backend = GeNNBackend(network, batch_size=1, dt=0.1, num_timesteps=12,
                          cache_dir=genn_cache)
    backend.reset()
    backend.set_input(inp, np.full((1, 1, 1), 1.0 / 9.0, np.float32))  # fires in step 8
    backend.run(12)  # out receives the spike in step 9 and fires at once
    assert backend.get_readout(out)[0, 0] == -(np.float32(9) * np.float32(0.1))
    assert -(np.float32(9) * np.float32(0.1)) != -np.float32(9 * 0.1)


def _spike_network(max_spikes):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=max_spikes), 3, record_spikes=True, name="in")
    return network, inp


def test_spike_input_emits_given_times_and_at_most_one_spike_per_step(genn_cache):
    network, inp = _spike_network(16)
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=12,
                          cache_dir=genn_cache)
    spikes = preprocess_spikes([2.5, 10.0, 10.25, 0.0, 30.0], [0, 0, 0, 2, 1], 3)
    backend.reset()
    backend.set_input(inp, [spikes])
    backend.run(12)
    backend.pull_recording_buffers()
    (times, ids), = backend.get_spikes(inp)
    assert times.tolist() == [0.0, 3.0, 10.0, 11.0]
    assert ids.tolist() == [2, 0, 0, 0]


def test_spike_input_over_capacity_is_refused(genn_cache):
    network, inp = _spike_network(4)
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=12,
                          cache_dir=genn_cache)
    spikes = preprocess_spikes(np.arange(5.0), np.zeros(5, int), 3)
    with pytest.raises(ConfigurationError, match="got 5 spikes for max_spikes=4"):
        backend.set_input(inp, [spikes])


def test_input_for_a_non_input_population_is_refused(genn_cache):
    network, _, out = _network()
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                          cache_dir=genn_cache)
    with pytest.raises(ConfigurationError, match="must have an input neuron model"):
        backend.set_input(out, np.zeros((1, 1, 3), np.float32))


def test_unknown_population_and_variable_are_named(genn_cache):
    network, _, out = _network()
    backend = GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=25,
                          cache_dir=genn_cache)
    with pytest.raises(ConfigurationError, match=r"one of 'v' \('V'\), 'v_sum' \('VSum'\)"):
        backend.get_var(out, "Isyn")
    stranger, _, _ = _network()
    with pytest.raises(ConfigurationError, match="one of this network's populations"):
        backend.get_var(stranger.get_population("out"), "v")
