"""save()/load() with real networks: mlGeNN's compiled_net.save(keys) and network.load(keys)."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense, OneToOne
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.serialisers import NumpySerialiser, load, save

X = np.random.default_rng(0).random((6, 4)).astype(np.float32) * 3
Y = np.array([0, 1, 2, 0, 1, 2])


def _network(seed_weight):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4, name="in")
        Layer(Dense(seed_weight), LeakyIntegrateFire(v_thresh=1.0), 5, name="hid")
        out = Layer(Dense(("normal", {"mean": 0.5, "sd": 0.3})), LeakyIntegrate(readout="sum_var"),
                    3, name="out")
    return network, inp, out


def _readouts(network, inp, out, rng_seed):
    compiled = InferenceCompiler(evaluate_timesteps=20, batch_size=2, rng_seed=rng_seed
                                 ).compile(network)
    with compiled:
        y_pred, _ = compiled.predict({inp: X}, out, callbacks=[])
    return compiled, y_pred[out]


def test_weights_saved_from_a_compiled_network_reproduce_its_outputs(tmp_path):
    spec = ("numpy", {"path": tmp_path})
    first, inp, out = _network(("normal", {"mean": 0.5, "sd": 0.3}))
    compiled, expected = _readouts(first, inp, out, rng_seed=1)
    with compiled:
        save(compiled, ("checkpoints", 3), spec)
    second, inp2, out2 = _network(0.0)
    load(second, ("checkpoints", 3), spec)
    _, got = _readouts(second, inp2, out2, rng_seed=2)
    assert expected.shape == (6, 3) and np.ptp(expected) > 0
    np.testing.assert_array_equal(got, expected)


def test_load_into_a_compiled_network_sets_the_backend_weights(tmp_path):
    ser = NumpySerialiser(tmp_path)
    network, inp, out = _network(0.25)
    compiled, _ = _readouts(network, inp, out, rng_seed=0)
    weights = {"conn0/weight": np.full((4, 5), 0.75, np.float32)}
    ser.save(("w",), {"learnable": weights})
    with compiled:
        load(compiled, ("w",), ser)
        np.testing.assert_array_equal(compiled.backend.get_learnable_state()["conn0/weight"],
                                      weights["conn0/weight"])


def test_network_load_takes_the_diagonal_for_one_to_one(tmp_path):
    ser = NumpySerialiser(tmp_path)
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 3, name="in")
        layer = Layer(OneToOne(1.0), LeakyIntegrate(readout="sum_var"), 3, name="out")
    ser.save(("w",), {"learnable": {"conn0/weight": np.diag([1.0, 2.0, 3.0]).astype(np.float32)}})
    load(network, ("w",), ser)
    np.testing.assert_array_equal(layer.connection.connectivity.weight, [1.0, 2.0, 3.0])


def test_network_load_of_a_wrong_shape_changes_nothing(tmp_path):
    ser = NumpySerialiser(tmp_path)
    network, _, out = _network(0.25)
    ser.save(("w",), {"learnable": {"conn1/weight": np.ones((5, 3), np.float32),
                                    "conn0/weight": np.ones((2, 2), np.float32)}})
    with pytest.raises(ConfigurationError, match=r"'conn0/weight' must have shape \(4, 5\)"):
        load(network, ("w",), ser)
    assert not isinstance(out.connection.connectivity.weight, np.ndarray)


def test_network_load_of_an_unknown_connection_names_the_known_ones(tmp_path):
    ser = NumpySerialiser(tmp_path)
    network, _, _ = _network(0.25)
    ser.save(("w",), {"learnable": {"other/weight": np.ones((4, 5), np.float32)}})
    with pytest.raises(ConfigurationError, match=r"\['conn0', 'conn1'\]; got 'other'"):
        load(network, ("w",), ser)
