"""SpikeRecorder against the fake backend: layout, filters, shared pulls, windows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _fake_backend import FakeBackend, FakePop, expected_spikes, raster, run

from spikehooks.errors import ConfigurationError
from spikehooks_recorders import BYTES_PER_SPIKE, SpikeRecorder

T = 12


def make(batch_size=4, nrt=None, pops=None):
    pops = pops or [FakePop("a", 40), FakePop("b", (3, 5))]
    return FakeBackend(pops, batch_size=batch_size, num_timesteps=T, dt=0.5,
                       num_recording_timesteps=nrt), pops


def test_layout_dtypes_and_values():
    backend, (a, _) = make()
    data = run(backend, [SpikeRecorder(a, key="s")], num_examples=6)
    times, ids = data["s"]
    assert len(times) == len(ids) == 6
    for e in range(6):
        exp_t, exp_i = expected_spikes(a, e, T, dt=0.5)
        assert times[e].dtype == np.float64 and ids[e].dtype == np.int32
        np.testing.assert_array_equal(times[e], exp_t)
        np.testing.assert_array_equal(ids[e], exp_i)


def test_ids_ascending_within_timestep():
    backend, (a, _) = make()
    times, ids = run(backend, [SpikeRecorder(a, key="s")], num_examples=2)["s"]
    for t, i in zip(times, ids, strict=True):
        order = np.lexsort((i, t))
        np.testing.assert_array_equal(order, np.arange(len(t)))


def test_nd_population_flat_c_order_ids():
    backend, (_, b) = make()
    times, ids = run(backend, [SpikeRecorder(b, key="s")], num_examples=1)["s"]
    steps, flat = np.nonzero(raster(b, 0, T))
    np.testing.assert_array_equal(ids[0], flat)


def test_requires_record_spikes():
    silent = FakePop("quiet", 5, record_spikes=False)
    backend, _ = make(pops=[silent])
    with pytest.raises(ConfigurationError, match="Set record_spikes=True on 'quiet'"):
        run(backend, [SpikeRecorder(silent, key="s")], num_examples=1)


def test_one_pull_per_batch_shared_by_all_recorders():
    backend, (a, b) = make()
    run(backend, [SpikeRecorder(a, key="x"), SpikeRecorder(b, key="y"),
                  SpikeRecorder(a, key="z", neuron_filter=[1, 2])], num_examples=8)
    assert backend.num_recording_pulls == 2


def test_windows_pulled_mid_batch_give_same_data():
    whole, (a, _) = make()
    windowed, _ = make(nrt=5)
    ref = run(whole, [SpikeRecorder(a, key="s")], num_examples=5)["s"]
    got = run(windowed, [SpikeRecorder(a, key="s"), SpikeRecorder(a, key="t")],
              num_examples=5)
    for k in range(5):
        np.testing.assert_array_equal(got["s"][0][k], ref[0][k])
        np.testing.assert_array_equal(got["t"][1][k], ref[1][k])
    assert windowed.num_recording_pulls == 2 * 3  # 12 steps in windows of 5


def test_window_hook_only_when_needed():
    backend, (a, _) = make()
    rec = SpikeRecorder(a, key="s")
    run(backend, [rec], num_examples=1)
    assert "on_timestep_end" not in vars(rec)


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_same_recording_for_any_batch_size(batch_size):
    ref_backend, (a, _) = make(batch_size=1)
    ref = run(ref_backend, [SpikeRecorder(a, key="s", example_filter=[1, 4, 6])], 9)["s"]
    backend, _ = make(batch_size=batch_size)
    got = run(backend, [SpikeRecorder(a, key="s", example_filter=[6, 1, 4])], 9)["s"]
    assert len(got[0]) == 3
    for k in range(3):
        np.testing.assert_array_equal(got[0][k], ref[0][k])
        np.testing.assert_array_equal(got[1][k], ref[1][k])


def test_callback_order_does_not_matter():
    recordings = []
    for order in itertools.permutations(range(3)):
        backend, (a, b) = make(nrt=4)
        recs = [SpikeRecorder(a, key="a"), SpikeRecorder(b, key="b"),
                SpikeRecorder(a, key="c", record_counts=True)]
        recordings.append(run(backend, [recs[i] for i in order], num_examples=5))
    for other in recordings[1:]:
        for k in range(5):
            np.testing.assert_array_equal(other["a"][0][k], recordings[0]["a"][0][k])
            np.testing.assert_array_equal(other["b"][1][k], recordings[0]["b"][1][k])
            np.testing.assert_array_equal(other["c"][k], recordings[0]["c"][k])


def test_example_filter_selects_and_remembers_indices():
    backend, (a, _) = make()
    rec = SpikeRecorder(a, key="s", example_filter=[True, False, True])
    times, ids = run(backend, [rec], num_examples=9)["s"]
    assert rec.example_indices == [0, 2]
    np.testing.assert_array_equal(ids[1], expected_spikes(a, 2, T)[1])


def test_neuron_filter_keeps_original_ids():
    backend, (a, _) = make()
    times, ids = run(backend, [SpikeRecorder(a, key="s", neuron_filter=np.s_[30:])], 2)["s"]
    exp_t, exp_i = expected_spikes(a, 1, T, dt=0.5, ids=np.arange(30, 40))
    np.testing.assert_array_equal(ids[1], exp_i)
    np.testing.assert_array_equal(times[1], exp_t)


def test_counts_per_selected_neuron():
    backend, (_, b) = make()
    counts = run(backend, [SpikeRecorder(b, key="c", record_counts=True,
                                         neuron_filter=np.index_exp[1:, 2])], 3)["c"]
    expected = raster(b, 2, T).reshape(T, 3, 5)[:, 1:, 2].sum(axis=0)
    assert counts[2].dtype == np.int64
    np.testing.assert_array_equal(counts[2], expected)


def test_partial_last_batch():
    backend, (a, _) = make(batch_size=4)
    times, ids = run(backend, [SpikeRecorder(a, key="s")], num_examples=5)["s"]
    assert len(ids) == 5
    np.testing.assert_array_equal(ids[4], expected_spikes(a, 4, T)[1])


def test_sparse_activity_held_as_twelve_bytes_per_spike():
    sparse = FakePop("sparse", 300, rate=0.005)
    backend, _ = make(pops=[sparse])
    rec = SpikeRecorder(sparse, key="s")
    times, ids = run(backend, [rec], num_examples=4)["s"]
    spikes = sum(len(t) for t in times)
    assert spikes > 0 and rec.held_bytes == BYTES_PER_SPIKE * spikes


def test_dense_activity_held_as_bits():
    dense = FakePop("dense", 64, rate=0.5)
    backend, _ = make(pops=[dense])
    rec = SpikeRecorder(dense, key="s")
    times, ids = run(backend, [rec], num_examples=4)["s"]
    spikes = sum(len(t) for t in times)
    assert rec.held_bytes == 4 * T * 2 * 4  # 4 examples x T steps x 2 words
    assert rec.held_bytes < BYTES_PER_SPIKE * spikes / 4
    np.testing.assert_array_equal(ids[3], expected_spikes(dense, 3, T)[1])


def test_spike_lists_index_slice_and_iterate_alike():
    backend, (a, _) = make()
    times, ids = run(backend, [SpikeRecorder(a, key="s")], num_examples=6)["s"]
    listed = list(ids)
    assert len(listed) == 6
    for k in range(6):
        np.testing.assert_array_equal(listed[k], ids[k])
    np.testing.assert_array_equal(ids[-1], listed[5])
    assert [len(t) for t in times[1:3]] == [len(listed[1]), len(listed[2])]
    with pytest.raises(IndexError):
        ids[6]


def test_out_of_range_example_filter_refused_at_set_up():
    backend, (a, _) = make()
    with pytest.raises(ConfigurationError, match="example_filter must index examples 0..7"):
        run(backend, [SpikeRecorder(a, key="s", example_filter=8)], num_examples=8)


def test_neuron_filter_checked_at_construction():
    with pytest.raises(ConfigurationError, match="'a' of shape \\(40,\\)"):
        SpikeRecorder(FakePop("a", 40), neuron_filter=[40])


def test_new_run_starts_fresh():
    backend, (a, _) = make()
    rec = SpikeRecorder(a, key="s")
    run(backend, [rec], num_examples=3)
    assert len(run(backend, [rec], num_examples=2)["s"][0]) == 2
