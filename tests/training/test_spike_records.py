"""Per-spike records of the compiled EventProp path: they hold exactly the dense forward
arrays, survive growing mid-batch, give the dense path's gradients bit for bit, and the
sweep's skip over silent steps equals stepping through them."""

from __future__ import annotations

import numpy as np
import pytest
from _eventprop_nets import chain, latency_input, weights

from spikehooks.losses import RelativeMeanSquareError, SparseCategoricalCrossentropy
from spikehooks.training._drive import output_drive
from spikehooks.training._forward import forward
from spikehooks.training._spike_records import SpikeRecordsData

LABELS = np.array([0, 1, 2])


def _ttfs_forward(dt=0.5, seed=4):
    graph = chain(dt, readout="first_spike_time")
    times = np.random.default_rng(seed).uniform(0, 12, size=(3, 10))
    ws = weights(2, [(10, 12), (12, 3)], [1.2, 1.0], [0.8, 1.0])
    return graph, ws, forward(graph, ws, latency_input(times, dt, graph.num_steps))


def test_records_of_a_dense_forward_pass_give_back_the_same_arrays():
    _, _, fwd = _ttfs_forward()
    assert fwd.currents is not None
    records = SpikeRecordsData.from_dense(fwd.spikes, fwd.denominators, fwd.currents)
    spikes, dens, currents = records.dense()
    assert records.counts.sum() == sum(int(s.sum()) for s in fwd.spikes) > 20
    for got, want in zip((spikes, dens, currents), (fwd.spikes, fwd.denominators, fwd.currents),
                         strict=True):
        for g, w in zip(got, want, strict=True):
            if w is None:
                assert g is None
                continue
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w)
    # Per layer: spike counts of the first two entries, and the first spike of each output.
    for counted, s in zip(records.spike_counts(2), fwd.spikes, strict=True):
        np.testing.assert_array_equal(counted, s[:, :2].sum(axis=(0, 1)))
    out = fwd.spikes[2]
    first = np.where(out.any(axis=0), np.argmax(out, axis=0), -1)
    np.testing.assert_array_equal(records.first_spikes(2), first)
    np.testing.assert_array_equal(records.first_spikes(2), fwd.event_step)


pytest.importorskip("numba")

from spikehooks.training import _backward_compiled, _spike_records  # noqa: E402


def _random_records(seed, density, batch=4, steps=9, sizes=(3, 5, 2), silent_entries=()):
    """Records of a random raster (some entries silent), shuffled within each entry."""
    rng = np.random.default_rng(seed)
    spikes = [rng.random((steps, batch, n)) < density for n in sizes]
    for s in spikes:
        s[:, list(silent_entries)] = False
    floats = [rng.random(s.shape).astype(np.float32) for s in spikes]
    records = SpikeRecordsData.from_dense(spikes, floats, floats)
    for b, n in enumerate(records.counts):
        order = rng.permutation(n)
        records.rec_i[b, :n] = records.rec_i[b, :n][order]
    return records


@pytest.mark.parametrize("density, silent", [(0.0, ()), (1.0, ()), (0.2, (1, 3)),
                                             (0.05, (0,))])
def test_compiled_record_scans_equal_the_numpy_code(density, silent, monkeypatch):
    """First spikes and spike counts per layer, compiled against NumPy: no spikes, every
    neuron spiking every step, silent (padding) entries, records in any order, records
    past the trial's end."""
    records = _random_records(7, density, silent_entries=silent)
    # A record at the trial's last step + 1 (only a longer run writes one) is no spike.
    records.num_steps -= 1
    got = ([records.first_spikes(layer) for layer in range(3)],
           [records.spike_counts(real) for real in (0, 2, 4, 9)])
    monkeypatch.setattr(_spike_records, "_KERNELS", False)
    want = ([records.first_spikes(layer) for layer in range(3)],
            [records.spike_counts(real) for real in (0, 2, 4, 9)])
    for g, w in zip(got[0], want[0], strict=True):
        assert g.dtype == w.dtype == np.int64
        np.testing.assert_array_equal(g, w)
    for g_list, w_list in zip(got[1], want[1], strict=True):
        for g, w in zip(g_list, w_list, strict=True):
            assert g.dtype == w.dtype == np.int64
            np.testing.assert_array_equal(g, w)
    if density == 1.0:
        assert (got[0][1] == 0).all() and (got[1][2][0] == 4 * 9).all()
    if density == 0.0:
        assert (got[0][0] == -1).all() and not any(c.any() for c in got[1][3])
from spikehooks.training._backward_compiled import backward_compiled  # noqa: E402


@pytest.mark.parametrize("loss", [SparseCategoricalCrossentropy(), RelativeMeanSquareError(2.0)])
@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_skipping_silent_steps_equals_stepping_through_them(loss, threads, monkeypatch):
    graph, ws, fwd = _ttfs_forward(dt=0.1)
    _, drive = output_drive("first_spike_time", fwd, LABELS, loss, num_steps=graph.num_steps,
                            dt=graph.dt, ttfs_alpha=0.01)
    skipped = backward_compiled(graph, ws, fwd, drive, min_denominator=0.05,
                                num_threads=threads)
    monkeypatch.setattr(_backward_compiled, "_powers", lambda *args: _backward_compiled._NO_POWERS)
    stepped = backward_compiled(graph, ws, fwd, drive, min_denominator=0.05,
                                num_threads=threads)
    assert skipped.clamped == stepped.clamped
    for s, e in zip(skipped.gradients, stepped.gradients, strict=True):
        assert np.abs(e).max() > 0
        # Only float64 rounding differs (alpha^k q against k products).
        np.testing.assert_allclose(s, e, rtol=1e-11, atol=1e-15)


def test_borrowed_view_shares_the_array_and_is_not_counted():
    from numba import njit

    from spikehooks.backends.compiled_backend._borrow import borrowed

    @njit
    def fill_through_view(a):
        view = borrowed(a)
        for i in range(view.shape[0]):
            view[i, 1] = i
        return view.sum()

    a = np.zeros((5, 2))
    assert fill_through_view(a) == 10.0
    np.testing.assert_array_equal(a[:, 1], np.arange(5.0))


# ------------------------------------------- the compiled backend's records, end to end
def _compiled_first_batch(backend, monkeypatch=None, capacity=None):
    """Records, readout and dense arrays of the first batch of the long-trial test network."""
    import test_compiled_long_trials as trials

    if capacity is not None:
        from spikehooks.backends.compiled_backend import _records

        monkeypatch.setattr(_records, "INITIAL_CAPACITY", capacity)
    compiled, inp, _ = trials._compile(backend)
    x, _ = trials._data()
    with compiled:
        compiled.start_batch(np.arange(8), {inp: x})
        recorder = compiled._recorder
        recorder.begin()
        if getattr(recorder, "needs_observer", True):
            compiled._observing = True
            compiled.backend.add_step_observer(compiled._observe)
        compiled.backend.run(trials.STEPS)
        fwd = recorder.result()
        weights_now = [compiled.backend.get_weight(c) for c in compiled.network.connections]
        return compiled.graph, weights_now, fwd


def test_records_growing_mid_batch_keep_every_spike(monkeypatch):
    """A capacity far too small: entries stop, the records grow, the entries resume."""
    _, _, roomy = _compiled_first_batch(("compiled", {"num_threads": 1}))
    for threads in (1, 2):
        _, _, tight = _compiled_first_batch(("compiled", {"num_threads": threads}),
                                            monkeypatch, capacity=1)
        assert tight.records is not None and roomy.records is not None
        # Capacity 36 (one step's worth: 36 recorded neurons): every entry stopped, grown.
        assert tight.records.rec_i.shape[1] >= 2 * 36 > roomy.records.counts.max() > 20
        assert tight.readout.tobytes() == roomy.readout.tobytes()
        np.testing.assert_array_equal(tight.records.counts, roomy.records.counts)
        for b, n in enumerate(roomy.records.counts):
            np.testing.assert_array_equal(tight.records.rec_i[b, :n], roomy.records.rec_i[b, :n])
            np.testing.assert_array_equal(tight.records.rec_f[b, :n], roomy.records.rec_f[b, :n])


def test_gradients_from_the_compiled_records_equal_those_from_the_dense_numpy_pass():
    """The same batch through both backends: the sweep's gradients bit for bit."""
    graph, ws, dense = _compiled_first_batch("numpy")
    _, _, recorded = _compiled_first_batch(("compiled", {"num_threads": 2}))
    assert dense.records is None and recorded.records is not None
    labels = np.arange(8) % 2
    drives = [output_drive("avg_var_exp_weight", f, labels, SparseCategoricalCrossentropy(),
                           num_steps=graph.num_steps, dt=graph.dt)[1] for f in (dense, recorded)]
    want = backward_compiled(graph, ws, dense, drives[0], min_denominator=0.05)
    got = backward_compiled(graph, ws, recorded, drives[1], min_denominator=0.05,
                            num_threads=2)
    assert got.clamped == want.clamped
    for g, w in zip(got.gradients, want.gradients, strict=True):
        assert np.abs(w).max() > 0
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("readout", ["max_var", "sum_var", "avg_var_exp_weight"])
def test_compiled_records_give_the_numpy_recorders_forward_result(readout):
    """Readout, event steps (max_var's step of VMax), spikes, I and I - V, bit for bit."""
    import test_train_loop as loop
    from _forward_trace import record_forward

    results = []
    for backend in ("numpy", ("compiled", {"num_threads": 2})):
        net, inp, _ = loop._compiled(batch_size=8, backend=backend, readout=readout)
        x, _ = loop._data(8)
        with net:
            results.append(record_forward(net, {inp: x}, 8, loop.STEPS))
    want, got = results
    assert want.records is None and got.records is not None
    assert got.readout.tobytes() == want.readout.tobytes()
    np.testing.assert_array_equal(got.event_step, want.event_step)
    if readout == "max_var":
        assert (got.event_step > 0).any()
    for g_list, w_list in ((got.spikes, want.spikes), (got.denominators, want.denominators),
                           (got.currents, want.currents)):
        for g, w in zip(g_list, w_list, strict=True):
            if w is None:
                assert g is None
                continue
            np.testing.assert_array_equal(g, w)
    assert want.spikes[1].sum() > 50
