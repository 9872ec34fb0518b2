"""mlGeNN's checkpoint API: Numpy(path), Checkpoint(serialiser), network.load((epoch,), ...),
save_connectivity, and importing the .npy files mlGeNN's own Numpy serialiser writes."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import EventPropCompiler, InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.serialisers import CheckpointError, Numpy
from spikehooks.synapses import Exponential
from spikehooks_checkpoint import Checkpoint

_RNG = np.random.default_rng(4)
X = _RNG.random((8, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 8)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _network(hidden_conn=None, names=False):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4, name="input" if names else None)
        hid = Layer(hidden_conn or Dense(("normal", {"mean": 0.5, "sd": 0.3})),
                    LeakyIntegrateFire(v_thresh=1.0, relative_reset=False), 6,
                    synapse=Exponential(5.0), name="hidden" if names else None)
        out = Layer(Dense(("normal", {"mean": 0.2, "sd": 0.3})),
                    LeakyIntegrate(readout="sum_var"), 3, synapse=Exponential(5.0),
                    name="output" if names else None)
    return network, inp, hid, out


def _weights(network, seed=0):
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=1,
                                 rng_seed=seed).compile(network)
    with compiled:
        return compiled.backend.get_learnable_state()


def test_checkpoint_with_a_numpy_serialiser_keys_epochs_as_mlgenn_does(tmp_path):
    serialiser = Numpy("ckpt")
    network, inp, _, out = _network()
    compiled = EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                                 optimiser="adam", batch_size=4, rng_seed=1).compile(network)
    with compiled:
        compiled.train({inp: X}, {out: Y}, num_epochs=2, callbacks=[Checkpoint(serialiser)])
        trained = compiled.backend.get_learnable_state()
    # One folder per epoch in the serialiser's folder (beside the run's hidden owner files).
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir() if p.name[0] != ".") == ["0", "1"]
    fresh, *_ = _network()
    fresh.load((1,), serialiser)
    loaded = _weights(fresh, seed=7)
    assert all(np.array_equal(trained[k], loaded[k]) for k in trained)


def test_mlgenn_default_names_map_onto_populations_in_creation_order():
    network, *_ = _network()
    w1 = np.arange(24, dtype=np.float32).reshape(4, 6) / 10
    w2 = -np.arange(18, dtype=np.float32).reshape(6, 3) / 10
    # mlGeNN numbers populations per process: this script's first network had Pop0-Pop2.
    np.save("9-Conn_Pop3_Pop4-g.npy", w1.ravel())
    np.save("9-Conn_Pop4_Pop5-g.npy", w2.ravel())
    network.load((9,), Numpy())
    loaded = _weights(network)
    assert np.array_equal(loaded["conn0/weight"], w1)
    assert np.array_equal(loaded["conn1/weight"], w2)


def test_mlgenn_names_built_from_population_names_match():
    network, *_ = _network(names=True)
    w1 = np.full((4, 6), 0.25, dtype=np.float32)
    w2 = np.full((6, 3), -0.5, dtype=np.float32)
    Numpy("ck").serialise((3, "Conn_input_hidden", "g"), w1.ravel())
    Numpy("ck").serialise((3, "Conn_hidden_output", "g"), w2.ravel())
    network.load((3,), Numpy("ck"))
    loaded = _weights(network)
    assert np.array_equal(loaded["conn0/weight"], w1)
    assert np.array_equal(loaded["conn1/weight"], w2)


def test_an_unmatched_connection_is_named_with_the_names_available():
    network, *_ = _network()
    np.save("2-Readout_weights-g.npy", np.zeros(18, dtype=np.float32))
    with pytest.raises(ConfigurationError) as info:
        network.load((2,), Numpy())
    message = str(info.value)
    assert "['Readout_weights']" in message
    assert "['conn0', 'conn1']" in message and "'pop0'" in message


def test_learnt_delays_are_refused_rather_than_dropped():
    network, *_ = _network()
    np.save("0-Conn_Pop0_Pop1-g.npy", np.zeros(24, dtype=np.float32))
    np.save("0-Conn_Pop0_Pop1-d.npy", np.zeros(24, dtype=np.float32))
    np.save("0-Conn_Pop1_Pop2-g.npy", np.zeros(18, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="learnt delays"):
        network.load((0,), Numpy())


def test_sparse_mlgenn_weights_need_their_indices():
    network, *_ = _network(FixedProbability(0.5, 1.0))
    np.save("0-Conn_Pop0_Pop1-g.npy", np.ones(7, dtype=np.float32))
    np.save("0-Conn_Pop1_Pop2-g.npy", np.zeros(18, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="save_connectivity"):
        network.load((0,), Numpy())


def test_sparse_mlgenn_weights_with_indices_rebuild_those_synapses():
    network, *_ = _network(FixedProbability(0.5, 1.0))
    pre = np.array([0, 0, 2, 3], dtype=np.uint32)
    post = np.array([1, 5, 0, 4], dtype=np.uint32)
    g = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    for var, value in (("g", g), ("pre_ind", pre), ("post_ind", post)):
        np.save(f"5-Conn_Pop0_Pop1-{var}.npy", value)
    np.save("5-Conn_Pop1_Pop2-g.npy", np.zeros(18, dtype=np.float32))
    network.load((5,), Numpy())
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=1, rng_seed=3).compile(network)
    with compiled:
        conn = network.connections[0]
        mask = compiled.backend.get_weight_mask(conn)
        weight = compiled.backend.get_learnable_state()["conn0/weight"]
    assert sorted(zip(*np.nonzero(mask), strict=True)) == [(0, 1), (0, 5), (2, 0), (3, 4)]
    assert np.array_equal(weight[pre, post], g) and weight.sum() == pytest.approx(g.sum())


def test_save_connectivity_makes_network_load_rebuild_the_same_synapses():
    network, *_ = _network(FixedProbability(0.4, ("normal", {"mean": 0.5, "sd": 0.3})))
    serialiser = Numpy("run")
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=1, rng_seed=11).compile(network)
    with compiled:
        compiled.save((4,), serialiser)
        compiled.save_connectivity((4,), serialiser)
        mask = compiled.backend.get_weight_mask(network.connections[0])
        weights = compiled.backend.get_learnable_state()
    fresh, *_ = _network(FixedProbability(0.4, 1.0))
    fresh.load((4,), serialiser)
    other = InferenceCompiler(evaluate_timesteps=5, batch_size=1, rng_seed=99).compile(fresh)
    with other:
        assert np.array_equal(other.backend.get_weight_mask(fresh.connections[0]), mask)
        got = other.backend.get_learnable_state()
    assert all(np.array_equal(weights[k], got[k]) for k in weights)


def test_one_to_one_mlgenn_weights_are_one_per_neuron():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 5)
        Layer(OneToOne(1.0), LeakyIntegrate(readout="sum_var"), 5)
    np.save("1-Conn_Pop0_Pop1-g.npy", np.arange(5, dtype=np.float32))
    network.load((1,), Numpy())
    assert np.array_equal(np.diagonal(_weights(network)["conn0/weight"]), np.arange(5))


def test_numpy_single_array_api_uses_mlgenn_file_names(tmp_path):
    serialiser = Numpy("arrays")
    serialiser.serialise((2, "Conn", "g"), np.arange(3.0))
    assert (tmp_path / "arrays" / "2-Conn-g.npy").is_file()
    assert np.array_equal(serialiser.deserialise((2, "Conn", "g")), np.arange(3.0))
    assert list(serialiser.deserialise_all((2, "Conn"))) == ["g"]
    with pytest.raises(CheckpointError, match="3-Conn-g.npy"):
        serialiser.deserialise((3, "Conn", "g"))


def test_nothing_under_the_keys_is_a_checkpoint_error():
    network, *_ = _network()
    with pytest.raises(CheckpointError, match="manifest"):
        network.load((8,), Numpy("nowhere"))
