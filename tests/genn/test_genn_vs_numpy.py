"""The genn backend agrees with the NumPy backend on every recorder, filter and readout.

One network exercises every deterministic model option (multi-frame input,
refractory absolute reset without integration, scaled input, exponential
and delta synapses, dense, sparse and one-to-one connectivity, two incoming
connections, every readout) and is run on both backends at batch size 1 with
the recorders plugin.  The NumPy backend's default sequential accumulation is
GeNN's summation order, so the results must be identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from _genn_helpers import PYGENN_MISSING, compiler

from spikehooks import Connection, Network, Population
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import IntegrateFire, IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential

pytest.importorskip("pygenn", reason=PYGENN_MISSING)
recorders = pytest.importorskip("spikehooks_recorders",
                                reason="the spikehooks-recorders plugin is not installed")

TIMESTEPS = 40
X = np.random.default_rng(3).uniform(0.0, 1.2, (4, 2, 4, 5)).astype(np.float32)


def _network():
    network = Network()
    with network:
        inp = Population(IntegrateFireInput(v_thresh=2.0, input_frames=2,
                                            input_frame_timesteps=15),
                         (4, 5), record_spikes=True, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, v_reset=-0.2, tau_mem=15.0,
                                            tau_refrac=3.0, relative_reset=False,
                                            integrate_during_refrac=False, scale_i=True,
                                            v=Uniform(0.0, 0.5)),
                         12, record_spikes=True, name="hid")
        itf = Population(IntegrateFire(v_thresh=1.5, readout="spike_count"), 6,
                         record_spikes=True, name="itf")
        lif = Population(LeakyIntegrateFire(tau_mem=10.0, readout="first_spike_time"), 6,
                         record_spikes=True, name="lif")
        avg = Population(LeakyIntegrate(tau_mem=8.0, scale_i=True, readout="avg_var",
                                        bias=np.linspace(0.0, 0.2, 12)), 12, name="avg")
        top = Population(LeakyIntegrate(tau_mem=12.0, readout="max_var"), 3, name="top")
        Connection(inp, hid, FixedProbability(0.5, Normal(0.6, 0.3)),
                   Exponential(4.0, scale_i=True), name="inp_hid")
        Connection(hid, itf, Dense(Normal(0.5, 0.3)), name="hid_itf")
        Connection(hid, lif, Dense(Uniform(0.0, 0.8)), Exponential(3.0), name="hid_lif")
        Connection(inp, lif, Dense(Normal(0.0, 0.2)), name="inp_lif")
        Connection(hid, avg, OneToOne(0.5), name="hid_avg")
        Connection(lif, top, Dense(Normal(0.2, 0.5)), Exponential(5.0), name="lif_top")
    return network


def _recorders(network):
    pop, conn = network.get_population, network.get_connection
    sr, vr = recorders.SpikeRecorder, recorders.VarRecorder
    return [
        sr(pop("inp"), key="inp_spikes", neuron_filter=np.index_exp[1:3, ::2]),
        sr(pop("hid"), key="hid_spikes", example_filter=[0, 2, 3]),
        sr(pop("itf"), key="itf_counts", record_counts=True),
        sr(pop("lif"), key="lif_spikes", example_filter=[True, False, True]),
        vr(pop("inp"), "v", key="inp_v", neuron_filter=(np.array([0, 3]), np.array([1, 4]))),
        vr(pop("hid"), "v", key="hid_v", neuron_filter=slice(0, 12, 3)),
        vr(pop("hid"), genn_var="RefracTime", key="hid_refrac"),
        vr(pop("itf"), genn_var="Scount", key="itf_scount"),
        vr(pop("lif"), genn_var="TFirstSpike", key="lif_tfirst"),
        vr(pop("avg"), "v", key="avg_v", record_every=4),
        vr(pop("avg"), genn_var="VAvg", key="avg_vavg", example_filter=1),
        vr(pop("top"), genn_var="VMax", key="top_vmax", neuron_filter=[0, 2]),
        recorders.ConnVarRecorder(conn("inp_hid"), "weight", per="batch", key="inp_hid_w"),
        recorders.ConnVarRecorder(conn("hid_avg"), "weight", per="batch", key="hid_avg_w",
                                  src_neuron_filter=slice(0, 6)),
    ]


def _run(backend, cache, num_recording_timesteps=None, **compiler_kwargs):
    network = _network()
    comp = compiler(backend, TIMESTEPS, cache, rng_seed=5,
                    num_recording_timesteps=num_recording_timesteps, **compiler_kwargs)
    compiled = comp.compile(network)
    outputs = [network.get_population(n) for n in ("itf", "lif", "avg", "top")]
    with compiled:
        y_pred, cb_data = compiled.predict({network.get_population("inp"): X}, outputs,
                                           callbacks=_recorders(network))
    return {pop.name: value for pop, value in y_pred.items()}, cb_data, compiled.backend


@pytest.fixture(scope="module")
def both(genn_cache):
    return _run("numpy", genn_cache), _run("genn", genn_cache)


@pytest.fixture(scope="module")
def windowed(genn_cache):
    """Spike recording buffers of 7 steps, pulled every window within a 40-step batch."""
    return _run("numpy", genn_cache, 7), _run("genn", genn_cache, 7)


def _assert_same(expected, got, where):
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == expected.dtype and got.shape == expected.shape, where
        np.testing.assert_array_equal(got, expected, err_msg=where)
        return
    assert type(got) is type(expected) and len(got) == len(expected), where
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        _assert_same(e, g, f"{where}[{i}]")


KEYS = ["inp_spikes", "hid_spikes", "itf_counts", "lif_spikes", "inp_v", "hid_v", "hid_refrac",
        "itf_scount", "lif_tfirst", "avg_v", "avg_vavg", "top_vmax", "inp_hid_w", "hid_avg_w"]


@pytest.mark.parametrize("key", KEYS)
def test_recorder_data_match_numpy(both, key):
    (_, expected, _), (_, got, _) = both
    _assert_same(list(expected[key]) if isinstance(expected[key], tuple) else expected[key],
                 list(got[key]) if isinstance(got[key], tuple) else got[key], key)


def test_network_is_active_enough_to_compare(both):
    (_, cb_data, _), _ = both
    assert sum(len(ids) for ids in cb_data["hid_spikes"][1]) > 20
    assert sum(len(ids) for ids in cb_data["lif_spikes"][1]) > 5
    assert sum(int(c.sum()) for c in cb_data["itf_counts"]) > 5


@pytest.mark.parametrize("output", ["itf", "lif", "avg", "top"])
def test_readouts_match_numpy(both, output):
    (expected, _, _), (got, _, _) = both
    assert got[output].dtype == np.float32
    np.testing.assert_array_equal(got[output], expected[output])


@pytest.mark.parametrize("key", ["inp_spikes", "hid_spikes", "lif_spikes", "itf_counts"])
def test_windowed_spike_recording_matches_whole_batch_recording(both, windowed, key):
    (_, whole, _), _ = both
    (_, numpy_windowed, _), (_, genn_windowed, genn_backend) = windowed
    assert genn_backend.num_recording_timesteps == 7
    for data in (numpy_windowed, genn_windowed):
        _assert_same(list(whole[key]) if isinstance(whole[key], tuple) else whole[key],
                     list(data[key]) if isinstance(data[key], tuple) else data[key], key)


def test_windowed_recording_pulls_once_per_window(windowed):
    _, (_, _, backend) = windowed
    # 4 batches of 40 steps in windows of 7: pulls after steps 7, 14, ..., 35 and 40.
    assert backend.num_recording_pulls == 4 * 6


@pytest.mark.parametrize("reset_vars", [True, False])
@pytest.mark.parametrize("reset_in_syn", [True, False])
def test_reset_switches_match_numpy(genn_cache, reset_vars, reset_in_syn):
    kwargs = {"reset_vars_between_batches": reset_vars,
              "reset_in_syn_between_batches": reset_in_syn}
    expected, _, _ = _run("numpy", genn_cache, **kwargs)
    got, _, _ = _run("genn", genn_cache, **kwargs)
    for output in expected:
        np.testing.assert_array_equal(got[output], expected[output], err_msg=output)


def test_recorders_share_one_genn_transfer_per_window(genn_cache, monkeypatch):
    network = _network()
    compiled = compiler("genn", TIMESTEPS, genn_cache, rng_seed=5,
                        num_recording_timesteps=10).compile(network)
    model = compiled.backend._model
    transfers = []
    pull = model.pull_recording_buffers_from_device
    monkeypatch.setattr(model, "pull_recording_buffers_from_device",
                        lambda: transfers.append(compiled.backend.timestep) or pull())
    pops = [network.get_population(n) for n in ("inp", "hid", "lif")]
    with compiled:
        compiled.predict({pops[0]: X[:2]}, network.get_population("top"),
                         callbacks=[recorders.SpikeRecorder(p, key=p.name) for p in pops])
    assert transfers == [10, 20, 30, 40] * 2
