"""Per-neuron parameters (mlGeNN's array parameters) on the genn backend, bit for bit as NumPy.

Every parameter a model takes per neuron is given as an array or an
initializer; GeNN holds each as a read-only variable of its GeNN name, and
the network must give the NumPy backend's spikes, variables and readouts
exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from _compare import assert_same, run
from _genn_helpers import PYGENN_MISSING

from spikehooks import Connection, Network, Population
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import IntegrateFire, IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential

pytest.importorskip("pygenn", reason=PYGENN_MISSING)
recorders = pytest.importorskip("spikehooks_recorders",
                                reason="the spikehooks-recorders plugin is not installed")

TIMESTEPS = 40
X = np.random.default_rng(7).uniform(0.0, 1.0, (3, 8)).astype(np.float32)


def _network():
    network = Network()
    with network:
        inp = Population(IntegrateFireInput(v_thresh=np.linspace(1.0, 2.5, 8),
                                            v_reset=Uniform(-0.3, 0.0)),
                         8, record_spikes=True, name="inp")
        # Relative reset with per-neuron thresholds, per-neuron leak with scaled input,
        # per-neuron refractory periods.
        hid = Population(LeakyIntegrateFire(v_thresh=Uniform(0.6, 1.2), v_reset=-0.1,
                                            tau_mem=np.linspace(5.0, 30.0, 10),
                                            tau_refrac=np.array([0, 1, 2, 3, 4] * 2, float),
                                            scale_i=True, v=Uniform(0.0, 0.3)),
                         10, record_spikes=True, name="hid")
        # Absolute reset without integration while refractory.
        ref = Population(LeakyIntegrateFire(v_thresh=0.8, v_reset=np.linspace(-0.5, 0.0, 6),
                                            tau_mem=15.0, tau_refrac=Uniform(1.0, 4.0),
                                            relative_reset=False,
                                            integrate_during_refrac=False),
                         6, record_spikes=True, name="ref")
        itf = Population(IntegrateFire(v_thresh=np.array([0.5, 1.0, 1.5, 2.0]),
                                       readout="spike_count"), 4, name="itf")
        out = Population(LeakyIntegrate(tau_mem=Uniform(5.0, 25.0), scale_i=True,
                                        readout="avg_var"), 3, name="out")
        Connection(inp, hid, FixedProbability(0.6, Normal(0.5, 0.3)),
                   Exponential(np.linspace(2.0, 8.0, 10), scale_i=True), name="inp_hid")
        Connection(inp, ref, Dense(Normal(0.4, 0.3)), Exponential(np.full(6, 3.0)),
                   name="inp_ref")
        Connection(hid, itf, Dense(Normal(0.4, 0.3)), name="hid_itf")
        Connection(hid, out, Dense(Normal(0.2, 0.4)), Exponential(4.0), name="hid_out")
        Connection(ref, out, Dense(Normal(0.1, 0.3)), name="ref_out")
    return network


def _recorders(network):
    pop = network.get_population
    sr, vr = recorders.SpikeRecorder, recorders.VarRecorder
    return [
        sr(pop("inp"), key="inp_spikes"),
        sr(pop("hid"), key="hid_spikes"),
        sr(pop("ref"), key="ref_spikes"),
        vr(pop("inp"), "v", key="inp_v"),
        vr(pop("hid"), "v", key="hid_v"),
        vr(pop("hid"), genn_var="RefracTime", key="hid_refrac"),
        vr(pop("ref"), "v", key="ref_v"),
        vr(pop("itf"), "v", key="itf_v"),
        vr(pop("out"), "v", key="out_v"),
        vr(pop("hid"), genn_var="Vthresh", key="hid_vthresh"),
        vr(pop("hid"), genn_var="Alpha", key="hid_alpha"),
        vr(pop("ref"), genn_var="TauRefrac", key="ref_taurefrac"),
    ]


@pytest.fixture(scope="module")
def both(genn_cache):
    args = (_network, X, TIMESTEPS, genn_cache, _recorders, ["itf", "out"])
    return run("numpy", *args), run("genn", *args)


KEYS = ["inp_spikes", "hid_spikes", "ref_spikes", "inp_v", "hid_v", "hid_refrac", "ref_v",
        "itf_v", "out_v", "hid_vthresh", "hid_alpha", "ref_taurefrac"]


@pytest.mark.parametrize("key", KEYS)
def test_recordings_match_numpy_bit_for_bit(both, key):
    (_, expected, _), (_, got, _) = both
    assert_same(expected[key], got[key], key)


@pytest.mark.parametrize("output", ["itf", "out"])
def test_readouts_match_numpy_bit_for_bit(both, output):
    (expected, _, _), (got, _, _) = both
    assert got[output].dtype == np.float32
    np.testing.assert_array_equal(got[output], expected[output])


def test_network_is_active_enough_to_compare(both):
    (_, cb_data, _), _ = both
    for key, least in (("inp_spikes", 20), ("hid_spikes", 20), ("ref_spikes", 5)):
        assert sum(len(ids) for ids in cb_data[key][1]) > least, key
    # Some hidden neurons were refractory at some step: the per-neuron periods mattered.
    assert max(float(np.max(r)) for r in cb_data["hid_refrac"]) > 0


def test_per_neuron_values_are_genn_variables_holding_the_drawn_values(both):
    _, (_, _, backend) = both
    network = backend.network
    hid, ref = network.get_population("hid"), network.get_population("ref")
    alpha = backend.get_var(hid, "Alpha")
    np.testing.assert_array_equal(
        alpha, np.exp(-1.0 / np.linspace(5.0, 30.0, 10)).astype(np.float32)[None])
    np.testing.assert_array_equal(backend.get_var(hid, "TauRefrac"),
                                  np.array([[0, 1, 2, 3, 4] * 2], np.float32))
    taus = backend.get_var(ref, "TauRefrac")
    assert taus.shape == (1, 6) and np.all((taus >= 1.0) & (taus <= 4.0))
    groups, _ = backend.genn_groups()
    assert "Vthresh" in groups[hid].vars and "Vreset" not in groups[hid].vars
