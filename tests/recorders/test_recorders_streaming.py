"""Streaming to .npy files: same data as in memory, plain-numpy readable, crash-safe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _fake_backend import FakeBackend, FakeConn, FakePop, run

from spikehooks import Callback
from spikehooks.errors import CallbackError
from spikehooks_recorders import (
    ConnVarRecorder,
    SpikeHandle,
    SpikeRecorder,
    VarRecorder,
    open_recording,
)

T = 9


def make(nrt=None):
    a, b = FakePop("a", 37), FakePop("b", (2, 2))
    conn = FakeConn("ab", a, b)
    return FakeBackend([a, b], [conn], batch_size=3, num_timesteps=T,
                       num_recording_timesteps=nrt), a, b, conn


def recorders(folder=None):
    backend, a, b, conn = make(nrt=4)

    def to(name):
        return None if folder is None else folder / name

    recs = [SpikeRecorder(a, key="s", example_filter=[0, 2, 3, 7], to=to("s")),
            SpikeRecorder(b, key="c", record_counts=True, to=to("c")),
            VarRecorder(a, "v", key="v", neuron_filter=np.s_[::5], record_every=2, to=to("v")),
            ConnVarRecorder(conn, "weight", per="batch", key="w", to=to("w"))]
    return backend, recs


def test_streamed_equals_in_memory(tmp_path):
    backend, recs = recorders()
    ref = run(backend, recs, 8)
    backend, recs = recorders(tmp_path)
    got = run(backend, recs, 8)
    assert isinstance(got["s"], SpikeHandle)
    assert len(got["s"][0]) == 4 and len(got["v"]) == 8 and len(got["w"]) == 3
    for k in range(4):
        np.testing.assert_array_equal(got["s"][0][k], ref["s"][0][k])
        np.testing.assert_array_equal(got["s"][1][k], ref["s"][1][k])
        assert got["s"][1][k].dtype == np.int32
    for key in ("c", "v", "w"):
        for k, entry in enumerate(got[key]):
            np.testing.assert_array_equal(entry, ref[key][k])
            assert entry.dtype == ref[key][k].dtype


def test_handle_indexing_like_a_list(tmp_path):
    backend, recs = recorders(tmp_path)
    data = run(backend, recs, 8)
    times, ids = data["s"]
    assert len(data["s"]) == 2
    np.testing.assert_array_equal(times[-1], times[3])
    assert [len(x) for x in times[1:3]] == [len(times[1]), len(times[2])]
    assert len(list(data["v"])) == 8
    with pytest.raises(IndexError):
        times[4]
    assert data["s"].examples[:] == [0, 2, 3, 7]


def test_files_open_with_plain_numpy(tmp_path):
    backend, recs = recorders(tmp_path)
    data = run(backend, recs, 8)
    ends = np.load(tmp_path / "s" / "ends.npy")
    times = np.load(tmp_path / "s" / "times.npy")
    ids = np.load(tmp_path / "s" / "ids.npy")
    np.testing.assert_array_equal(times[ends[0]:ends[1]], data["s"][0][1])
    np.testing.assert_array_equal(ids[:ends[0]], data["s"][1][0])
    values = np.load(tmp_path / "v" / "values.npy")
    assert values.shape == (8, T // 2, 8) and values.dtype == np.float32
    meta = json.loads((tmp_path / "v" / "meta.json").read_text())
    assert meta["times_ms"] == [1.0, 3.0, 5.0, 7.0]
    assert np.load(tmp_path / "w" / "batches.npy").tolist() == [[-1, 0], [-1, 1], [-1, 2]]


class Crash(Callback):
    def on_batch_end(self, batch, metrics):
        if batch == 1:
            raise RuntimeError("boom")


def test_crash_leaves_complete_batches_readable(tmp_path):
    a = FakePop("a", 10)
    backend = FakeBackend([a], batch_size=2, num_timesteps=T)
    rec = VarRecorder(a, "v", key="v", to=tmp_path / "v")
    with pytest.raises(CallbackError) as err:
        run(backend, [rec, Crash()], 6)
    assert len(err.value.cb_data["v"]) == 4  # batches 0 and 1 complete
    assert np.load(tmp_path / "v" / "values.npy").shape == (4, T, 10)


def test_uncommitted_rows_are_ignored(tmp_path):
    a = FakePop("a", 10)
    backend = FakeBackend([a], batch_size=2, num_timesteps=T)
    rec = SpikeRecorder(a, key="s", to=tmp_path / "s")
    run(backend, [rec], 4)
    before = [x.copy() for x in open_recording(tmp_path / "s")[0]]
    # A crash after the data of a batch went out but before the commit:
    with open(tmp_path / "s" / "times.npy", "ab") as f:
        f.write(np.arange(50, dtype=np.float64).tobytes())
    with open(tmp_path / "s" / "ends.npy", "ab") as f:
        f.write(np.array([10**6], dtype=np.int64).tobytes())
    handle = open_recording(tmp_path / "s")
    assert len(handle[0]) == 4
    for x, y in zip(handle[0], before, strict=True):
        np.testing.assert_array_equal(x, y)
    assert np.load(tmp_path / "s" / "ends.npy").shape == (4,)


def test_memory_flat_when_streaming(tmp_path):
    backend, recs = recorders(tmp_path)
    run(backend, recs, 8)
    spikes = recs[0]
    assert spikes.example_indices == [] and spikes.held_bytes == 0
    assert recs[2].estimated_bytes == 3 * (T // 2) * 8 * 4  # one batch buffer


def test_rerun_replaces_folder(tmp_path):
    a = FakePop("a", 10)
    backend = FakeBackend([a], batch_size=2, num_timesteps=T)
    rec = VarRecorder(a, "v", key="v", to=tmp_path / "v")
    run(backend, [rec], 6)
    assert len(run(backend, [rec], 2)["v"]) == 2
