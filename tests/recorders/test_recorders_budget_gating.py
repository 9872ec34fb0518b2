"""Epoch/phase gating and memory budgets."""

from __future__ import annotations

import numpy as np
import pytest
from _fake_backend import FakeBackend, FakePop, run

from spikehooks.errors import ConfigurationError
from spikehooks_recorders import SpikeRecorder, VarRecorder, parse_bytes

T = 10


def make():
    a = FakePop("a", 8)
    return FakeBackend([a], batch_size=2, num_timesteps=T), a


def test_epochs_callable_in_training():
    backend, a = make()
    rec = VarRecorder(a, "v", key="v", epochs=lambda e: e % 2 == 0)
    data = run(backend, [rec], 2, mode="train", num_epochs=5)["v"]
    assert len(data) == 3 * 2


@pytest.mark.parametrize("epochs, expected", [(1, 2), ([0, 2], 4), (range(3), 6)])
def test_epochs_int_and_iterables(epochs, expected):
    backend, a = make()
    data = run(backend, [VarRecorder(a, "v", key="v", epochs=epochs)], 2, mode="train",
               num_epochs=3)["v"]
    assert len(data) == expected


def test_phase_excludes_other_runs():
    backend, a = make()
    rec = SpikeRecorder(a, key="s", phase="train")
    times, _ = run(backend, [rec], 4, mode="test")["s"]
    assert times == [] and backend.num_recording_pulls == 0


def test_phase_set():
    backend, a = make()
    rec = SpikeRecorder(a, key="s", phase={"validate", "test"})
    assert len(run(backend, [rec], 3, mode="validate")["s"][0]) == 3


@pytest.mark.parametrize("kwargs, fragment", [
    ({"phase": "eval"}, "phase must be one or more of"),
    ({"epochs": "all"}, "epochs must be an int"),
    ({"epochs": [1.5]}, "epochs must hold ints"),
    ({"max_bytes": "lots"}, "max_bytes must be a byte count"),
])
def test_gating_arguments_validated(kwargs, fragment):
    with pytest.raises(ConfigurationError, match=fragment):
        SpikeRecorder(FakePop("a", 2), **kwargs)


@pytest.mark.parametrize("text, value", [
    ("2GB", 2 * 10**9), ("1.5 kB", 1500), ("512MiB", 512 * 2**20), ("100", 100), (7, 7),
])
def test_parse_bytes(text, value):
    assert parse_bytes(text, "x") == value


def test_spike_estimate_bounded_by_decoded_spikes():
    big = FakePop("big", 320)
    backend = FakeBackend([big], batch_size=2, num_timesteps=T)
    rec = SpikeRecorder(big, key="s", example_filter=[0, 1, 2], neuron_filter=[1, 2])
    run(backend, [rec], 10)
    assert rec.estimated_bytes == 3 * 2 * T * 12  # < 3 x T x 40 bytes of bits
    assert rec.held_bytes <= rec.estimated_bytes


def test_spike_estimate_bounded_by_packed_bits():
    backend, a = make()
    rec = SpikeRecorder(a, key="s")
    run(backend, [rec], 10)
    assert rec.estimated_bytes == 10 * T * 4  # one word per step, < 8 x T x 12
    assert rec.held_bytes <= rec.estimated_bytes


def test_spike_estimate_uses_refractoriness():
    pop = FakePop("refrac", 320)
    pop.neuron = type("Neuron", (), {"tau_refrac": 2.0})()
    backend = FakeBackend([pop], batch_size=2, num_timesteps=T)
    rec = SpikeRecorder(pop, key="s", neuron_filter=[0])
    run(backend, [rec], 1)
    assert rec.estimated_bytes == 2 * 5 * 12  # one spike every 2 steps at most


def test_max_bytes_refused_before_any_simulation():
    backend, a = make()
    rec = SpikeRecorder(a, key="s", max_bytes=100)
    with pytest.raises(ConfigurationError) as err:
        run(backend, [rec], 10)
    message = str(err.value)
    assert "about 400 B" in message and "10 examples x upper bound" in message
    assert "example_filter=" in message and "to='some/folder'" in message
    assert backend.timestep == 0 and backend.num_recording_pulls == 0


def test_refusal_keeps_previous_recording():
    backend, a = make()
    rec = VarRecorder(a, "v", key="v", max_bytes="2kB")
    previous = run(backend, [rec], 2)["v"]
    with pytest.raises(ConfigurationError, match="max_bytes must cover the recording"):
        run(backend, [rec], 100)
    assert rec.get_data()[1] is previous and len(previous) == 2


def test_env_budget_total(monkeypatch):
    monkeypatch.setenv("SPIKEHOOKS_RECORDING_BUDGET", "3kB")
    backend, a = make()
    recs = [VarRecorder(a, "v", key="v"), SpikeRecorder(a, key="s")]
    with pytest.raises(ConfigurationError, match="SPIKEHOOKS_RECORDING_BUDGET") as err:
        run(backend, recs, 10)
    assert "VarRecorder(key='v'): 3.2 kB; SpikeRecorder(key='s'): 400 B" in str(err.value)
    assert backend.timestep == 0


def test_env_budget_streaming_fits(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEHOOKS_RECORDING_BUDGET", "5kB")
    backend, a = make()
    data = run(backend, [VarRecorder(a, "v", key="v", to=tmp_path / "v")], 10)["v"]
    assert len(data) == 10
    np.testing.assert_array_equal(data[9][0], np.float32(9000) + np.arange(8) / 1024)
