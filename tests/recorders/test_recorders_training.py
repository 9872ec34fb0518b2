"""Recorders during EventProp training: epochs=, phase=, weights per batch."""

from __future__ import annotations

import numpy as np

from spikehooks import EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential
from spikehooks_recorders import ConnVarRecorder, SpikeRecorder, VarRecorder


def test_training_records_selected_epochs_and_phases():
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 1.5, (12, 20)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 20, record_spikes=True)
        hidden = Layer(Dense(Normal(mean=0.3, sd=0.3)),
                       LeakyIntegrateFire(tau_mem=20.0, relative_reset=False), 10,
                       Exponential(5.0), record_spikes=True)
        out = Layer(Dense(Normal(sd=0.5)), LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 3)
    compiler = EventPropCompiler(example_timesteps=30, losses="sparse_categorical_crossentropy",
                                 batch_size=4)
    conn = hidden.incoming[0]
    weights = ConnVarRecorder(conn, "weight", per="batch", key="w", epochs=[0, 2])
    spikes = SpikeRecorder(hidden, key="s", epochs=lambda e: e == 1, example_filter=[0])
    test_only = VarRecorder(hidden, "v", key="v", phase="test")
    with compiler.compile(network) as compiled:
        _, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=3, shuffle=False,
                                    callbacks=[weights, spikes, test_only])
        final = np.array(compiled.backend.get_conn_var(conn, "weight"))
    assert weights.batches == [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1), (2, 2)]
    assert not np.array_equal(cb_data["w"][0], cb_data["w"][1])  # the optimiser moved them
    np.testing.assert_array_equal(cb_data["w"][-1], final)
    assert spikes.example_indices == [0] and len(cb_data["s"][0]) == 1
    assert cb_data["v"] == []
