"""Convolution and pooling connectivity on the genn backend, bit for bit as NumPy.

GeNN gets each kernel expanded to its synapses as sparse rows, so a spike
adds its synapses one at a time in ascending presynaptic order, which is
the NumPy backend's default (sequential) order: the kernels here are not
on a grid of exactly summable values, so a different order would show.
"""

from __future__ import annotations

import numpy as np
import pytest
from _compare import assert_same, run
from _genn_helpers import PYGENN_MISSING

from spikehooks import Connection, Network, Population
from spikehooks.connectivity import (
    AvgPool2D,
    AvgPoolConv2D,
    AvgPoolDense2D,
    Conv2D,
    Conv2DTranspose,
    Dense,
)
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential

pytest.importorskip("pygenn", reason=PYGENN_MISSING)
recorders = pytest.importorskip("spikehooks_recorders",
                                reason="the spikehooks-recorders plugin is not installed")

TIMESTEPS = 30
IN_SHAPE = (6, 6, 2)
RNG = np.random.default_rng(11)
KERNELS = {
    "conv": RNG.normal(0.1, 0.4, (3, 3, 2, 4)).astype(np.float32),
    "tconv": RNG.normal(0.1, 0.5, (2, 2, 3, 2)).astype(np.float32),
    "apc": RNG.normal(0.2, 0.4, (2, 2, 2, 3)).astype(np.float32),
    "pool_out": RNG.normal(0.5, 0.5, (4, 3)).astype(np.float32),
}


def _lif(v_thresh):
    return LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=10.0)


def _network():
    network = Network()
    with network:
        inp = Population(SpikeInput(max_spikes=500), IN_SHAPE, record_spikes=True, name="inp")
        conv = Population(_lif(0.8), None, record_spikes=True, name="conv")
        pool = Population(_lif(0.5), None, record_spikes=True, name="pool")
        tconv = Population(_lif(0.6), None, record_spikes=True, name="tconv")
        apc = Population(_lif(0.4), None, record_spikes=True, name="apc")
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="sum_var"), 3, name="out")
        side = Population(LeakyIntegrate(tau_mem=10.0, readout="max_var"), 2, name="side")
        Connection(inp, conv, Conv2D(KERNELS["conv"], 4, 3, conv_padding="same"),
                   Exponential(2.0), name="c_conv")
        Connection(conv, pool, AvgPool2D(2), Exponential(2.0), name="c_pool")
        Connection(inp, tconv, Conv2DTranspose(KERNELS["tconv"], 3, 2, conv_strides=2),
                   name="c_tconv")
        Connection(inp, apc, AvgPoolConv2D(KERNELS["apc"], 3, 2, 2, conv_padding="same"),
                   Exponential(3.0), name="c_apc")
        Connection(pool, out, AvgPoolDense2D(KERNELS["pool_out"], 3), Exponential(2.0),
                   name="c_out")
        Connection(tconv, side, Dense(Normal(0.0, 0.3)), name="c_side_t")
        Connection(apc, side, Dense(Normal(0.2, 0.3)), Exponential(4.0), name="c_side_a")
    return network


def _inputs(num):
    rng = np.random.default_rng(4)
    n = int(np.prod(IN_SHAPE))
    out = []
    for _ in range(num):
        spiking = rng.random((TIMESTEPS - 10, n)) < 0.1
        steps, ids = np.nonzero(spiking)
        out.append(preprocess_spikes(steps.astype(float), ids, n))
    return out


def _recorders(network):
    pop = network.get_population
    sr, vr = recorders.SpikeRecorder, recorders.VarRecorder
    return [*(sr(pop(name), key=f"{name}_spikes")
              for name in ("inp", "conv", "pool", "tconv", "apc")),
            vr(pop("conv"), "v", key="conv_v", neuron_filter=np.s_[:, :, 1]),
            vr(pop("apc"), "v", key="apc_v"),
            vr(pop("side"), "v", key="side_v"),
            recorders.ConnVarRecorder(network.get_connection("c_conv"), "weight", per="batch",
                                      key="c_conv_w")]


KEYS = ["inp_spikes", "conv_spikes", "pool_spikes", "tconv_spikes", "apc_spikes", "conv_v",
        "apc_v", "side_v", "c_conv_w"]


@pytest.fixture(scope="module")
def both(genn_cache):
    args = (_network, _inputs(3), TIMESTEPS, genn_cache, _recorders, ["out", "side"])
    return run("numpy", *args), run("genn", *args)


@pytest.mark.parametrize("key", KEYS)
def test_recordings_match_numpy_bit_for_bit(both, key):
    (_, expected, _), (_, got, _) = both
    assert_same(expected[key], got[key], key)


@pytest.mark.parametrize("output", ["out", "side"])
def test_readouts_match_numpy_bit_for_bit(both, output):
    (expected, _, _), (got, _, _) = both
    np.testing.assert_array_equal(got[output], expected[output])


def test_every_layer_spikes(both):
    (_, cb_data, _), _ = both
    for name in ("conv", "pool", "tconv", "apc"):
        assert sum(len(ids) for ids in cb_data[f"{name}_spikes"][1]) > 5, name


def test_learnable_state_is_the_kernel_and_loads_back(both, genn_cache):
    (_, _, numpy_backend), (_, _, genn_backend) = both
    state = genn_backend.get_learnable_state()
    expected = numpy_backend.get_learnable_state()
    assert sorted(state) == sorted(expected)
    for key, value in expected.items():
        assert_same(value, state[key], key)
    conn = genn_backend.network.get_connection("c_conv")
    np.testing.assert_array_equal(genn_backend.get_conn_var(conn, "g"),
                                  conn.connectivity.expand(KERNELS["conv"]))
    # A new kernel reaches GeNN's synapses: both backends run it the same.
    new = {**state, "c_conv/weight": KERNELS["conv"][::-1].copy()}
    genn_backend.set_learnable_state(new)
    numpy_backend.set_learnable_state(new)
    np.testing.assert_array_equal(genn_backend.get_conn_var(conn, "g"),
                                  conn.connectivity.expand(KERNELS["conv"][::-1]))
    np.testing.assert_array_equal(genn_backend.get_learnable_state()["c_conv/weight"],
                                  KERNELS["conv"][::-1])
    x = _inputs(1)[0]
    readouts = []
    for backend in (numpy_backend, genn_backend):
        inp = backend.network.get_population("inp")
        backend.reset()
        backend.set_input(inp, [x])
        backend.run(TIMESTEPS)
        readouts.append(backend.get_readout(backend.network.get_population("out")))
    np.testing.assert_array_equal(readouts[1], readouts[0])
