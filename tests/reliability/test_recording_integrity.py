"""Reading back what we wrote: a damaged streamed recording raises RecordingError naming the file.

Every recording here is real (the small inference net streaming spikes and
voltages); damage is done to the files afterwards, at every byte where a
loop is cheap.  A damaged recording is never read short, and never fails
with a bare ``KeyError``, ``ValueError`` or ``JSONDecodeError``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _reliability_helpers import inference_net

from spikehooks_recorders import RecordingError, SpikeRecorder, VarRecorder, open_recording


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A spike and a voltage recording of 8 examples (4 batches), and the in-memory reference."""
    folder = tmp_path_factory.mktemp("rec")
    net = inference_net()
    with net["compiled"]:
        _, reference = net["compiled"].evaluate(
            {net["input"]: net["x"]}, {net["output"]: net["y"]},
            callbacks=[SpikeRecorder(net["hidden"], key="s"), VarRecorder(net["hidden"], "v",
                                                                          key="v")])
        net["compiled"].evaluate(
            {net["input"]: net["x"]}, {net["output"]: net["y"]},
            callbacks=[SpikeRecorder(net["hidden"], key="s", to=folder / "s"),
                       VarRecorder(net["hidden"], "v", key="v", to=folder / "v")])
    files = {kind: {p.name: p.read_bytes() for p in (folder / kind).iterdir()}
             for kind in ("s", "v")}
    return folder, reference, files


@pytest.fixture
def fresh(recorded, tmp_path):
    """A private copy of the recordings, to damage."""
    _, reference, files = recorded
    for kind, contents in files.items():
        (tmp_path / kind).mkdir()
        for name, data in contents.items():
            (tmp_path / kind / name).write_bytes(data)
    return tmp_path, reference


def _read_all(folder: Path) -> list:
    handle = open_recording(folder)
    if isinstance(handle, tuple):
        return [[np.array(t) for t in handle[0]], [np.array(i) for i in handle[1]],
                list(handle.examples)]
    return [[np.array(v) for v in handle], list(handle.examples)]


def test_an_intact_recording_reads_back_completely(fresh):
    folder, reference = fresh
    times, ids, examples = _read_all(folder / "s")
    assert len(times) == len(ids) == len(examples) == 8
    for k in range(8):
        np.testing.assert_array_equal(times[k], reference["s"][0][k])
        np.testing.assert_array_equal(ids[k], reference["s"][1][k])
    values, _ = _read_all(folder / "v")
    for k in range(8):
        np.testing.assert_array_equal(values[k], reference["v"][k])
    index = np.load(folder / "v" / "index.npy")
    assert index.shape == (4, 2, 2) and index.dtype == np.int64
    meta = json.loads((folder / "v" / "meta.json").read_text())
    assert meta["index_columns"] == ["examples", "values"]
    assert index[:, 1, 0].tolist() == [2, 4, 6, 8]          # rows of values after each batch


@pytest.mark.parametrize("kind", ["s", "v"])
def test_every_truncation_of_every_file_is_refused_naming_it(fresh, kind):
    folder, _ = fresh
    for path in sorted((folder / kind).glob("*.npy")):
        original = path.read_bytes()
        # Cut inside the data (headers are 256 bytes): every array row counts.
        step = max(1, (len(original) - 256) // 9)
        for cut in range(len(original) - 1, 255, -step):
            path.write_bytes(original[:cut])
            with pytest.raises(RecordingError) as info:
                _read_all(folder / kind)
            assert info.value.path == path, (path.name, cut, str(info.value))
            assert path.name in str(info.value)
        path.write_bytes(original)


@pytest.mark.parametrize("kind", ["s", "v"])
def test_every_flipped_data_byte_is_refused_naming_the_file(fresh, kind):
    folder, _ = fresh
    for path in sorted((folder / kind).glob("*.npy")):
        original = path.read_bytes()
        step = max(1, (len(original) - 256) // 13)
        for offset in range(256, len(original), step):
            damaged = bytearray(original)
            damaged[offset] ^= 0x01
            path.write_bytes(bytes(damaged))
            with pytest.raises(RecordingError) as info:
                _read_all(folder / kind)
            assert info.value.path == path, (path.name, offset, str(info.value))
        path.write_bytes(original)


@pytest.mark.parametrize("name", ["state.json", "meta.json"])
def test_every_truncation_of_the_json_files_is_refused_naming_it(fresh, name):
    folder, _ = fresh
    path = folder / "s" / name
    original = path.read_bytes()
    for cut in range(1, len(original), max(1, len(original) // 40)):
        path.write_bytes(original[:cut])
        with pytest.raises(RecordingError) as info:
            _read_all(folder / "s")
        assert info.value.path == path


@pytest.mark.parametrize("change", [
    lambda s: s["rows"].update(times=s["rows"]["times"] + 1),
    lambda s: s["rows"].pop("ids"),
    lambda s: s.update(complete_batches=3),
    lambda s: s.update(index_crc32="x"),
    lambda s: s.update(rows=[]),
], ids=["more-rows-than-written", "array-missing", "fewer-batches", "crc-not-a-number",
        "rows-a-list"])
def test_an_inconsistent_state_is_refused_naming_a_file(fresh, change):
    folder, _ = fresh
    path = folder / "s" / "state.json"
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))
    with pytest.raises(RecordingError) as info:
        _read_all(folder / "s")
    assert info.value.path.parent == folder / "s"
    assert info.value.path.name in str(info.value)


def test_a_recording_of_a_newer_version_is_refused(fresh):
    folder, _ = fresh
    path = folder / "v" / "meta.json"
    meta = json.loads(path.read_text())
    meta["version"] = 99
    path.write_text(json.dumps(meta))
    with pytest.raises(RecordingError, match="version 2 or older; got version 99"):
        open_recording(folder / "v")
