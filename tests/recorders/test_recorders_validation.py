"""Recorders among the validation callbacks of ``train``: mlGeNN's data layout.

mlGeNN 2.4.0 makes a recorder's lists once per ``train`` call and never
clears them; its validation callbacks get ``on_test_begin`` once and epoch
hooks around every pass, so a validation recorder holds every pass, in
order, with its example filter counted from the first held-out example in
every pass.
"""

from __future__ import annotations

import numpy as np

from spikehooks import EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential
from spikehooks_recorders import SpikeRecorder, VarRecorder

EPOCHS, NUM, HELD = 3, 20, 5


def _compiled():
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 12)
        hidden = Layer(Dense(Normal(mean=0.3, sd=0.3)),
                       LeakyIntegrateFire(tau_mem=20.0, relative_reset=False), 10,
                       Exponential(5.0), record_spikes=True)
        out = Layer(Dense(Normal(sd=0.5)), LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 3)
    compiler = EventPropCompiler(example_timesteps=25, losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.05}), batch_size=4, rng_seed=2)
    return compiler.compile(network), inp, hidden, out


def _data():
    rng = np.random.default_rng(11)
    return rng.uniform(0.5, 1.5, (NUM, 12)).astype(np.float32), rng.integers(0, 3, NUM)


def _recorders(hidden):
    # Held-out examples 1, 2 and 4 of every pass (5 held out: batches of 4 and 1).
    return [SpikeRecorder(hidden, key="s", example_filter=[1, 2, 4]),
            VarRecorder(hidden, "v", key="v", example_filter=[1, 2, 4])]


def test_validation_recorders_hold_every_pass_as_mlgenn_lays_them_out():
    compiled, inp, hidden, out = _compiled()
    x, y = _data()
    states = []

    class Snapshot:
        def on_epoch_end(self, epoch, metrics):
            states.append(compiled.state_dict())

    recorders = _recorders(hidden)
    with compiled:
        *_, val_data = compiled.train({inp: x}, {out: y}, num_epochs=EPOCHS,
                                      callbacks=[Snapshot()], validation_callbacks=recorders,
                                      validation_split=HELD / NUM)
    times, ids = val_data["s"]
    # One entry per recorded example per pass: 3 passes x 3 examples, pass by pass.
    assert len(times) == len(ids) == len(val_data["v"]) == EPOCHS * 3
    assert recorders[0].example_indices == [1, 2, 4] * EPOCHS
    assert all(t.dtype == np.float64 for t in times) and all(i.dtype == np.int32 for i in ids)
    assert sum(len(t) for t in times) > 0
    assert all(v.shape == (25, 10) and v.dtype == np.float32 for v in val_data["v"])
    # Each pass's entries are what evaluating the held-out examples with that epoch's
    # weights records, bit for bit.
    fresh, inp2, hidden2, out2 = _compiled()
    for epoch, state in enumerate(states):
        fresh.load_state_dict(state)
        again = _recorders(hidden2)
        with fresh:
            _, data = fresh.evaluate({inp2: x[NUM - HELD:]}, {out2: y[NUM - HELD:]},
                                     callbacks=again)
        rows = slice(3 * epoch, 3 * epoch + 3)
        for got, expected in zip([*times[rows], *ids[rows]], [*data["s"][0], *data["s"][1]],
                                 strict=True):
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        for got, expected in zip(val_data["v"][rows], data["v"], strict=True):
            np.testing.assert_array_equal(got, expected)
    # The passes differ: the network learned between them.
    assert not all(np.array_equal(a, b) for a, b in zip(val_data["v"][:3], val_data["v"][-3:],
                                                         strict=True))


def test_validation_recorder_epochs_filter_counts_passes_by_epoch():
    compiled, inp, hidden, out = _compiled()
    x, y = _data()
    only = SpikeRecorder(hidden, key="s", epochs=[1], example_filter=[0])
    with compiled:
        *_, val_data = compiled.train({inp: x}, {out: y}, num_epochs=EPOCHS, start_epoch=0,
                                      callbacks=[], validation_callbacks=[only],
                                      validation_split=HELD / NUM)
    assert only.example_indices == [0] and len(val_data["s"][0]) == 1
