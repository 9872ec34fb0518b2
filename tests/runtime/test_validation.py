"""Bad input is refused before any simulation, with a message naming the fix."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import (
    ConfigurationError,
    InferenceCompiler,
    InputLayer,
    Layer,
    Network,
    NotCompiledError,
    Population,
    SequentialNetwork,
    UnknownNameError,
)
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, SpikeInput


def _compiled(batch_size=2):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(), 4, name="input")
        out = Layer(Dense(0.1), LeakyIntegrate(readout="sum_var"), 3, name="output")
    return InferenceCompiler(evaluate_timesteps=5, batch_size=batch_size).compile(network), \
        inp, out


@pytest.fixture
def loaded():
    compiled, inp, out = _compiled()
    with compiled:
        yield compiled, inp, out


def _no_step(compiled):
    assert compiled.backend.timestep == 0


def test_x_shape_must_match_the_population(loaded):
    compiled, inp, out = loaded
    with pytest.raises(ConfigurationError,
                       match=r"input of population 'input' must have shape \(n_examples, 4\); "
                             r"got \(6, 5\)"):
        compiled.evaluate({inp: np.zeros((6, 5))}, {out: np.zeros(6, int)}, callbacks=[])
    _no_step(compiled)


def test_x_and_y_must_have_the_same_length(loaded):
    compiled, inp, out = loaded
    with pytest.raises(ConfigurationError, match=r"one target per example of x \(6\); got 5"):
        compiled.evaluate({inp: np.zeros((6, 4))}, {out: np.zeros(5, int)}, callbacks=[])
    _no_step(compiled)


def test_labels_must_be_in_range_of_the_output(loaded):
    compiled, inp, out = loaded
    with pytest.raises(ConfigurationError, match=r"labels must be in \[0, 2\].*got values in "
                                                 r"\[0, 3\]"):
        compiled.evaluate({inp: np.zeros((2, 4))}, {out: np.array([0, 3])}, callbacks=[])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_inputs_must_be_finite(loaded, bad):
    compiled, inp, out = loaded
    x = np.zeros((3, 4))
    x[2, 1] = bad
    with pytest.raises(ConfigurationError, match="must be finite; got NaN or inf "
                                                 r"\(first in example 2\)"):
        compiled.evaluate({inp: x}, {out: np.zeros(3, int)}, callbacks=[])


def test_every_input_population_needs_data(loaded):
    compiled, _, out = loaded
    with pytest.raises(ConfigurationError, match=r"got none for \['input'\]"):
        compiled.evaluate({}, {out: np.zeros(3, int)}, callbacks=[])


def test_y_keys_need_a_readout(loaded):
    compiled, inp, _ = loaded
    with pytest.raises(ConfigurationError, match="population 'input' readout must be set"):
        compiled.evaluate({inp: np.zeros((2, 4))}, {inp: np.zeros(2, int)}, callbacks=[])


def test_unknown_metric_name_suggests_the_closest(loaded):
    compiled, inp, out = loaded
    with pytest.raises(UnknownNameError, match="Did you mean 'sparse_categorical_accuracy'"):
        compiled.evaluate({inp: np.zeros((2, 4))}, {out: np.zeros(2, int)},
                          metrics="sparse_categorical_acuracy", callbacks=[])


def test_unknown_neuron_name_suggests_the_closest():
    network = Network()
    with network, pytest.raises(UnknownNameError, match="Did you mean 'leaky_integrate_fire'"):
        Population("leaky_integrate_fir", 3)


def test_population_outside_a_network_names_the_fix():
    with pytest.raises(ConfigurationError, match=r"(?s)must be created inside a network context.*"
                                                 r"with network:"):
        Population(LeakyIntegrate(), 3)


def test_layer_outside_a_sequential_network_names_the_fix():
    with pytest.raises(ConfigurationError, match="Layer must be created inside a "
                                                 "SequentialNetwork context; got none active"):
        Layer(Dense(1.0), LeakyIntegrate(), 3)


def test_layer_needs_a_previous_layer():
    with SequentialNetwork(), pytest.raises(ConfigurationError, match="Create an InputLayer"):
        Layer(Dense(1.0), LeakyIntegrate(), 3)


def test_evaluate_outside_with_compiled_net_raises_not_compiled():
    compiled, inp, out = _compiled()
    with pytest.raises(NotCompiledError, match=r"inside `with compiled_net:`"):
        compiled.evaluate({inp: np.zeros((2, 4))}, {out: np.zeros(2, int)}, callbacks=[])


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size must be an int >= 1; got 0"),
    ({"dt": 0.0}, r"dt must be a finite number > 0 \(ms\); got 0.0"),
    ({"dt": -1.0}, r"dt must be a finite number > 0 \(ms\); got -1.0"),
    ({"evaluate_timesteps": 0}, "evaluate_timesteps must be an int >= 1; got 0"),
])
def test_compiler_settings_are_checked(kwargs, match):
    settings = {"evaluate_timesteps": 10, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        InferenceCompiler(**settings)


def test_dense_weight_shape_is_checked_against_the_populations():
    with SequentialNetwork() as network:
        InputLayer(IntegrateFireInput(), 4)
        with pytest.raises(ConfigurationError, match=r"weight must have shape \(4, 3\); got "
                                                     r"\(3, 4\)"):
            Layer(Dense(np.zeros((3, 4))), LeakyIntegrate(), 3)
    assert len(network.populations) == 1 and not network.connections


def test_population_names_must_be_unique():
    with Network(), pytest.raises(ConfigurationError, match="got 'a' twice"):
        Population(LeakyIntegrate(), 1, name="a")
        Population(LeakyIntegrate(), 1, name="a")


def test_spike_input_needs_preprocessed_spikes_of_the_right_size():
    with SequentialNetwork() as network:
        inp = InputLayer(SpikeInput(), 3)
        out = Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2)
    compiled = InferenceCompiler(evaluate_timesteps=3).compile(network)
    with compiled, pytest.raises(ConfigurationError, match="must describe 3 neurons; got "
                                                           r"end_spikes of shape \(2,\)"):
        compiled.evaluate({inp: [preprocess_spikes([1.0], [0], 2)]}, {out: [0]}, callbacks=[])


def test_spike_input_max_spikes_is_checked_per_batch():
    with SequentialNetwork() as network:
        inp = InputLayer(SpikeInput(max_spikes=3), 1)
        out = Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2)
    compiled = InferenceCompiler(evaluate_timesteps=3, batch_size=2).compile(network)
    x = [preprocess_spikes([0.0, 1.0], [0, 0], 1)] * 2
    with compiled, pytest.raises(ConfigurationError, match="got 4 spikes in batch 0 for "
                                                           "max_spikes=3. Raise max_spikes"):
        compiled.evaluate({inp: x}, {out: [0, 0]}, callbacks=[])


def test_a_neuron_class_instead_of_an_object_names_the_fix():
    with Network(), pytest.raises(ConfigurationError,
                                  match=r"got the class LeakyIntegrate. Instantiate it"):
        Population(LeakyIntegrate, 3)


def test_a_wrong_synapse_object_is_refused():
    with SequentialNetwork():
        InputLayer(IntegrateFireInput(), 2)
        with pytest.raises(ConfigurationError, match="Connection synapse must be a Synapse"):
            Layer(Dense(1.0), LeakyIntegrate(), 2, synapse=Dense(1.0))
