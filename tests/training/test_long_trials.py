"""EventProp on long trials: 1,000 timesteps, more than 100 spikes per hidden neuron.

Reference: :mod:`_eventprop_exact`, a float64 event-driven simulator that times
spikes within a step, differentiated by central differences (its loss is
smooth between spike-count changes).  spikehooks simulates the discrete
model at ``dt = 1`` ms, which differs from the exact dynamics by ``O(dt)``
per spike (it has ~7% fewer spikes here), so the two gradients agree in
direction and size, not digit for digit.  The tolerances below are stated in
docs/training.md; the pre-fix hidden-layer gradients failed them (cosines -0.95).

The descent tests use only spikehooks' own discrete loss: a small step along
minus one layer's gradient must lower the loss of a fixed batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from _eventprop_exact import simulate_exact
from _finite_differences import assert_gradients_match, perturbed_weight_sets

from spikehooks.losses import (
    MeanSquareError,
    RelativeMeanSquareError,
    SparseCategoricalCrossentropy,
)
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward
from spikehooks.training._graph import Graph, make_conn, make_layer

N_IN, N_HID, N_OUT, BATCH, STEPS = 16, 6, 3, 2, 1000
LABELS = np.array([0, 1])
TARGETS = np.array([[0.6, -0.2, 0.1], [-0.3, 0.5, 0.0]])

# (readout, loss, output synapse, labels/targets, loss kwargs)
CASES = {
    "avg_var": ("avg_var", SparseCategoricalCrossentropy(), "exponential", LABELS, {}),
    "sum_var": ("sum_var", SparseCategoricalCrossentropy(), "exponential", LABELS, {}),
    "max_var": ("max_var", SparseCategoricalCrossentropy(), "exponential", LABELS, {}),
    "avg_var_exp_weight": ("avg_var_exp_weight", SparseCategoricalCrossentropy(), "exponential",
                           LABELS, {}),
    "avg_var_mse": ("avg_var", MeanSquareError(), "exponential", TARGETS, {}),
    "ttfs_cross_entropy": ("first_spike_time", SparseCategoricalCrossentropy(), "exponential",
                           LABELS, {"softmax_temperature": 0.5}),
    "ttfs_relative_mse": ("first_spike_time", RelativeMeanSquareError(2.0), "exponential",
                          LABELS, {}),
}


def _setup(readout, synapse, dt=1.0, steps=STEPS, w_mean=0.25):
    kind = "lif" if readout == "first_spike_time" else "li"
    graph = Graph(
        [make_layer("input", N_IN, dt), make_layer("lif", N_HID, dt),
         make_layer(kind, N_OUT, dt, readout=readout)],
        [make_conn(0, 1, dt), make_conn(1, 2, dt, synapse=synapse)],
        steps, dt,
    )
    rng = np.random.default_rng(7)
    rates = rng.uniform(0.1, 0.3, (BATCH, N_IN))  # spikes per ms
    raster = rng.uniform(size=(steps, BATCH, N_IN)) < rates * 1.0
    w_out = (0.3, 0.6) if readout == "first_spike_time" else (0.0, 1.0)
    ws = [rng.normal(w_mean, 0.1, (N_IN, N_HID)).astype(np.float32),
          rng.normal(*w_out, (N_HID, N_OUT)).astype(np.float32)]
    return graph, ws, raster


def _loss_of(readout, loss, y, kwargs):
    tau0 = kwargs.get("softmax_temperature", 1.0)

    def value(r):
        if readout == "first_spike_time":
            silent = r <= np.finfo(np.float32).min
            r = np.where(silent, -STEPS * 1.0, r) / tau0
        return loss.value_and_grad(r, y)[0]

    return value


def _spikehooks(graph, ws, raster, readout, loss, y, kwargs):
    fwd = forward(graph, ws, raster)
    value, drive = output_drive(readout, fwd, y, loss, num_steps=graph.num_steps, dt=graph.dt,
                                **kwargs)
    return value, fwd, backward(graph, ws, fwd, drive)


# (case, dt in ms, input weight mean): 1,000 steps; at dt = 0.25 the stronger
# input keeps > 100 spikes per hidden neuron in the 250 ms trial.  max_var and
# first_spike_time are checked at dt = 0.25 only: at dt = 1 the discrete and
# exact models disagree on the step of the maximum / of the first output spike.
RUNS = [(case, 1.0, 0.25) for case in ("avg_var", "sum_var", "avg_var_exp_weight",
                                       "avg_var_mse")] + [
    (case, 0.25, 0.6)
    for case in ("avg_var", "max_var", "avg_var_mse", "ttfs_cross_entropy", "ttfs_relative_mse")
]


@pytest.mark.parametrize(("case", "dt", "w_mean"), RUNS)
def test_long_trial_gradients_match_exact_reference(case, dt, w_mean):
    readout, loss, synapse, y, kwargs = CASES[case]
    graph, ws, raster = _setup(readout, synapse, dt, w_mean=w_mean)
    _, fwd, result = _spikehooks(graph, ws, raster, readout, loss, y, kwargs)
    assert fwd.spikes[1].sum(axis=0).min() > 100
    assert result.clamped == 0
    entries = {0: [(i, j) for i in range(0, N_IN, 6) for j in range(N_HID)],
               1: [(i, j) for i in range(0, N_HID, 2) for j in range(N_OUT)]}
    eps = 1e-6
    sets = perturbed_weight_sets(ws, entries, eps)
    readouts, counts = simulate_exact(graph, [np.stack([s[c] for s in sets]) for c in (0, 1)],
                                      raster)
    value = _loss_of(readout, loss, y, kwargs)
    values = np.array([value(r) for r in readouts])
    slopes = (values[0::2] - values[1::2]) / (2 * eps)
    total = sum(c.reshape(len(sets), -1).sum(-1) for c in counts[1:])
    stable = total[0::2] == total[1::2]
    # Direction: the hidden layer within cos 0.9 (measured >= 0.93), the output
    # layer within 0.99.  Size: within a factor 2 at dt = 0.25, 3.5 at dt = 1 --
    # the discrete forward model itself differs from the exact one by up to 1.5x
    # in the output layer's gradient, whose backward pass is exact for it.
    assert_gradients_match(result.gradients, entries, slopes, stable,
                           lambda conn: 0.9 if conn == 0 else 0.99,
                           max_ratio=2.0 if dt < 1.0 else 3.5)


DESCENT_CASES = list(CASES) + ["avg_var_delta"]
CASES["avg_var_delta"] = ("avg_var", SparseCategoricalCrossentropy(), "delta", LABELS, {})


@pytest.mark.parametrize("case", DESCENT_CASES)
@pytest.mark.parametrize("conn", [0, 1])
def test_step_along_minus_one_layer_gradient_lowers_long_trial_loss(case, conn):
    readout, loss, synapse, y, kwargs = CASES[case]
    graph, ws, raster = _setup(readout, synapse)
    value, fwd, result = _spikehooks(graph, ws, raster, readout, loss, y, kwargs)
    assert fwd.spikes[1].sum(axis=0).min() > 100
    grad = result.gradients[conn]
    # A step of 1% of the layer's weight norm (the loss is piecewise constant in
    # hidden weights at dt = 1, so the step must move many spikes by whole steps).
    step = 0.01 * np.linalg.norm(ws[conn]) * grad / np.linalg.norm(grad)
    moved = list(ws)
    moved[conn] = (ws[conn] - step).astype(np.float32)
    new_value = _spikehooks(graph, moved, raster, readout, loss, y, kwargs)[0]
    assert new_value < value


@pytest.mark.parametrize(("dt", "w_mean", "hidden_cos"), [(0.25, 0.6, 0.99), (1.0, 0.25, 0.9)])
def test_recurrent_hidden_layer_gradients_match_exact_reference(dt, w_mean, hidden_cos):
    """input -> LIF (with LIF -> LIF recurrence) -> avg_var: measured hidden cosines
    1.00 (dt 0.25) and 0.92-0.97 (dt 1), output 1.00."""
    graph = Graph(
        [make_layer("input", N_IN, dt), make_layer("lif", N_HID, dt),
         make_layer("li", N_OUT, dt, readout="avg_var")],
        [make_conn(0, 1, dt), make_conn(1, 1, dt), make_conn(1, 2, dt)], STEPS, dt,
    )
    rng = np.random.default_rng(7)
    rates = rng.uniform(0.1, 0.3, (BATCH, N_IN))
    raster = rng.uniform(size=(STEPS, BATCH, N_IN)) < rates
    ws = [rng.normal(w_mean, 0.1, (N_IN, N_HID)).astype(np.float32),
          rng.normal(0.0, 0.1, (N_HID, N_HID)).astype(np.float32),
          rng.normal(0.0, 1.0, (N_HID, N_OUT)).astype(np.float32)]
    loss = SparseCategoricalCrossentropy()
    _, fwd, result = _spikehooks(graph, ws, raster, "avg_var", loss, LABELS, {})
    assert fwd.spikes[1].sum(axis=0).min() > 100
    assert result.clamped == 0
    entries = {0: [(i, j) for i in range(0, N_IN, 6) for j in range(N_HID)],
               1: [(i, j) for i in range(N_HID) for j in range(0, N_HID, 2)],
               2: [(i, j) for i in range(0, N_HID, 2) for j in range(N_OUT)]}
    sets = perturbed_weight_sets(ws, entries, 1e-6)
    readouts, counts = simulate_exact(
        graph, [np.stack([s[c] for s in sets]) for c in range(3)], raster)
    values = np.array([loss.value_and_grad(r, LABELS)[0] for r in readouts])
    slopes = (values[0::2] - values[1::2]) / 2e-6
    total = counts[1].reshape(len(sets), -1).sum(-1)
    stable = total[0::2] == total[1::2]
    assert_gradients_match(result.gradients, entries, slopes, stable,
                           lambda conn: hidden_cos if conn < 2 else 0.99, max_ratio=2.0)
