"""Per-timestep losses (mlGeNN's ``per_timestep_loss``): gradients and descent.

Losses (docs/training.md): mean square error of the ``var`` readout's trace
against a target trace, ``1/(B N) sum 1/2 (V - Y)^2``, and cross-entropy of
the softmax of ``V`` at every step.  The references are written from these
definitions (:func:`_eventprop_reference.per_timestep_loss`) on the output
trace of two independent float64 simulators:

- short trials: weights into the output equal central finite differences of
  the discrete model (float precision); hidden weights converge to the
  sub-step reference's slope as ``dt`` shrinks;
- long trials (1,000 steps, > 100 spikes per hidden neuron): the event-driven
  exact reference, with the tolerances of ``test_long_trials.py``;
- descent: a small step along minus one layer's gradient lowers the loss.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _eventprop_exact import simulate_exact
from _eventprop_nets import chain, latency_input, weights
from _eventprop_reference import per_timestep_loss, perturbed, simulate
from _finite_differences import assert_gradients_match, perturbed_weight_sets

from spikehooks.losses import MeanSquareError, SparseCategoricalCrossentropy
from spikehooks.training._backward import backward
from spikehooks.training._forward import forward
from spikehooks.training._graph import Graph, make_conn, make_layer
from spikehooks.training._per_timestep import per_timestep_drive

LABELS = np.array([0, 1, 2])
# (spikehooks readout, loss, reference loss kind)
CASES = {
    "var_mse": ("var", MeanSquareError(), "mse"),
    "avg_var_cross_entropy": ("avg_var", SparseCategoricalCrossentropy(), "cross_entropy"),
    "sum_var_cross_entropy": ("sum_var", SparseCategoricalCrossentropy(), "cross_entropy"),
}


def _targets(num_steps, batch, n_out, dt):
    """Smooth target traces, shape (batch, num_steps, n_out), like mlGeNN's pattern example."""
    t = np.arange(num_steps) * dt
    phase = np.arange(batch * n_out).reshape(batch, 1, n_out)
    return 0.4 * np.sin(2 * np.pi * t[None, :, None] / 15.0 + phase) + 0.2


def _per_timestep(graph):
    graph.per_timestep = True
    return graph


def _as_var(graph):
    """The same network with a ``var`` output: the references read its trace."""
    ref = copy.deepcopy(graph)
    ref.layers[ref.output].readout = "var"
    return ref


def _gradients(graph, ws, raster, loss, y):
    fwd = forward(graph, ws, raster)
    value, drive = per_timestep_drive(fwd, y, loss)
    return value, fwd, backward(graph, ws, fwd, drive)


def _short(case, dt=1.0):
    readout, loss, kind = CASES[case]
    graph = _per_timestep(chain(dt, readout=readout))
    times = np.random.default_rng(1).uniform(0, 12, size=(3, 10))
    ws = weights(1, [(10, 12), (12, 3)], [1.2, 0.0], [0.8, 1.0])
    raster = latency_input(times, dt, graph.num_steps)
    y = _targets(graph.num_steps, 3, 3, dt) if kind == "mse" else LABELS
    return graph, ws, raster, loss, kind, y


@pytest.mark.parametrize("case", list(CASES))
def test_loss_value_matches_reference_definition(case):
    graph, ws, raster, loss, kind, y = _short(case)
    value, fwd, _ = _gradients(graph, ws, raster, loss, y)
    ref = per_timestep_loss(fwd.output_v.astype(np.float64), y, kind)
    assert value == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_output_weight_gradient_equals_central_finite_differences(case):
    graph, ws, raster, loss, kind, y = _short(case)
    _, fwd, result = _gradients(graph, ws, raster, loss, y)
    assert fwd.spikes[1].sum() > 20
    entries = [(i, j) for i in range(12) for j in range(3)]
    eps = 1e-4
    traces, _ = simulate(_as_var(graph), perturbed(ws, 1, entries, [eps, -eps]), raster)
    values = np.array([per_timestep_loss(tr, y, kind) for tr in traces])
    fd = (values[0::2] - values[1::2]) / (2 * eps)
    got = np.array([result.gradients[1][e] for e in entries])
    np.testing.assert_allclose(got, fd, rtol=0, atol=1e-4 * np.abs(fd).max())


@pytest.mark.parametrize("case", ["var_mse", "avg_var_cross_entropy"])
def test_hidden_weight_gradient_converges_to_finite_difference_slope(case):
    """dt = 0.005 ms (4,000 steps); the slope over +-0.005 of the sub-step reference."""
    graph, ws, raster, loss, kind, y = _short(case, dt=0.005)
    _, _, result = _gradients(graph, ws, raster, loss, y)
    entries = [(i, j) for i in range(0, 10, 3) for j in range(0, 12, 4)]
    offsets = np.linspace(-0.005, 0.005, 5)
    traces, counts = simulate(_as_var(graph), perturbed(ws, 0, entries, offsets), raster,
                              substep=True)
    values = np.array([per_timestep_loss(tr, y, kind) for tr in traces])
    values = values.reshape(len(entries), len(offsets))
    total = sum(c.reshape(len(entries), len(offsets), -1).sum(-1) for c in counts[1:])
    stable = (total == total[:, :1]).all(axis=1)
    slopes = np.array([np.polyfit(offsets, row, 1)[0] for row in values])
    got = np.array([result.gradients[0][e] for e in entries])
    assert stable.sum() >= 8
    error = np.abs(got - slopes)[stable].max() / np.abs(slopes).max()
    assert error < 0.02


# Long trials: the network of test_long_trials.py.
N_IN, N_HID, N_OUT, BATCH, STEPS = 16, 6, 3, 2, 1000


def _long(case, dt=1.0, w_mean=0.25):
    readout, loss, kind = CASES[case]
    graph = Graph(
        [make_layer("input", N_IN, dt), make_layer("lif", N_HID, dt),
         make_layer("li", N_OUT, dt, readout=readout)],
        [make_conn(0, 1, dt), make_conn(1, 2, dt)], STEPS, dt, per_timestep=True,
    )
    rng = np.random.default_rng(7)
    rates = rng.uniform(0.1, 0.3, (BATCH, N_IN))  # spikes per ms
    raster = rng.uniform(size=(STEPS, BATCH, N_IN)) < rates
    ws = [rng.normal(w_mean, 0.1, (N_IN, N_HID)).astype(np.float32),
          rng.normal(0.0, 1.0, (N_HID, N_OUT)).astype(np.float32)]
    y = (0.5 * np.sin(np.arange(STEPS) * dt / 40.0)[None, :, None]
         + np.array([0.3, -0.2, 0.1]) + np.zeros((BATCH, 1, 1))
         if kind == "mse" else np.array([0, 1]))
    return graph, ws, raster, loss, kind, y


# (case, dt in ms, input weight mean): as the long-trial tests, > 100 hidden spikes per neuron.
LONG_RUNS = [("var_mse", 1.0, 0.25), ("avg_var_cross_entropy", 1.0, 0.25),
             ("var_mse", 0.25, 0.6), ("sum_var_cross_entropy", 0.25, 0.6)]


@pytest.mark.parametrize(("case", "dt", "w_mean"), LONG_RUNS)
def test_long_trial_gradients_match_exact_reference(case, dt, w_mean):
    graph, ws, raster, loss, kind, y = _long(case, dt, w_mean)
    _, fwd, result = _gradients(graph, ws, raster, loss, y)
    assert fwd.spikes[1].sum(axis=0).min() > 100
    assert result.clamped == 0
    entries = {0: [(i, j) for i in range(0, N_IN, 6) for j in range(N_HID)],
               1: [(i, j) for i in range(0, N_HID, 2) for j in range(N_OUT)]}
    eps = 1e-6
    sets = perturbed_weight_sets(ws, entries, eps)
    traces, counts = simulate_exact(_as_var(graph),
                                    [np.stack([s[c] for s in sets]) for c in (0, 1)], raster)
    values = np.array([per_timestep_loss(tr, y, kind) for tr in traces])
    slopes = (values[0::2] - values[1::2]) / (2 * eps)
    total = sum(c.reshape(len(sets), -1).sum(-1) for c in counts[1:])
    stable = total[0::2] == total[1::2]
    # The tolerances of test_long_trials.py (docs/training.md).
    assert_gradients_match(result.gradients, entries, slopes, stable,
                           lambda conn: 0.9 if conn == 0 else 0.99,
                           max_ratio=2.0 if dt < 1.0 else 3.5)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("conn", [0, 1])
def test_step_along_minus_one_layer_gradient_lowers_long_trial_loss(case, conn):
    graph, ws, raster, loss, kind, y = _long(case)
    value, fwd, result = _gradients(graph, ws, raster, loss, y)
    assert fwd.spikes[1].sum(axis=0).min() > 100
    assert result.clamped == 0
    grad = result.gradients[conn]
    step = 0.01 * np.linalg.norm(ws[conn]) * grad / np.linalg.norm(grad)
    moved = list(ws)
    moved[conn] = (ws[conn] - step).astype(np.float32)
    assert _gradients(graph, moved, raster, loss, y)[0] < value


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_sweep_equals_numpy_sweep(case):
    pytest.importorskip("numba")
    from spikehooks.training._backward_compiled import backward_compiled

    graph, ws, raster, loss, kind, y = _long(case)
    fwd = forward(graph, ws, raster)
    _, drive = per_timestep_drive(fwd, y, loss)
    expected = backward(graph, ws, fwd, drive).gradients
    got = backward_compiled(graph, ws, fwd, drive).gradients
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12 * np.abs(e).max())
