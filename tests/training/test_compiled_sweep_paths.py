"""The compiled EventProp sweep's paths against the NumPy sweep: delta synapses from an
input and from a LIF layer (only a LIF source's jump reads b one step later), the final
kick of a first_spike_time output, silent and saturated batches, batch padding, a graph
swept again with other weights, and the weight flattening, bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spikehooks.losses import RelativeMeanSquareError
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward
from spikehooks.training._graph import Graph, make_conn, make_layer

pytest.importorskip("numba")

from spikehooks.training._backward_compiled import backward_compiled  # noqa: E402
from spikehooks.training._backward_kernel import flatten_weights  # noqa: E402

N_IN, N_HID, N_OUT, BATCH, STEPS, DT = 8, 10, 3, 4, 120, 0.5
LABELS = np.array([0, 1, 2, 1])


def _graph(in_synapse, *, recurrent_synapse=None):
    """input -> LIF -> LIF (first_spike_time), optionally LIF -> LIF recurrent."""
    layers = [make_layer("input", N_IN, DT), make_layer("lif", N_HID, DT),
              make_layer("lif", N_OUT, DT, readout="first_spike_time")]
    conns = [make_conn(0, 1, DT, synapse=in_synapse), make_conn(1, 2, DT)]
    if recurrent_synapse is not None:
        conns.append(make_conn(1, 1, DT, synapse=recurrent_synapse))
    return Graph(layers, conns, STEPS, DT)


def _weights(graph, seed=3, w_in=(0.9, 0.4)):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(*w_in, (N_IN, N_HID)).astype(np.float32),
          rng.normal(0.9, 0.5, (N_HID, N_OUT)).astype(np.float32)]
    if len(graph.conns) == 3:
        ws.append(rng.normal(0.0, 0.3, (N_HID, N_HID)).astype(np.float32))
    return ws


def _raster(rate=0.08, seed=5):
    return np.random.default_rng(seed).uniform(size=(STEPS, BATCH, N_IN)) < rate


def _case(graph, ws, raster):
    fwd = forward(graph, ws, raster)
    _, drive = output_drive("first_spike_time", fwd, LABELS, RelativeMeanSquareError(2.0),
                            num_steps=STEPS, dt=DT, ttfs_alpha=0.01)
    return fwd, drive


def _same(graph, ws, fwd, drive, threads, **kwargs):
    """The compiled sweep equals the NumPy sweep (float64 rounding); returns the gradients."""
    expected = backward(graph, ws, fwd, drive, min_denominator=0.05, **kwargs)
    got = backward_compiled(graph, ws, fwd, drive, min_denominator=0.05, num_threads=threads,
                            **kwargs)
    assert got.clamped == expected.clamped
    for g, e in zip(got.gradients, expected.gradients, strict=True):
        assert g.dtype == np.float64 and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    return got.gradients


@pytest.mark.parametrize("in_synapse,recurrent_synapse", [
    ("delta", None), ("delta", "delta"), ("exponential", "delta"), ("delta", "exponential"),
])
@pytest.mark.parametrize("threads", [1, 2])
def test_delta_synapses_from_input_and_lif_layers(in_synapse, recurrent_synapse, threads):
    graph = _graph(in_synapse, recurrent_synapse=recurrent_synapse)
    # (A delta synapse adds the weight to V once: larger weights make the hidden layer fire.)
    ws = _weights(graph, w_in=(3.0, 1.0) if in_synapse == "delta" else (0.9, 0.4))
    fwd, drive = _case(graph, ws, _raster())
    # Every connection gets a gradient, so each connection's b is exercised.
    for g in _same(graph, ws, fwd, drive, threads):
        assert np.abs(g).max() > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_a_final_kick_starts_the_sweep_at_the_last_step(threads):
    graph = _graph("exponential")
    ws = _weights(graph)
    fwd, drive = _case(graph, ws, _raster())
    kick = np.zeros_like(drive.final_kick)
    kick[1, 2] = 0.3  # a silent correct output's phantom spike in entry 1
    kicked = dataclasses.replace(drive, final_kick=kick)
    with_kick = _same(graph, ws, fwd, kicked, threads)
    without = _same(graph, ws, fwd, drive, threads)
    # The kick reaches the gradients: it is not skipped with the silent steps after the
    # latest output spike.
    assert not np.allclose(with_kick[0], without[0], rtol=1e-6)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_silent_batch_has_zero_gradients(threads):
    graph = _graph("exponential")
    ws = _weights(graph)
    fwd, drive = _case(graph, ws, np.zeros((STEPS, BATCH, N_IN), dtype=bool))
    for g in _same(graph, ws, fwd, drive, threads):
        assert not g.any()


@pytest.mark.parametrize("threads", [1, 2])
def test_every_neuron_spiking(threads):
    graph = _graph("exponential", recurrent_synapse="exponential")
    ws = _weights(graph, w_in=(3.0, 0.2))
    fwd, drive = _case(graph, ws, _raster(rate=0.3))
    assert all(s.any(axis=0).all() for s in fwd.spikes[1:])
    _same(graph, ws, fwd, drive, threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_padding_entries_are_left_out_of_the_sum(threads):
    graph = _graph("exponential")
    ws = _weights(graph)
    raster = _raster()
    fwd, drive = _case(graph, ws, raster)
    padded = _same(graph, ws, fwd, drive, threads, num_examples=2)
    # The first two entries alone, as a batch of two: the same tree sum, so the same bits.
    fwd2 = forward(graph, ws, raster[:, :2])
    drive2 = dataclasses.replace(drive, readout_grad=drive.readout_grad[:2],
                                 spike_time_grad=drive.spike_time_grad[:2],
                                 final_kick=drive.final_kick[:2])
    alone = backward_compiled(graph, ws, fwd2, drive2, min_denominator=0.05,
                              num_threads=threads)
    for g, a in zip(padded, alone.gradients, strict=True):
        np.testing.assert_array_equal(g, a)


def test_a_graph_swept_again_with_other_weights_gets_their_gradients():
    """The per-graph tables are reused; the weights and records are read every call."""
    graph = _graph("exponential")
    for seed in (3, 4):
        ws = _weights(graph, seed=seed)
        fwd, drive = _case(graph, ws, _raster(seed=seed))
        _same(graph, ws, fwd, drive, 1)


def test_flatten_weights_equals_concatenate_bit_for_bit():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(7, 9)).astype(np.float32)
    arrays = [base, np.asfortranarray(base[:5, :4]), base[::2, 1::3],
              rng.normal(size=(1, 6)).astype(np.float32)]
    for count in (1, 2, 4):
        group = tuple(arrays[:count])
        expected = np.concatenate([a.reshape(-1) for a in group], dtype=np.float64)
        out = np.full(expected.size, np.nan)
        flatten_weights(group, out)
        assert np.array_equal(out.view(np.int64), expected.view(np.int64))
