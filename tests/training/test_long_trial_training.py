"""The issue's long-trial scenario through the public API: 600 timesteps, ~150 spikes per
hidden neuron, training only input -> hidden with SGD lowers the batch's loss.

Before the adjoint jump used discrete-consistent rates, this loss rose at every
step (and at every learning rate) while the 200-step version fell.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import SGD
from spikehooks.synapses import Exponential

N_IN, N_HID, N_OUT, BATCH = 100, 64, 10, 32


class _Freeze(Callback):
    """Put one connection's weights back after every update (train the others only)."""

    def __init__(self, compiled_net, key):
        self.compiled_net, self.key = compiled_net, key
        self.saved = None
        self.losses = []

    def on_batch_begin(self, batch):
        if self.saved is None:
            self.saved = self.compiled_net.backend.get_learnable_state()[self.key].copy()

    def on_batch_end(self, batch, metrics):
        self.compiled_net.backend.set_learnable_state({self.key: self.saved})

    def on_epoch_end(self, epoch, metrics):
        self.losses.append(self.compiled_net.epoch_loss)


def _data(num_steps, rng):
    proto = rng.uniform(0, 0.05, (N_OUT, N_IN))  # spikes per ms
    labels = rng.integers(0, N_OUT, BATCH)
    x = []
    for label in labels:
        counts = rng.poisson(proto[label] * num_steps)
        ids = np.repeat(np.arange(N_IN), counts)
        times = rng.uniform(0, num_steps - 2, ids.size)
        x.append(preprocess_spikes(times, ids, N_IN))
    return x, labels


@pytest.mark.parametrize("num_steps", [200, 600])
def test_training_only_input_to_hidden_lowers_loss_on_long_trials(num_steps):
    rng = np.random.default_rng(0)
    x, labels = _data(num_steps, rng)
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=100_000), N_IN)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None), N_HID)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), N_OUT)
        Connection(inp, hid, Dense(Normal(mean=0.5, sd=0.25)), Exponential(5.0))
        frozen = Connection(hid, out, Dense(Normal(mean=0.0, sd=0.3)), Exponential(5.0))
    compiler = EventPropCompiler(example_timesteps=num_steps,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=SGD(0.01), batch_size=BATCH, rng_seed=0)
    compiled_net = compiler.compile(network)
    with compiled_net:
        freeze = _Freeze(compiled_net, f"{frozen.name}/weight")
        compiled_net.train({inp: x}, {out: labels}, num_epochs=4, shuffle=False,
                           callbacks=[freeze])
        clamped = compiled_net.clamped_jumps
        hidden_spikes = compiled_net._recorder.spikes[1].sum() / (BATCH * N_HID)
    losses = np.array(freeze.losses)
    assert hidden_spikes > (100 if num_steps == 600 else 30)
    # Each epoch is one SGD step on the same batch; its loss is measured before the step.
    assert np.all(np.diff(losses) < 0), losses
    assert clamped == 0
