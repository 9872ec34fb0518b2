"""``EventPropCompiler`` with a per-timestep loss: training, metrics, backends, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.losses import MeanSquareError
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential

N_IN, N_HID, N_OUT, STEPS = 8, 24, 2, 60


def _network(readout="var", output_neuron=None):
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=N_IN * 6 * 2), N_IN)
        hid = Population(LeakyIntegrateFire(v_thresh=0.6, tau_mem=20.0, tau_refrac=None), N_HID)
        out = Population(output_neuron or LeakyIntegrate(tau_mem=20.0, readout=readout), N_OUT)
        Connection(inp, hid, Dense(Normal(mean=0.5, sd=0.5)), Exponential(5.0))
        Connection(hid, hid, Dense(Normal(sd=0.1)), Exponential(5.0))
        Connection(hid, out, Dense(Normal(sd=0.3)), Exponential(5.0))
    return net, inp, out


def _data(num=4):
    """Inputs firing in groups over the trial and a smooth target trace per example."""
    x = []
    for e in range(num):
        ids = np.repeat(np.arange(N_IN), 6)
        times = (np.tile(np.arange(6) * 9.0, N_IN) + np.repeat((np.arange(N_IN) * 3 + e) % 9, 6)
                 ).astype(np.float32)
        x.append(preprocess_spikes(times, ids, N_IN))
    t = np.arange(STEPS)
    y = np.stack([np.stack([0.3 * np.sin(t / 10.0 + e), 0.2 * np.cos(t / 7.0)], axis=1)
                  for e in range(num)])
    return x, y


def _train(backend, epochs, **kwargs):
    net, inp, out = _network()
    compiler = EventPropCompiler(STEPS, "mean_square_error", optimiser="adam", batch_size=2,
                                 rng_seed=3, backend=backend, **kwargs)
    compiled = compiler.compile(net)
    x, y = _data()
    history = []
    with compiled:
        for epoch in range(epochs):
            metrics, _ = compiled.train({inp: x}, {out: y}, num_epochs=1, start_epoch=epoch,
                                        callbacks=[])
            history.append((compiled.epoch_loss, metrics[out].result))
        weights = [compiled.backend.get_weight(c).copy() for c in net.connections]
    return history, weights, compiled


def test_var_readout_mean_square_error_trains_down_and_reports_trace_mse():
    """mlGeNN's pattern-recognition setup: the loss and the trace MSE metric fall."""
    history, _, compiled = _train("numpy", 12)
    losses = [h[0] for h in history]
    assert compiled.graph.per_timestep
    assert losses[-1] < 0.5 * losses[0]
    # The default metric is the trace's mean square error: twice the loss (no 1/2, mean
    # over K outputs) for the epoch's weights before each batch's update.
    assert history[0][1] == pytest.approx(2 * losses[0] / N_OUT, rel=1e-6)
    assert compiled.clamped_jumps == 0


def test_compiled_backend_trains_like_numpy_backend():
    pytest.importorskip("numba")
    _, w_numpy, _ = _train("numpy", 3)
    _, w_compiled, compiled = _train("compiled", 3)
    assert compiled.backend.name == "compiled"
    for a, b in zip(w_numpy, w_compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_per_timestep_cross_entropy_trains_on_avg_var():
    net, inp, out = _network(readout="avg_var")
    compiler = EventPropCompiler(STEPS, "sparse_categorical_crossentropy", optimiser="adam",
                                 batch_size=2, rng_seed=3, per_timestep_loss=True)
    compiled = compiler.compile(net)
    x, _ = _data()
    labels = np.array([0, 1, 0, 1])
    with compiled:
        losses = []
        for epoch in range(10):
            metrics, _ = compiled.train({inp: x}, {out: labels}, num_epochs=1,
                                        start_epoch=epoch, callbacks=[])
            losses.append(compiled.epoch_loss)
    assert compiled.graph.per_timestep
    assert losses[-1] < losses[0]
    assert 0.0 <= metrics[out].result <= 1.0


def test_regulariser_of_a_per_timestep_loss_has_avg_var_ratio():
    """mlGeNN's increment RegLambda / B^2 * (batch count - nu B) to lambda_V, in q units."""
    _, _, compiled = _train("numpy", 1, reg_lambda_upper=1e-3, reg_lambda_lower=2e-3,
                            reg_nu_upper=3)
    counts = [np.zeros(N_IN, np.int64), np.arange(N_HID, dtype=np.int64), np.zeros(N_OUT)]
    terms = compiled._regulariser(counts, 2, 2)
    excess = np.arange(N_HID) - 2 * 3.0
    strength = np.where(excess > 0, 1e-3, 2e-3)
    # q = -tau_m lambda_V, and our gradient is mlGeNN's times tau_m.
    np.testing.assert_allclose(terms[1][0], 20.0 * 20.0 * strength * excess / 4)
    assert terms[0] is None and terms[2] is None


@pytest.mark.parametrize(
    ("readout", "loss", "per_timestep", "match"),
    [("max_var", "sparse_categorical_crossentropy", True, "no per-step trace"),
     ("avg_var_exp_weight", "sparse_categorical_crossentropy", True, "no per-step trace"),
     ("avg_var", "mean_square_error", True, "needs the 'var' readout"),
     ("var", "sparse_categorical_crossentropy", False, "must be 'mean_square_error'"),
     ("var", "sparse_categorical_crossentropy", True, "must be 'mean_square_error'")],
)
def test_per_timestep_loss_with_readout_without_trace_is_refused_at_compile(
        readout, loss, per_timestep, match):
    net, _, _ = _network(readout=readout)
    compiler = EventPropCompiler(STEPS, loss, per_timestep_loss=per_timestep)
    with pytest.raises(ConfigurationError, match=match):
        compiler.compile(net)


def test_per_timestep_loss_on_first_spike_time_output_is_refused():
    net, _, _ = _network(output_neuron=LeakyIntegrateFire(
        tau_mem=20.0, tau_refrac=None, relative_reset=False, readout="first_spike_time"))
    compiler = EventPropCompiler(STEPS, "sparse_categorical_crossentropy",
                                 per_timestep_loss=True)
    with pytest.raises(ConfigurationError, match="first_spike_time.*no per-step trace"):
        compiler.compile(net)


@pytest.mark.parametrize(
    ("y_shape", "kwargs", "match"),
    [((4, STEPS - 1, N_OUT), {}, r"shape \(examples, 60, 2\)"),
     ((4, N_OUT), {}, r"shape \(examples, 60, 2\)"),
     ((4, STEPS, N_OUT), {"validation_split": 0.5}, "validation_split must be 0"),
     ((4, STEPS, N_OUT), {"metrics": "sparse_categorical_accuracy"}, "1-D sequence")],
)
def test_bad_targets_are_refused_before_training(y_shape, kwargs, match):
    net, inp, out = _network()
    compiled = EventPropCompiler(STEPS, MeanSquareError(), batch_size=2).compile(net)
    x, _ = _data()
    with compiled:
        before = [compiled.backend.get_weight(c).copy() for c in net.connections]
        with pytest.raises(ConfigurationError, match=match):
            compiled.train({inp: x}, {out: np.zeros(y_shape)}, num_epochs=1, callbacks=[],
                           **kwargs)
        for conn, w in zip(net.connections, before, strict=True):
            np.testing.assert_array_equal(compiled.backend.get_weight(conn), w)
