"""What the genn backend does before (or without) importing pygenn: these tests always run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
from spikehooks.backends.genn_backend import GeNNBackend, PygennUnavailableError
from spikehooks.backends.genn_backend._plan import make_plan
from spikehooks.backends.genn_backend._pygenn import default_cache_dir
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.errors import ConfigurationError, MissingDependencyError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential


def _network(weight=0.5, tau_mem=20.0, p=None):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(), 6, name="in")
        hid = Layer(Dense(weight) if p is None else FixedProbability(p, weight),
                    LeakyIntegrateFire(tau_mem=tau_mem), 4, Exponential(5.0), name="hid")
        Layer(Dense(0.1), LeakyIntegrate(readout="sum_var"), 2, name="out")
    return network, inp, hid


@pytest.fixture
def no_pygenn(monkeypatch):
    """Make ``import pygenn`` fail as it does where pygenn is not installed."""
    monkeypatch.setitem(sys.modules, "pygenn", None)


def test_missing_pygenn_error_says_how_to_get_it(no_pygenn):
    network, _, _ = _network()
    with pytest.raises(PygennUnavailableError) as info:
        GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=10)
    message = str(info.value)
    assert "not installable from PyPI" in message
    assert "GeNN" in message and "source" in message
    assert "backend='numpy'" in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, MissingDependencyError)


def test_compiling_for_genn_without_pygenn_raises_the_same_error(no_pygenn):
    network, _, _ = _network()
    compiler = InferenceCompiler(evaluate_timesteps=10, backend="genn")
    with pytest.raises(PygennUnavailableError, match="not installable from PyPI"):
        compiler.compile(network)


def test_importing_the_backend_does_not_import_pygenn():
    code = ("import sys, spikehooks.backends.genn_backend; "
            "print('pygenn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_training_is_refused_before_anything_is_built(no_pygenn):
    network, _, _ = _network()
    assert GeNNBackend.supports_training is False
    with pytest.raises(ConfigurationError, match="runs inference only"):
        GeNNBackend(network, batch_size=1, dt=1.0, num_timesteps=10, training=True)


def test_batch_size_above_one_is_refused_on_the_cpu_backend(no_pygenn):
    network, _, _ = _network()
    with pytest.raises(ConfigurationError, match="batch_size must be 1 on GeNN's "
                                                 "single_threaded_cpu backend; got 4"):
        GeNNBackend(network, batch_size=4, dt=1.0, num_timesteps=10)


def _plan(network, **overrides):
    settings = {"batch_size": 1, "dt": 1.0, "num_timesteps": 10, "rng_seed": 0,
                "genn_backend": "single_threaded_cpu", **overrides}
    return make_plan(network, **settings)


def test_constant_delay_is_planned_as_an_axonal_delay():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 3, name="in")
        Layer(Dense(0.5, delay=2), LeakyIntegrateFire(), 2, name="hid")
    (conn,) = _plan(network).connections
    assert conn.axonal_delay == 2 and not conn.dendritic
    assert conn.weight_update.class_name == "SpikehooksStaticPulse"
    np.testing.assert_array_equal(conn.delays, np.full((3, 2), 2))


def test_per_synapse_delays_are_planned_as_dendritic_delays_drawn_like_numpy():
    from spikehooks.backends.numpy_backend import NumpyBackend

    network = Network()
    with network:
        inp = Population(IntegrateFireInput(), 5)
        hid = Population(LeakyIntegrateFire(), 4)
        syn = Connection(inp, hid, FixedProbability(0.6, ("normal", {"sd": 0.3}),
                                                    delay=("uniform", {"min": 0.0, "max": 300.0})),
                         max_delay_steps=300)
    conn = _plan(network, rng_seed=4).connections[0]
    numpy_backend = NumpyBackend(network, batch_size=1, dt=1.0, num_timesteps=10, rng_seed=4)
    assert conn.dendritic and conn.axonal_delay == 0 and conn.max_delay_steps == 300
    np.testing.assert_array_equal(conn.delays, numpy_backend.get_delays(syn))
    np.testing.assert_array_equal(conn.weight, numpy_backend.get_weight(syn))
    # Delays above 255 steps need GeNN's 16-bit delay variable.
    assert [v.type for v in conn.weight_update.vars] == ["scalar", "uint16_t"]


def test_a_drawn_delay_beyond_max_delay_steps_is_refused_before_building():
    network = Network()
    with network:
        inp = Population(IntegrateFireInput(), 5)
        hid = Population(LeakyIntegrateFire(), 4)
        Connection(inp, hid, Dense(0.5, delay=("uniform", {"min": 0.0, "max": 9.0})),
                   name="hid", max_delay_steps=3)
    with pytest.raises(ConfigurationError, match=r"'hid' delay must be at most "
                                                 r"max_delay_steps=3; got a drawn delay of"):
        _plan(network)


def test_per_neuron_parameters_become_genn_variables():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 3, name="in")
        Layer(Dense(0.5), LeakyIntegrateFire(v_thresh=np.linspace(0.5, 1.0, 4), tau_mem=20.0,
                                             scale_i=True), 4, Exponential(np.arange(1.0, 5.0)),
              name="hid")
    plan = _plan(network, dt=0.5)
    spec = plan.populations[1].spec
    assert "Vthresh" not in spec.params and "VDrop" not in spec.params
    var = {v.name: v for v in spec.vars}["Vthresh"]
    np.testing.assert_array_equal(var.initial, np.linspace(0.5, 1.0, 4).astype(np.float32))
    assert "V -= (Vthresh - Vreset);" in spec.reset_code
    psm = {v.name: v for v in plan.connections[0].psm.vars}
    np.testing.assert_array_equal(psm["ExpDecay"].initial,
                                  np.exp(-0.5 / np.arange(1.0, 5.0)).astype(np.float32))
    # Values are loaded at run time: other thresholds share the build.
    other = SequentialNetwork()
    with other:
        InputLayer(IntegrateFireInput(), 3, name="in")
        Layer(Dense(0.5), LeakyIntegrateFire(v_thresh=np.ones(4), tau_mem=20.0, scale_i=True),
              4, Exponential(np.full(4, 7.0)), name="hid")
    assert plan.cache_key("5.4.0") == _plan(other, dt=0.5).cache_key("5.4.0")


def _key(network, **overrides):
    settings = {"batch_size": 1, "dt": 1.0, "num_timesteps": 10, "rng_seed": 0,
                "genn_backend": "single_threaded_cpu", **overrides}
    return make_plan(network, **settings).cache_key("5.4.0")


def test_cache_key_ignores_weights_and_initial_values():
    assert _key(_network(0.5)[0]) == _key(_network(np.full((6, 4), 0.25))[0])
    assert _key(_network(0.5)[0], rng_seed=0) == _key(_network(0.5)[0], rng_seed=9)


@pytest.mark.parametrize("change", [{"tau_mem": 10.0}, {"p": 0.5}])
def test_cache_key_changes_with_the_model(change):
    assert _key(_network()[0]) != _key(_network(**change)[0])


@pytest.mark.parametrize("setting", [{"dt": 0.5}, {"num_timesteps": 20}])
def test_cache_key_changes_with_step_size_only_where_code_depends_on_it(setting):
    # dt changes Alpha and ExpDecay (baked into the code); num_timesteps only
    # matters to avg_var, which this network does not use.
    same = "num_timesteps" in setting
    assert (_key(_network()[0]) == _key(_network()[0], **setting)) is same


def test_cache_key_changes_with_pygenn_version():
    plan = make_plan(_network()[0], batch_size=1, dt=1.0, num_timesteps=10, rng_seed=0,
                     genn_backend="single_threaded_cpu")
    assert plan.cache_key("5.4.0") != plan.cache_key("5.5.0")


def test_plan_draws_weights_like_the_numpy_backend():
    from spikehooks.backends.numpy_backend import NumpyBackend

    network, _, hid = _network(("normal", {"sd": 0.3}), p=0.5)
    plan = make_plan(network, batch_size=1, dt=1.0, num_timesteps=10, rng_seed=3,
                     genn_backend="single_threaded_cpu")
    numpy_backend = NumpyBackend(network, batch_size=1, dt=1.0, num_timesteps=10, rng_seed=3)
    conn_plan = plan.connections[0]
    assert conn_plan.matrix_type == "SPARSE"
    np.testing.assert_array_equal(conn_plan.weight, numpy_backend.get_weight(hid.connection))
    np.testing.assert_array_equal(conn_plan.mask, numpy_backend.get_weight_mask(hid.connection))


def test_connection_without_synapses_is_built_dense():
    plan = make_plan(_network(p=0.0)[0], batch_size=1, dt=1.0, num_timesteps=10, rng_seed=0,
                     genn_backend="single_threaded_cpu")
    assert plan.connections[0].matrix_type == "DENSE"
    assert not plan.connections[0].weight.any()


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SPIKEHOOKS_GENN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform != "win32":
        assert default_cache_dir() == tmp_path / "xdg" / "spikehooks" / "genn"
    monkeypatch.setenv("SPIKEHOOKS_GENN_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == Path(tmp_path / "mine")
