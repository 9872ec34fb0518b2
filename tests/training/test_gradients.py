"""EventProp weight gradients against an independent float64 reference.

Scale convention (docs/training.md): gradients are ``+dL/dW`` of the batch-mean
loss, at the *exact* scale (not mlGeNN's extra ``1/tau_m``).

- Weights into a voltage readout: the loss is smooth in them with the hidden
  spikes fixed, so central finite differences of the discrete forward pass
  must match to float32 precision.
- Weights into spiking layers: the discrete loss is piecewise constant, so the
  reference is the slope of a line fitted over +-0.005 at a small ``dt`` with
  the reference simulator's sub-step spike timing (``substep=True``: the
  continuous-time limit to first order), keeping only weights whose
  perturbation leaves every spike count unchanged.  EventProp is first order
  in ``dt`` (EVENTPROP.md section 6).
"""

from __future__ import annotations

import numpy as np
import pytest
from _eventprop_nets import chain, latency_input, weights
from _eventprop_reference import losses_for, perturbed, simulate

from spikehooks.losses import RelativeMeanSquareError, SparseCategoricalCrossentropy
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward

LABELS = np.array([0, 1, 2])


def _gradients(graph, ws, raster, loss, labels=LABELS, **kwargs):
    fwd = forward(graph, ws, raster)
    _, drive = output_drive(
        graph.layers[-1].readout, fwd, labels, loss, num_steps=graph.num_steps, dt=graph.dt,
        **kwargs,
    )
    return fwd, backward(graph, ws, fwd, drive)


def _voltage_setup(readout, dt=1.0, out_synapse="exponential"):
    graph = chain(dt, readout=readout, out_synapse=out_synapse)
    times = np.random.default_rng(1).uniform(0, 12, size=(3, 10))
    ws = weights(1, [(10, 12), (12, 3)], [1.2, 0.0], [0.8, 1.0])
    return graph, ws, latency_input(times, dt, graph.num_steps)


def _line_slopes(graph, ws, raster, loss, conn, entries, offsets, readout_fix=None):
    sets = perturbed(ws, conn, entries, offsets)
    readouts, counts = simulate(graph, sets, raster, substep=True)
    if readout_fix is not None:
        readouts = readout_fix(readouts)
    values = np.array([loss.value_and_grad(r, LABELS)[0] for r in readouts])
    values = values.reshape(len(entries), len(offsets))
    total = sum(c.reshape(len(entries), len(offsets), -1).sum(-1) for c in counts[1:])
    stable = (total == total[:, :1]).all(axis=1)
    slopes = np.array([np.polyfit(offsets, row, 1)[0] for row in values])
    return slopes, stable


@pytest.mark.parametrize(
    ("readout", "synapse"),
    [("avg_var", "exponential"), ("sum_var", "exponential"), ("max_var", "exponential"),
     ("avg_var_exp_weight", "exponential"), ("avg_var", "delta")],
)
def test_readout_weight_gradient_equals_central_finite_differences(readout, synapse):
    graph, ws, raster = _voltage_setup(readout, out_synapse=synapse)
    loss = SparseCategoricalCrossentropy()
    fwd, result = _gradients(graph, ws, raster, loss)
    assert fwd.spikes[1].sum() > 20
    entries = [(i, j) for i in range(12) for j in range(3)]
    eps = 1e-4
    values = losses_for(graph, perturbed(ws, 1, entries, [eps, -eps]), raster, LABELS, loss)
    fd = (values[0::2] - values[1::2]) / (2 * eps)
    got = np.array([result.gradients[1][e] for e in entries])
    np.testing.assert_allclose(got, fd, rtol=0, atol=1e-4 * np.abs(fd).max())


@pytest.mark.parametrize(
    ("synapse", "dt", "tolerance"),
    [("exponential", 0.005, 0.02),  # measured 0.001 (0.01 at dt=0.01)
     ("delta", 0.0025, 0.05)],  # measured 0.016 (0.10 at dt=0.005): V jumps converge slower
)
def test_hidden_weight_gradient_converges_to_finite_difference_slope(synapse, dt, tolerance):
    graph, ws, raster = _voltage_setup("avg_var", dt, out_synapse=synapse)
    loss = SparseCategoricalCrossentropy()
    _, result = _gradients(graph, ws, raster, loss)
    entries = [(i, j) for i in range(0, 10, 3) for j in range(0, 12, 4)]
    offsets = np.linspace(-0.005, 0.005, 5)
    slopes, stable = _line_slopes(graph, ws, raster, loss, 0, entries, offsets)
    got = np.array([result.gradients[0][e] for e in entries])
    assert stable.sum() >= 8
    error = np.abs(got - slopes)[stable].max() / np.abs(slopes).max()
    assert error < tolerance


def _ttfs_setup(dt):
    graph = chain(dt, readout="first_spike_time")
    times = np.random.default_rng(2).uniform(0, 8, size=(3, 10))
    ws = weights(2, [(10, 12), (12, 3)], [1.5, 1.6], [0.8, 0.4])
    return graph, ws, latency_input(times, dt, graph.num_steps)


@pytest.mark.parametrize(
    ("loss", "kwargs"),
    [
        (SparseCategoricalCrossentropy(), {"softmax_temperature": 0.5}),
        (RelativeMeanSquareError(2.0), {}),
    ],
    ids=["cross_entropy", "relative_mse"],
)
def test_first_spike_time_gradients_converge_to_finite_difference_slopes(loss, kwargs):
    dt = 0.005
    graph, ws, raster = _ttfs_setup(dt)
    _, result = _gradients(graph, ws, raster, loss, **kwargs)
    tau0 = kwargs.get("softmax_temperature", 1.0)
    offsets = np.linspace(-0.005, 0.005, 5)
    for conn, entries, tolerance in [
        (1, [(i, j) for i in range(0, 12, 3) for j in range(3)], 0.02),  # measured 0.009
        (0, [(i, j) for i in range(0, 10, 3) for j in range(0, 12, 4)], 0.02),  # measured 0.0013
    ]:
        slopes, stable = _line_slopes(
            graph, ws, raster, loss, conn, entries, offsets, readout_fix=lambda r: r / tau0
        )
        got = np.array([result.gradients[conn][e] for e in entries])
        assert stable.sum() >= 8
        assert np.abs(got - slopes)[stable].max() < tolerance * np.abs(slopes).max()


def test_nothing_spiking_gives_exactly_zero_gradients():
    graph, _, raster = _voltage_setup("avg_var")
    ws = weights(3, [(10, 12), (12, 3)], [0.01, 0.0], [0.001, 1.0])
    fwd, result = _gradients(graph, ws, raster, SparseCategoricalCrossentropy())
    assert fwd.spikes[1].sum() == 0
    assert not result.gradients[0].any()
    assert not result.gradients[1].any()


def test_silent_hidden_neuron_gets_no_input_gradient():
    graph, ws, raster = _voltage_setup("avg_var")
    ws[0][:, 5] = -1.0
    fwd, result = _gradients(graph, ws, raster, SparseCategoricalCrossentropy())
    assert fwd.spikes[1][:, :, 5].sum() == 0
    assert not result.gradients[0][:, 5].any()
    assert result.gradients[0].any()


def test_batch_gradient_is_mean_of_single_example_gradients():
    graph, ws, raster = _voltage_setup("avg_var")
    loss = SparseCategoricalCrossentropy()
    _, whole = _gradients(graph, ws, raster, loss)
    singles = [
        _gradients(graph, ws, raster[:, b : b + 1], loss, labels=LABELS[b : b + 1])[1]
        for b in range(3)
    ]
    for c in range(2):
        mean = np.mean([s.gradients[c] for s in singles], axis=0)
        np.testing.assert_allclose(whole.gradients[c], mean, rtol=1e-10, atol=1e-14)


def test_denominator_guard_clamps_and_counts():
    graph, ws, raster = _voltage_setup("avg_var")
    fwd = forward(graph, ws, raster)
    _, drive = output_drive("avg_var", fwd, LABELS, SparseCategoricalCrossentropy(),
                            num_steps=graph.num_steps, dt=1.0)
    dens = fwd.denominators[1][fwd.spikes[1]]
    cut = float(np.median(dens))
    result = backward(graph, ws, fwd, drive, min_denominator=cut)
    assert result.clamped == int((dens < cut).sum()) > 0
    assert backward(graph, ws, fwd, drive).clamped == 0
