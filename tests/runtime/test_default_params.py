"""mlGeNN's ``SequentialNetwork(default_params)``."""

from __future__ import annotations

import pytest

from spikehooks import ConfigurationError, InputLayer, Layer, Network, SequentialNetwork
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential


def _eventprop_network(hidden_neuron):
    network = SequentialNetwork(default_params)
    with network:
        InputLayer(SpikeInput(), 4)
        hidden = Layer(Dense(0.1), hidden_neuron(), 3, Exponential(5.0))
        output = Layer(Dense(0.1), "leaky_integrate", 2, "exponential")
    return hidden, output


def test_defaults_fill_arguments_not_passed():
    hidden, output = _eventprop_network(lambda: LeakyIntegrateFire(tau_mem=10.0))
    assert (hidden.neuron.relative_reset, hidden.neuron.integrate_during_refrac,
            hidden.neuron.scale_i, hidden.neuron.tau_mem) == (False, False, True, 10.0)
    assert hidden.connection.synapse.scale_i is True
    assert isinstance(output.neuron, LeakyIntegrate) and output.neuron.scale_i is True


def test_explicit_arguments_win_over_defaults():
    hidden, _ = _eventprop_network(lambda: LeakyIntegrateFire(scale_i=False))
    assert hidden.neuron.scale_i is False
    assert hidden.neuron.relative_reset is False


def test_models_built_outside_the_network_keep_their_own_defaults():
    with SequentialNetwork(default_params):
        pass
    assert LeakyIntegrateFire().relative_reset is True


def test_unknown_default_argument_is_refused_naming_class_and_arguments():
    with pytest.raises(ConfigurationError, match=r"LeakyIntegrateFire must name constructor "
                                                 r"arguments .*got \['scale'\]"):
        Network({LeakyIntegrateFire: {"scale": True}})


def test_default_params_keys_must_be_classes():
    with pytest.raises(ConfigurationError, match="Use the class itself"):
        SequentialNetwork({"leaky_integrate_fire": {"scale_i": True}})
