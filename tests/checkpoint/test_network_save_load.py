"""mlGeNN's ``compiled_net.save(keys)`` and ``network.load(keys)`` on the core classes."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import InferenceCompiler, InputLayer, Layer, NotCompiledError, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.errors import CheckpointError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate

WEIGHTS = np.arange(8, dtype=np.float32).reshape(4, 2)


def _network(weight):
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 4)
        Layer(Dense(weight), LeakyIntegrate(readout="sum_var"), 2)
    return network


def test_saved_weights_load_into_a_new_network_before_compiling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compiled = InferenceCompiler(evaluate_timesteps=5).compile(_network(WEIGHTS))
    with compiled:
        compiled.save(("checkpoints", 3))
    fresh = _network(np.zeros((4, 2)))
    fresh.load(("checkpoints", 3))
    reloaded = InferenceCompiler(evaluate_timesteps=5).compile(fresh)
    np.testing.assert_array_equal(reloaded.backend.get_learnable_state()["conn0/weight"], WEIGHTS)


def test_compiled_network_load_replaces_live_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with InferenceCompiler(evaluate_timesteps=5).compile(_network(WEIGHTS)) as compiled:
        compiled.save(("w",))
    with InferenceCompiler(evaluate_timesteps=5).compile(_network(np.ones((4, 2)))) as other:
        other.load(("w",))
        np.testing.assert_array_equal(other.backend.get_learnable_state()["conn0/weight"],
                                      WEIGHTS)


def test_save_outside_with_compiled_net_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compiled = InferenceCompiler(evaluate_timesteps=5).compile(_network(WEIGHTS))
    with pytest.raises(NotCompiledError, match="with compiled_net"):
        compiled.save(("never",))
    assert not (tmp_path / "never").exists()


def test_a_tampered_file_is_refused_naming_it_and_weights_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with InferenceCompiler(evaluate_timesteps=5).compile(_network(WEIGHTS)) as compiled:
        folder = compiled.save(("bad",))
    data_file = next(p for p in (tmp_path / folder).iterdir() if p.suffix == ".npz")
    data_file.write_bytes(data_file.read_bytes()[:-7] + b"garbage")
    with InferenceCompiler(evaluate_timesteps=5).compile(_network(np.ones((4, 2)))) as other:
        with pytest.raises(CheckpointError, match=data_file.name):
            other.load(("bad",))
        np.testing.assert_array_equal(other.backend.get_learnable_state()["conn0/weight"],
                                      np.ones((4, 2), dtype=np.float32))
