"""Order of the callback hooks during evaluate/predict, partial batches, the fast path."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    Callback,
    CallbackError,
    InferenceCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
)
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate


def _network():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=2.0), 3, record_spikes=True)
        out = Layer(Dense(np.eye(3, 2, dtype=np.float32)), LeakyIntegrate(readout="sum_var"), 2)
    return network, inp, out


class Log(Callback):
    """Logs every hook call with what the backend says at that moment."""

    def __init__(self, timesteps=True):
        self.calls = []
        if timesteps:
            # attached per instance, as recorders do in set_params
            self.on_timestep_begin = lambda timestep: self.calls.append(("timestep_begin",
                                                                         timestep))
            self.on_timestep_end = lambda timestep: self.calls.append(("timestep_end",
                                                                       timestep))

    def set_params(self, backend, mode, num_batches, num_epochs, **kwargs):
        self.backend = backend
        self.calls.append(("set_params", mode, num_batches, num_epochs))

    def on_test_begin(self):
        self.calls.append(("test_begin",))

    def on_batch_begin(self, batch, run):
        self.calls.append(("batch_begin", batch, run.num_examples_in_batch,
                           run.example_indices.tolist(), self.backend.timestep))

    def on_batch_end(self, batch, metrics):
        self.calls.append(("batch_end", batch, {p.name: m.total for p, m in metrics.items()},
                           self.backend.timestep))

    def on_test_end(self, metrics):
        self.calls.append(("test_end", {p.name: m.total for p, m in metrics.items()}))


def _evaluate(callback, num_examples=5, batch_size=2, timesteps=3):
    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=timesteps,
                                 batch_size=batch_size).compile(network)
    x = np.linspace(0.1, 1.0, num_examples * 3).reshape(num_examples, 3)
    y = np.zeros(num_examples, dtype=int)
    with compiled:
        return compiled.evaluate({inp: x}, {out: y}, callbacks=[callback])


def test_hooks_run_in_lifecycle_order_with_a_partial_last_batch():
    log = Log()
    _evaluate(log, num_examples=5, batch_size=2, timesteps=2)
    steps = [("timestep_begin", 0), ("timestep_end", 0),
             ("timestep_begin", 1), ("timestep_end", 1)]
    assert log.calls == [
        ("set_params", "test", 3, 1),
        ("test_begin",),
        ("batch_begin", 0, 2, [0, 1], 0), *steps, ("batch_end", 0, {"pop1": 2}, 2),
        ("batch_begin", 1, 2, [2, 3], 0), *steps, ("batch_end", 1, {"pop1": 4}, 2),
        ("batch_begin", 2, 1, [4], 0), *steps, ("batch_end", 2, {"pop1": 5}, 2),
        ("test_end", {"pop1": 5}),
    ]


def test_no_timestep_hooks_takes_the_fast_path():
    log = Log(timesteps=False)
    metrics, _ = _evaluate(log, num_examples=4, batch_size=4, timesteps=3)
    assert [c[0] for c in log.calls] == ["set_params", "test_begin", "batch_begin",
                                         "batch_end", "test_end"]
    assert log.calls[3] == ("batch_end", 0, {"pop1": 4}, 3)
    assert list(metrics.values())[0].total == 4


def test_partial_batch_spikes_cover_only_real_examples():
    class Spikes(Callback):
        def set_params(self, backend, compiled_network, **kwargs):
            self.backend, self.pop = backend, compiled_network.network.populations[0]
            self.lengths = []

        def on_batch_end(self, batch, metrics):
            self.backend.pull_recording_buffers()
            self.lengths.append(len(self.backend.get_spikes(self.pop)))

    spikes = Spikes()
    _evaluate(spikes, num_examples=5, batch_size=2)
    assert spikes.lengths == [2, 2, 1]


def test_error_in_a_callback_becomes_callback_error():
    class Broken(Callback):
        def on_batch_end(self, batch, metrics):
            raise RuntimeError("boom")

    with pytest.raises(CallbackError, match="Broken.on_batch_end raised RuntimeError: boom"):
        _evaluate(Broken())


def test_predict_returns_readouts_of_every_example_and_calls_hooks():
    log = Log(timesteps=False)
    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=3, batch_size=2).compile(network)
    x = np.full((3, 3), 1.0)
    with compiled:
        predictions, cb_data = compiled.predict({inp: x}, out, callbacks=[log])
    assert predictions[out].shape == (3, 2) and predictions[out].dtype == np.float32
    # IF input spikes at step 1 (V reaches 2.0); its weight arrives in step 2
    np.testing.assert_array_equal(predictions[out], np.full((3, 2), 1.0, np.float32))
    assert log.calls[-1] == ("test_end", {})
    assert cb_data == {}


def test_evaluate_runs_with_the_default_progress_bar_callback():
    network, inp, out = _network()
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=2).compile(network)
    with compiled:
        metrics, cb_data = compiled.evaluate({inp: np.ones((3, 3))}, {out: np.zeros(3, int)})
    assert list(metrics.values())[0].total == 3
    assert cb_data == {}
