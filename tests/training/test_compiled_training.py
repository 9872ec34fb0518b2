"""EventProp on the compiled backend: the compiled sweep equals the NumPy sweep, and
training gives the NumPy backend's weights within the bound stated in docs/compiled-backend.md."""

from __future__ import annotations

import numpy as np
import pytest
from _eventprop_nets import chain, latency_input, weights

from spikehooks.compilers import EventPropCompiler
from spikehooks.losses import RelativeMeanSquareError, SparseCategoricalCrossentropy
from spikehooks.training._backward import backward
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward

pytest.importorskip("numba")

from spikehooks.training._backward_compiled import backward_compiled  # noqa: E402

LABELS = np.array([0, 1, 2])


@pytest.mark.parametrize("readout,synapse,loss", [
    ("avg_var", "exponential", SparseCategoricalCrossentropy()),
    ("sum_var", "delta", SparseCategoricalCrossentropy()),
    ("max_var", "exponential", SparseCategoricalCrossentropy()),
    ("max_var", "delta", SparseCategoricalCrossentropy()),
    ("first_spike_time", "exponential", SparseCategoricalCrossentropy()),
    ("first_spike_time", "exponential", RelativeMeanSquareError(2.0)),
])
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_sweep_equals_the_numpy_sweep(readout, synapse, loss, threads):
    dt = 0.5
    graph = chain(dt, readout=readout, out_synapse=synapse)
    times = np.random.default_rng(4).uniform(0, 12, size=(3, 10))
    means = [1.2, 1.0 if readout == "first_spike_time" else 0.0]
    ws = weights(2, [(10, 12), (12, 3)], means, [0.8, 1.0])
    fwd = forward(graph, ws, latency_input(times, dt, graph.num_steps))
    _, drive = output_drive(readout, fwd, LABELS, loss, num_steps=graph.num_steps, dt=dt,
                            ttfs_alpha=0.01)
    rng = np.random.default_rng(0)
    reg = [None, rng.normal(0, 1e-3, (3, 12)), None]
    for regulariser in (None, reg):
        expected = backward(graph, ws, fwd, drive, reg=regulariser, min_denominator=0.05)
        got = backward_compiled(graph, ws, fwd, drive, reg=regulariser, min_denominator=0.05,
                                num_threads=threads)
        assert got.clamped == expected.clamped
        assert any(np.abs(g).max() > 0 for g in expected.gradients)
        for g, e in zip(got.gradients, expected.gradients, strict=True):
            assert g.dtype == np.float64 and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


def _train(backend, batch_size):
    import test_train_loop as loop  # the training loop tests' network and data

    net, inp, out = loop._network()
    compiler = EventPropCompiler(example_timesteps=loop.STEPS,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.05}), batch_size=batch_size,
                                 backend=backend, rng_seed=3)
    compiled = compiler.compile(net)
    x, y = loop._data(48)
    with compiled:
        metrics, _ = compiled.train({inp: x}, {out: y}, num_epochs=3, callbacks=[])
    return compiled.backend.get_learnable_state(), metrics[out].result


@pytest.mark.parametrize("batch_size", [1, 16])
def test_training_gives_the_numpy_backends_weights_to_float32_tolerance(batch_size):
    expected, expected_accuracy = _train("numpy", batch_size)
    got, accuracy = _train(("compiled", {"num_threads": 2}), batch_size)
    assert list(got) == list(expected)
    for key in expected:
        assert got[key].dtype == np.float32
        # The bound documented in docs/compiled-backend.md.
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-5)
    assert accuracy == pytest.approx(expected_accuracy, abs=1 / 48)
