"""The NumPy backend implements the whole backend protocol; names resolve through the registry."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from spikehooks import (
    ConfigurationError,
    InferenceCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
    registry,
)
from spikehooks.backends import Backend
from spikehooks.backends.numpy_backend import NumpyBackend
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire


def _compiled(n_in=40, batch_size=2, timesteps=6, rec=None):
    with SequentialNetwork() as network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), n_in, record_spikes=True,
                         name="input")
        hid = Layer(Dense(0.5), LeakyIntegrateFire(), 3, name="hidden")
        out = Layer(Dense(0.5), LeakyIntegrate(readout="sum_var"), 2, name="output")
    compiled = InferenceCompiler(evaluate_timesteps=timesteps, batch_size=batch_size,
                                 num_recording_timesteps=rec).compile(network)
    return compiled, inp, hid, out


def test_numpy_backend_satisfies_the_protocol():
    compiled, *_ = _compiled()
    assert isinstance(compiled.backend, Backend)
    members = {name for name in dir(Backend) if not name.startswith("_")}
    members |= set(inspect.get_annotations(Backend))
    missing = [m for m in members if not hasattr(compiled.backend, m)]
    assert missing == []


def test_backend_resolves_by_name():
    assert registry.resolve("backends", "numpy") is NumpyBackend


@pytest.mark.parametrize("kind,name,cls", [
    ("neurons", "integrate_fire_input", "IntegrateFireInput"),
    ("neurons", "spike_input", "SpikeInput"),
    ("neurons", "poisson_input", "PoissonInput"),
    ("neurons", "integrate_fire", "IntegrateFire"),
    ("neurons", "leaky_integrate_fire", "LeakyIntegrateFire"),
    ("neurons", "leaky_integrate", "LeakyIntegrate"),
    ("synapses", "delta", "Delta"),
    ("synapses", "exponential", "Exponential"),
    ("connectivity", "dense", "Dense"),
    ("connectivity", "fixed_probability", "FixedProbability"),
    ("connectivity", "one_to_one", "OneToOne"),
    ("initializers", "normal", "Normal"),
    ("initializers", "uniform", "Uniform"),
    ("readouts", "sum_var", "SumVar"),
    ("readouts", "avg_var", "AvgVar"),
    ("readouts", "max_var", "MaxVar"),
    ("readouts", "spike_count", "SpikeCount"),
    ("readouts", "first_spike_time", "FirstSpikeTime"),
    ("metrics", "sparse_categorical_accuracy", "SparseCategoricalAccuracy"),
    ("metrics", "mean_square_error", "MeanSquareError"),
])
def test_every_builtin_name_resolves(kind, name, cls):
    assert registry.resolve(kind, name).__name__ == cls


def test_names_with_arguments_build_a_network():
    with SequentialNetwork() as network:
        InputLayer(("integrate_fire_input", {"v_thresh": 2.0}), 3)
        layer = Layer(("dense", {"weight": ("uniform", {"min": 0.5, "max": 0.5})}),
                      ("leaky_integrate", {"readout": "max_var"}), 2, "exponential")
    assert layer.connection.synapse.tau == 5.0
    assert type(layer.neuron.readout).__name__ == "MaxVar"
    backend = InferenceCompiler(evaluate_timesteps=2).compile(network).backend
    np.testing.assert_array_equal(backend.get_conn_var(layer.connection, "weight"),
                                  np.full((3, 2), 0.5, np.float32))


def _run(compiled, inp, x, steps):
    with compiled:
        compiled.backend.reset()
        compiled.set_input({inp: x})
        for _ in range(steps):
            compiled.step_time()


def test_spike_bits_are_bit_n_mod_32_of_word_n_div_32():
    compiled, inp, *_ = _compiled(n_in=40)
    x = np.zeros((2, 40))
    x[0, [0, 33, 39]] = 1.0   # spike every step
    x[1, 31] = 1.0
    _run(compiled, inp, x, 2)
    backend = compiled.backend
    backend.pull_recording_buffers()
    start, bits = backend.get_spike_bits(inp)
    assert start == 0 and bits.dtype == np.uint32 and bits.shape == (2, 2, 2)
    expected = np.array([[1, (1 << 1) | (1 << 7)], [1 << 31, 0]], dtype=np.uint32)
    np.testing.assert_array_equal(bits[0], expected)
    np.testing.assert_array_equal(bits[1], expected)
    times, ids = backend.get_spikes(inp)[0]
    np.testing.assert_array_equal(times, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ids, [0, 33, 39, 0, 33, 39])
    assert times.dtype == np.float64 and ids.dtype == np.int32


def test_recording_windows_are_pulled_in_pieces():
    compiled, inp, *_ = _compiled(n_in=2, timesteps=5, rec=2)
    backend = compiled.backend
    assert [backend.recording_window_ready(t) for t in range(5)] == [False, True, False, True,
                                                                     True]
    seen = []
    with compiled:
        backend.reset()
        compiled.set_input({inp: np.ones((2, 2))})
        for t in range(5):
            compiled.step_time()
            if backend.recording_window_ready(t):
                backend.pull_recording_buffers()
                start, bits = backend.get_spike_bits(inp)
                seen.append((start, bits.shape[0]))
    assert seen == [(0, 2), (2, 2), (4, 1)]
    assert backend.num_recording_pulls == 3
    assert backend.get_spikes(inp)[1][0].tolist() == [4.0, 4.0]


def test_get_var_is_a_read_only_float32_view_by_user_or_backend_name():
    compiled, inp, hid, out = _compiled()
    backend = compiled.backend
    assert backend.get_var_names(out) == {"v": "V", "v_sum": "VSum"}
    view = backend.get_var(out, "v_sum")
    assert view is backend.get_var(out, "VSum")
    assert view.dtype == np.float32 and view.shape == (2, 2) and not view.flags.writeable
    assert backend.is_var_shared(out, "v") is False
    with pytest.raises(ConfigurationError, match="must be one of 'v' \\('V'\\)"):
        backend.get_var(hid, "VSum")


def test_learnable_state_round_trips_and_checks_shapes():
    compiled, _, hid, _ = _compiled()
    backend = compiled.backend
    state = backend.get_learnable_state()
    assert sorted(state) == ["conn0/weight", "conn1/weight"]
    state["conn0/weight"] = np.arange(120, dtype=np.float32).reshape(40, 3)
    backend.set_learnable_state(state)
    np.testing.assert_array_equal(backend.get_conn_var(hid.connection, "weight"),
                                  state["conn0/weight"])
    with pytest.raises(ConfigurationError, match=r"must have shape \(40, 3\); got \(3, 40\)"):
        backend.set_learnable_state({"conn0/weight": np.zeros((3, 40))})
    with pytest.raises(ConfigurationError, match="key must be one of"):
        backend.set_learnable_state({"nope/weight": np.zeros((3, 40))})


def test_get_spikes_needs_record_spikes():
    compiled, _, hid, _ = _compiled()
    with pytest.raises(ConfigurationError, match="Set record_spikes=True on 'hidden'"):
        compiled.backend.get_spikes(hid)


def test_step_observer_sees_spike_masks_and_synaptic_input():
    compiled, inp, hid, _ = _compiled(n_in=2, timesteps=3)
    backend = compiled.backend
    seen = []
    backend.add_step_observer(
        lambda t: seen.append((t, backend.get_spike_mask(inp).copy(),
                               backend.get_synaptic_input(hid).copy())))
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    with compiled:
        backend.reset()
        compiled.set_input({inp: x})
        backend.run(2)
    assert [t for t, _, _ in seen] == [0, 1]
    np.testing.assert_array_equal(seen[0][1], x.astype(bool))
    np.testing.assert_array_equal(seen[0][2], np.zeros((2, 3)))
    np.testing.assert_array_equal(seen[1][2], [[0.5] * 3, [1.0] * 3])
