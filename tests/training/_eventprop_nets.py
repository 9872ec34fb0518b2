"""Small networks and inputs shared by the EventProp gradient tests."""

from __future__ import annotations

import numpy as np

from spikehooks.training._graph import Graph, make_conn, make_layer


def chain(
    dt, *, n_in=10, n_hidden=12, n_out=3, readout="avg_var", duration=20.0,
    out_synapse="exponential",
):
    """input -> LIF -> output (LI with a voltage readout, or LIF for first_spike_time)."""
    kind = "lif" if readout == "first_spike_time" else "li"
    layers = [
        make_layer("input", n_in, dt),
        make_layer("lif", n_hidden, dt),
        make_layer(kind, n_out, dt, readout=readout),
    ]
    conns = [make_conn(0, 1, dt), make_conn(1, 2, dt, synapse=out_synapse)]
    return Graph(layers, conns, int(round(duration / dt)), dt)


def latency_input(times_ms, dt, num_steps):
    """One spike per input neuron at ``times_ms`` (shape (B, n_in)), as a (N, B, n_in) raster."""
    batch, n_in = times_ms.shape
    raster = np.zeros((num_steps, batch, n_in), dtype=bool)
    steps = np.round(np.asarray(times_ms) / dt).astype(int)
    for b in range(batch):
        raster[steps[b], b, np.arange(n_in)] = True
    return raster


def weights(seed, shapes, means, sds):
    """Float32 normal weights, one array per (shape, mean, sd)."""
    rng = np.random.default_rng(seed)
    return [
        rng.normal(m, s, shape).astype(np.float32)
        for shape, m, s in zip(shapes, means, sds, strict=True)
    ]
