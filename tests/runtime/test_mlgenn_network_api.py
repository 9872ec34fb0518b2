"""mlGeNN network API details: compile(network, name), omitted shapes, record_spike_events,
compiled_net.optimisers pairs, CompiledTrainingNetwork's export, duplicate keys."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, InputLayer, Layer, Network, Population, SequentialNetwork
from spikehooks.compilers import CompiledTrainingNetwork, EventPropCompiler, InferenceCompiler
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential


def _sequential():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0))
        hid = Layer(Dense(np.full((4, 6), 0.3, dtype=np.float32)),
                    LeakyIntegrateFire(v_thresh=1.0, relative_reset=False),
                    synapse=Exponential(5.0))
        out = Layer(OneToOne(0.5), LeakyIntegrate(readout="sum_var"), synapse=Exponential(5.0))
    return network, inp, hid, out


def test_shapes_are_inferred_from_dense_weights_and_one_to_one():
    _, inp, hid, out = _sequential()
    assert (inp.shape, hid.shape, out.shape) == ((4,), (6,), (6,))
    assert (inp.num_neurons, hid.num_neurons, out.num_neurons) == (4, 6, 6)


def test_shapes_are_inferred_in_a_network_of_populations():
    network = Network()
    with network:
        a = Population(IntegrateFireInput())
        b = Population(LeakyIntegrate(readout="sum_var"))
        from spikehooks import Connection

        Connection(a, b, Dense(np.zeros((3, 2), dtype=np.float32)))
    assert (a.shape, b.shape) == ((3,), (2,))


def test_a_shape_nothing_can_infer_is_an_error_naming_the_population():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 4)
        with pytest.raises(ConfigurationError, match=r"'pop1' shape must be given.*"
                                                     r"FixedProbability"):
            Layer(FixedProbability(0.5, 1.0), LeakyIntegrateFire())


def test_an_input_shape_left_open_is_reported_at_compile():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), name="lonely")
    with pytest.raises(ConfigurationError, match=r"'lonely' shape must be known"):
        InferenceCompiler(evaluate_timesteps=5).compile(network)


def test_compile_takes_mlgenn_model_name():
    network, *_ = _sequential()
    compiled = InferenceCompiler(evaluate_timesteps=5).compile(network, "latency_mnist")
    assert compiled.name == "latency_mnist"
    with pytest.raises(ConfigurationError, match="compile name must be a non-empty string"):
        InferenceCompiler(evaluate_timesteps=5).compile(network, 3)


def test_record_spike_events_is_refused_with_what_to_use():
    network = SequentialNetwork()
    with network:
        InputLayer(IntegrateFireInput(), 4, record_spike_events=False)
        with pytest.raises(ConfigurationError, match="record_spikes=True and SpikeRecorder"):
            Layer(Dense(1.0), LeakyIntegrateFire(), 3, record_spike_events=True)


def test_optimisers_are_mlgenn_pairs_and_the_class_is_exported():
    network, inp, hid, out = _sequential()
    compiled = EventPropCompiler(example_timesteps=5, losses="sparse_categorical_crossentropy",
                                 optimiser=Adam(0.01), batch_size=2).compile(network, "net")
    assert isinstance(compiled, CompiledTrainingNetwork)
    pairs = [(type(o).__name__, names) for o, names in compiled.optimisers]
    assert pairs == [("Adam", ["conn0/weight", "conn1/weight"])]
    assert compiled.name == "net"


def test_duplicate_keys_raise_an_error_that_is_a_key_error():
    class Keyed(Callback):
        def __init__(self, key):
            self.key = key

        def get_data(self):
            return self.key, 1

    network, inp, hid, out = _sequential()
    compiled = InferenceCompiler(evaluate_timesteps=3).compile(network)
    with compiled, pytest.raises(KeyError, match="keys must be unique; got key 'a'"):
        compiled.evaluate({inp: np.zeros((2, 4))}, {out: np.zeros(2, dtype=int)},
                          callbacks=[Keyed("a"), Keyed("a")])
