"""kernel_profiling=True: genn_model's kernel timings are this backend's measured phases."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential


def _net():
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=40), 10)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 8)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2)
        Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5)), Exponential(5.0))
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0))
    rng = np.random.default_rng(0)
    x = [preprocess_spikes(rng.uniform(0, 20, 10), np.arange(10), 10) for _ in range(8)]
    return net, inp, out, x, rng.integers(0, 2, 8)


@pytest.mark.parametrize("backend", ["numpy", None])
def test_training_phases_are_timed_and_grow(backend):
    net, inp, out, x, labels = _net()
    compiled = EventPropCompiler(example_timesteps=30, losses="sparse_categorical_crossentropy",
                                 batch_size=4, kernel_profiling=True,
                                 backend=backend).compile(net)
    with compiled:
        model = compiled.genn_model
        assert model.neuron_update_time == 0.0 and model.presynaptic_update_time == 0.0
        compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
        first = {name: model.get_custom_update_time(name)
                 for name in ("GradientLearn", "Reset", "BatchSoftmax1")}
        neuron, pre = model.neuron_update_time, model.presynaptic_update_time
        assert neuron > 0.0 and pre > 0.0 and all(v > 0.0 for v in first.values())
        assert model.get_custom_update_time("GradientBatchReduce") == 0.0
        compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
        assert model.neuron_update_time > neuron and model.presynaptic_update_time > pre
        with pytest.raises(ConfigurationError, match="get_custom_update_time name must be one "
                                                     "of"):
            model.get_custom_update_time("Softmax9")


def test_inference_times_the_simulation_only():
    net, inp, out, x, labels = _net()
    compiled = InferenceCompiler(evaluate_timesteps=30, batch_size=4,
                                 kernel_profiling=True).compile(net)
    with compiled:
        compiled.evaluate({inp: x}, {out: labels})
        assert compiled.genn_model.neuron_update_time > 0.0
        assert compiled.genn_model.presynaptic_update_time == 0.0


def test_without_kernel_profiling_timings_are_refused():
    net, *_ = _net()
    compiled = InferenceCompiler(evaluate_timesteps=30).compile(net)
    with compiled, pytest.raises(ConfigurationError, match="needs kernel_profiling=True"):
        _ = compiled.genn_model.neuron_update_time
