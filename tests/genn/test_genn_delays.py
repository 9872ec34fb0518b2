"""Fixed synaptic delays on the genn backend, against the NumPy backend.

A delay given as one number is GeNN's axonal delay of the synapse group; one
given per synapse (an array or an initializer, up to ``max_delay_steps``)
is GeNN's dendritic delay, as in mlGeNN.  Either way a spike emitted in step
``n`` reaches the target's input in step ``n + 1 + delay``.

Where at most one input spike arrives per step, every summation order gives
the same float32 sums, so both backends must agree bit for bit (resets
between examples included: nothing in flight may leak into the next
example).  With many spikes per step the NumPy backend sums each delay's
spikes with one BLAS product and GeNN one synapse at a time, so the sums
may differ in the last bits: there the membrane traces of non-spiking
outputs must agree within a relative 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from _compare import assert_same, run
from _genn_helpers import PYGENN_MISSING

from spikehooks import Connection, Network, Population
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential

pytest.importorskip("pygenn", reason=PYGENN_MISSING)
recorders = pytest.importorskip("spikehooks_recorders",
                                reason="the spikehooks-recorders plugin is not installed")

#: A multiple of every ring size below (4 and 10 slots), so that the NumPy
#: backend's ring lines up with GeNN's when examples carry over into the next.
TIMESTEPS = 40
NUM_IN = 6


def _one_spike_per_step(seed: int, num: int = 3) -> list:
    """Examples with at most one input spike per step, some in the last steps."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(num):
        steps = np.sort(np.concatenate((rng.choice(36, 22, replace=False), [37, 39])))
        ids = rng.integers(0, NUM_IN, len(steps))
        examples.append(preprocess_spikes(steps.astype(float), ids, NUM_IN))
    return examples


def _sparse_network():
    network = Network()
    with network:
        inp = Population(SpikeInput(max_spikes=100), NUM_IN, record_spikes=True, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=0.6, tau_mem=10.0, tau_refrac=2.0),
                         5, record_spikes=True, name="hid")
        out = Population(LeakyIntegrate(tau_mem=8.0, readout="sum_var"), 3, name="out")
        # Per-synapse delays from an array (dendritic) into exponential synapses.
        delays = np.random.default_rng(2).integers(0, 10, (NUM_IN, 5))
        Connection(inp, hid, Dense(Normal(0.5, 0.3), delay=delays), Exponential(3.0),
                   name="inp_hid", max_delay_steps=9)
        # One delay for every synapse (axonal), exponential and delta.
        Connection(inp, out, Dense(Normal(0.3, 0.3), delay=3), Exponential(4.0),
                   name="inp_out")
        Connection(hid, out, Dense(Normal(0.2, 0.5)), name="hid_out")
    return network


def _sparse_recorders(network):
    pop = network.get_population
    return [recorders.SpikeRecorder(pop("inp"), key="inp_spikes"),
            recorders.SpikeRecorder(pop("hid"), key="hid_spikes"),
            recorders.VarRecorder(pop("hid"), "v", key="hid_v"),
            recorders.VarRecorder(pop("out"), "v", key="out_v")]


SPARSE_KEYS = ["inp_spikes", "hid_spikes", "hid_v", "out_v"]


@pytest.fixture(scope="module", params=[True, False], ids=["reset", "carry_over"])
def sparse_both(request, genn_cache):
    args = (_sparse_network, _one_spike_per_step(1), TIMESTEPS, genn_cache, _sparse_recorders,
            ["out"])
    kwargs = {"reset_in_syn_between_batches": request.param}
    return run("numpy", *args, **kwargs), run("genn", *args, **kwargs)


@pytest.mark.parametrize("key", SPARSE_KEYS)
def test_one_spike_per_step_matches_numpy_bit_for_bit(sparse_both, key):
    (_, expected, _), (_, got, _) = sparse_both
    assert_same(expected[key], got[key], key)


def test_readout_matches_numpy_bit_for_bit(sparse_both):
    (expected, _, _), (got, _, _) = sparse_both
    np.testing.assert_array_equal(got["out"], expected["out"])


def test_sparse_network_is_active_and_delays_matter(sparse_both, genn_cache):
    (_, cb_data, _), (_, _, backend) = sparse_both
    assert sum(len(ids) for ids in cb_data["hid_spikes"][1]) > 10
    network = backend.network
    conn = network.get_connection("inp_hid")
    delays = backend.get_delays(conn)
    assert delays.dtype == np.int32 and delays.shape == (NUM_IN, 5)
    np.testing.assert_array_equal(delays, np.random.default_rng(2).integers(0, 10, (NUM_IN, 5)))
    np.testing.assert_array_equal(backend.get_delays(network.get_connection("inp_out")),
                                  np.full((NUM_IN, 3), 3))
    assert backend.get_delays(network.get_connection("hid_out")) is None


def test_delay_shifts_the_first_arrival_by_its_steps(genn_cache):
    """One spike in step 0 reaches a delta-synapse integrator in step 1 + delay."""
    def network_with(delay):
        def make():
            network = Network()
            with network:
                inp = Population(SpikeInput(max_spikes=4), 2, name="inp")
                out = Population(LeakyIntegrate(tau_mem=1e9, readout="sum_var"), 2, name="out")
                Connection(inp, out, Dense(np.eye(2, dtype=np.float32), delay=delay),
                           name="c", max_delay_steps=7)
            return network
        return make

    x = [preprocess_spikes([0.0, 0.0], [0, 1], 2)]
    trace = {}
    for delay in (5, np.array([[2, 0], [0, 7]])):
        make = network_with(delay)
        _, data, _ = run("genn", make, x, 12, genn_cache, lambda n: [
            recorders.VarRecorder(n.get_population("out"), "v", key="v")], ["out"])
        trace[np.size(delay)] = data["v"][0]
    first = {k: [int(np.flatnonzero(v[:, i])[0]) for i in range(2)] for k, v in trace.items()}
    assert first == {1: [6, 6], 4: [3, 8]}


# ---------------------------------------------------------------- busy network
def _busy_network():
    network = Network()
    with network:
        inp = Population(SpikeInput(max_spikes=2000), 40, name="inp")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 7, name="out")
        Connection(inp, out, Dense(Normal(0.1, 0.5), delay=Uniform(0.0, 12.0)),
                   Exponential(5.0), name="per_synapse", max_delay_steps=12)
        Connection(inp, out, FixedProbability(0.5, Normal(0.0, 0.5), delay=4), name="shared")
    return network


def test_many_spikes_per_step_match_numpy_within_float32_rounding(genn_cache):
    rng = np.random.default_rng(3)
    x = []
    for _ in range(2):
        spiking = rng.random((TIMESTEPS, 40)) < 0.3
        steps, ids = np.nonzero(spiking)
        x.append(preprocess_spikes(steps.astype(float), ids, 40))

    def make_recorders(network):
        return [recorders.VarRecorder(network.get_population("out"), "v", key="v")]

    args = (_busy_network, x, TIMESTEPS, genn_cache, make_recorders, ["out"])
    (expected_out, expected, _), (got_out, got, _) = run("numpy", *args), run("genn", *args)
    for e, g in zip(expected["v"], got["v"], strict=True):
        assert g.dtype == np.float32 and np.abs(e).max() > 1.0
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_out["out"], expected_out["out"], rtol=1e-5, atol=1e-5)
