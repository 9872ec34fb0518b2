"""mlGeNN-style state access from callbacks: neuron_populations / connection_populations
views with pull_from_device / push_to_device, and compiled_net.genn_model."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import InferenceCompiler
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

W_IN = np.linspace(-0.5, 1.0, 12, dtype=np.float32).reshape(4, 3)


def _compiled(batch_size=2, hidden=None):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4)
        hid = Layer(hidden or Dense(W_IN.copy()), LeakyIntegrateFire(v_thresh=1.0), 3)
        out = Layer(Dense(np.ones((3, 2), dtype=np.float32)), LeakyIntegrate(readout="sum_var"), 2)
    compiled = InferenceCompiler(evaluate_timesteps=4, batch_size=batch_size).compile(network)
    return compiled, inp, hid, out


class ReadV(Callback):
    """Reads V of the hidden layer the mlGeNN way at the end of every timestep."""

    def __init__(self, pop):
        self.pop, self.seen = pop, []

    def set_params(self, compiled_network=None, **kwargs):
        self.net = compiled_network

    def on_timestep_end(self, timestep):
        var = self.net.neuron_populations[self.pop].vars["V"]
        var.pull_from_device()
        self.seen.append(var.view.copy())


@pytest.mark.parametrize(("batch_size", "shape"), [(1, (3,)), (2, (2, 3))])
def test_neuron_view_has_genns_shape_and_the_backends_values(batch_size, shape):
    compiled, inp, hid, out = _compiled(batch_size)
    reader = ReadV(hid)
    x = np.full((batch_size, 4), 0.6, dtype=np.float32)
    with compiled:
        compiled.evaluate({inp: x}, {out: np.zeros(batch_size, int)}, callbacks=[reader])
        final = compiled.backend.get_var(hid, "V")
    assert reader.seen[-1].shape == shape
    assert np.array_equal(reader.seen[-1].reshape(batch_size, 3), final)


def test_writing_a_weight_view_then_pushing_changes_the_simulation():
    compiled, inp, hid, out = _compiled()
    with compiled:
        g = compiled.connection_populations[hid.connection].vars["g"]
        g.pull_from_device()
        assert g.view.shape == (12,)
        assert np.array_equal(g.view, W_IN.ravel())
        g.view[:] = 0.0
        g.push_to_device()
        assert not compiled.backend.get_conn_var(hid.connection, "g").any()


def test_groups_are_found_by_object_or_name_and_unknown_ones_are_named():
    compiled, inp, hid, out = _compiled()
    with compiled:
        assert compiled.neuron_populations[hid] is compiled.neuron_populations["pop1"]
        assert sorted(compiled.neuron_populations[hid].vars) == ["V"]
        with pytest.raises(KeyError, match=r"\['pop0', 'pop1', 'pop2'\].*'nope'"):
            compiled.neuron_populations["nope"]


def test_sparse_weights_are_values_only_and_push_checks_absent_synapses():
    compiled, inp, hid, out = _compiled(hidden=FixedProbability(0.5, 1.0))
    with compiled:
        g = compiled.connection_populations[hid.connection].vars["g"]
        mask = compiled.backend.get_weight_mask(hid.connection)
        assert np.array_equal(g.values, np.ones(mask.sum(), dtype=np.float32))
        g.values = np.arange(mask.sum())
        assert np.array_equal(compiled.backend.get_conn_var(hid.connection, "g")[mask],
                              np.arange(mask.sum()))
        with pytest.raises(ConfigurationError, match=r"use \.values"):
            _ = g.view
        compiled.backend.live_weight(hid.connection)[0][~mask] = 1.0
        with pytest.raises(ConfigurationError, match="must be 0 where sparse"):
            g.push_to_device()


def test_values_of_the_wrong_size_are_refused():
    compiled, inp, hid, out = _compiled()
    with compiled:
        with pytest.raises(ConfigurationError, match="must have 12 entries"):
            compiled.connection_populations[hid.connection].vars["g"].values = np.zeros(5)


def test_genn_model_answers_facts_and_refuses_kernel_timings():
    compiled, *_ = _compiled(batch_size=2)
    with compiled:
        model = compiled.genn_model
        assert (model.batch_size, model.dt, model.timestep) == (2, 1.0, 0)
        with pytest.raises(ConfigurationError, match=r"neuron_update_time.*perf_counter"):
            _ = model.neuron_update_time
        with pytest.raises(ConfigurationError, match="get_custom_update_time"):
            model.get_custom_update_time("Reset")


def test_kernel_profiling_times_this_backends_phases():
    """kernel_profiling=True: mlGeNN's timing names read the phases timed here (seconds)."""
    from spikehooks import Connection, Network, Population
    from spikehooks.compilers import EventPropCompiler
    from spikehooks.compilers.event_prop_compiler import default_params
    from spikehooks.connectivity import Dense
    from spikehooks.data import preprocess_spikes
    from spikehooks.initializers import Normal
    from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
    from spikehooks.synapses import Exponential

    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=40), 4)
        hid = Population(LeakyIntegrateFire(tau_refrac=None), 8)
        out = Population(LeakyIntegrate(readout="avg_var"), 2)
        Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5)), Exponential(5.0))
        Connection(hid, out, Dense(Normal(sd=0.5)), Exponential(5.0))
    compiled = EventPropCompiler(20, "sparse_categorical_crossentropy", batch_size=2,
                                 kernel_profiling=True).compile(network)
    x = [preprocess_spikes(np.array([1.0, 3.0, 5.0, 7.0]), np.arange(4), 4)] * 4
    with compiled:
        model = compiled.genn_model
        assert model.neuron_update_time == 0.0
        compiled.train({inp: x}, {out: np.array([0, 1, 0, 1])}, num_epochs=2, callbacks=[])
        seconds = compiled.kernel_times.seconds
        assert model.neuron_update_time == seconds["simulate"] > 0.0
        for name, phase in (("Reset", "reset"), ("GradientBatchReduce", "backward"),
                            ("GradientLearn", "update")):
            assert model.get_custom_update_time(name) == seconds[phase] > 0.0
        assert np.isnan(model.presynaptic_update_time)
        assert np.isnan(model.get_custom_update_time("BatchSoftmax1"))
        with pytest.raises(ConfigurationError, match="only batch_size, dt"):
            _ = model.neuron_update_count
