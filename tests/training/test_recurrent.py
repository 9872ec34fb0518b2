"""Recurrent (hidden -> hidden) connections in EventProp training, Dense and sparse."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

N_IN, N_HID, N_OUT, STEPS = 20, 24, 2, 60


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_OUT, n)
    x = []
    for label in labels:
        # Class 0 drives the first half of the inputs early, class 1 the second half late.
        ids = np.arange(N_IN // 2) + (N_IN // 2) * label
        times = rng.uniform(0, 15, ids.size) + 25 * label
        x.append(preprocess_spikes(times, ids, N_IN))
    return x, labels


def _network(recurrent):
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=N_IN * 4), N_IN)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), N_HID)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), N_OUT)
        Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5)), Exponential(5.0))
        rec = Connection(hid, hid, recurrent, Exponential(5.0))
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0))
    return net, inp, out, rec


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_recurrent_weights_train_and_the_network_learns(kind):
    recurrent = (Dense(Normal(mean=0.0, sd=0.1)) if kind == "dense"
                 else FixedProbability(0.3, Normal(mean=0.0, sd=0.2)))
    net, inp, out, rec = _network(recurrent)
    compiled = EventPropCompiler(example_timesteps=STEPS,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=Adam(0.02), batch_size=8, rng_seed=0).compile(net)
    x, labels = _data()
    key = f"{rec.name}/weight"
    with compiled:
        before = compiled.backend.get_learnable_state()[key].copy()
        mask = compiled.backend.get_weight_mask(rec)
        metrics, _ = compiled.train({inp: x}, {out: labels}, num_epochs=8, callbacks=[])
        after = compiled.backend.get_learnable_state()[key]
        clamped = compiled.clamped_jumps
    changed = after != before
    assert changed.any()
    if mask is not None:  # sparse: absent synapses stay exactly 0
        assert not after[~mask].any() and not changed[~mask].any()
        assert (~mask).any()
    assert metrics[out].result > 0.9
    assert clamped == 0


def test_recurrent_connection_on_an_input_population_is_refused():
    """Refused when the connection is made, long before any training."""
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=10), 4)
        with pytest.raises(ConfigurationError,
                           match="target must not be an input population; got 'pop0'"):
            Connection(inp, inp, Dense(Normal(mean=0.0, sd=0.1)), Exponential(5.0))
