"""The numpy serialiser: round trips, the on-disk layout, and refusing damaged files."""

from __future__ import annotations

import hashlib
import io
import json
import math

import numpy as np
import pytest

from spikehooks import registry
from spikehooks.errors import ConfigurationError, NotCompiledError
from spikehooks.serialisers import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    CheckpointError,
    NumpySerialiser,
    load,
    load_learnable,
    save,
)
from spikehooks.serialisers._tree import canonical


def _state():
    return {
        "learnable": {
            "hidden/weight": np.arange(12, dtype=np.float32).reshape(3, 4),
            "out/weight": np.linspace(-1, 1, 5).astype(np.float32),
        },
        "training": {
            "optimisers": [
                {
                    "params": {"alpha": 0.001, "beta1": np.float32(0.9)},
                    "arrays": {"m/hidden/weight": np.ones((3, 4), np.float64)},
                    "step": 7,
                }
            ],
            "rng": np.random.default_rng(3).bit_generator.state,
            "epoch": 4,
            "pair": (1, "a"),
            "by_int": {2: [True, None]},
            "inf": math.inf,
        },
    }


@pytest.fixture
def ser(tmp_path):
    return NumpySerialiser(tmp_path)


def _data_file(folder, group):
    (path,) = folder.glob(f"{group}-*.npz")
    return path


def test_round_trip_keeps_values_types_and_dtypes(ser):
    ser.save(("ck", 4), _state())
    out = ser.load(("ck", 4))
    np.testing.assert_array_equal(out["learnable"]["hidden/weight"], np.arange(12).reshape(3, 4))
    assert out["learnable"]["hidden/weight"].dtype == np.float32
    params = out["training"]["optimisers"][0]["params"]
    assert params["alpha"] == 0.001 and type(params["alpha"]) is float
    assert params["beta1"] == np.float32(0.9) and type(params["beta1"]) is np.float32
    assert out["training"]["rng"] == np.random.default_rng(3).bit_generator.state
    assert out["training"]["pair"] == (1, "a")
    assert out["training"]["by_int"] == {2: [True, None]}
    assert out["training"]["inf"] == math.inf


def test_keys_map_to_nested_folders(ser, tmp_path):
    folder = ser.save(("runs", "a", 5), {"learnable": {"c/w": np.zeros(2, np.float32)}})
    assert folder == tmp_path / "runs" / "a" / "5"
    assert ser.list_keys(("runs", "a")) == ["5"]


def test_weights_file_opens_with_plain_numpy(ser):
    folder = ser.save(("ck", 1), _state())
    with np.load(_data_file(folder, "learnable"), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["hidden/weight", "out/weight"]
        np.testing.assert_array_equal(npz["out/weight"], np.linspace(-1, 1, 5).astype(np.float32))


def test_manifest_records_shapes_dtypes_and_file_hashes(ser):
    folder = ser.save(("ck", 1), _state())
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["keys"] == ["ck", "1"]
    path = _data_file(folder, "learnable")
    entry = manifest["files"][path.name]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["arrays"]["hidden/weight"] == {"shape": [3, 4], "dtype": "<f4"}


def test_missing_manifest_is_refused_naming_it(ser):
    folder = ser.save(("ck", 1), _state())
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(CheckpointError, match="manifest.json does not exist") as info:
        ser.load(("ck", 1))
    assert info.value.path == folder / MANIFEST_NAME


def test_truncated_file_is_refused_naming_it(ser):
    folder = ser.save(("ck", 1), _state())
    path = _data_file(folder, "training")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="does not match the SHA-256") as info:
        ser.load(("ck", 1))
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_flipped_byte_is_refused_naming_the_file(ser):
    folder = ser.save(("ck", 1), _state())
    path = _data_file(folder, "learnable")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as info:
        ser.load(("ck", 1))
    assert info.value.path == path


def test_edited_manifest_is_refused(ser):
    folder = ser.save(("ck", 1), _state())
    manifest = folder / MANIFEST_NAME
    manifest.write_text(manifest.read_text().replace('"epoch": 4', '"epoch": 5'))
    with pytest.raises(CheckpointError, match="does not match its own SHA-256") as info:
        ser.load(("ck", 1))
    assert info.value.path == manifest


def test_garbage_manifest_is_refused(ser):
    folder = ser.save(("ck", 1), _state())
    (folder / MANIFEST_NAME).write_bytes(b'{"format": "spike')
    with pytest.raises(CheckpointError, match="not a valid manifest"):
        ser.load(("ck", 1))


def test_pickled_array_is_refused_even_with_a_forged_manifest(ser):
    folder = ser.save(("ck", 1), {"learnable": {"c/w": np.zeros(2, np.float32)}})
    path = _data_file(folder, "learnable")
    buffer = io.BytesIO()
    np.savez(buffer, **{"c/w": np.array([{"evil": 1}, None], dtype=object)})
    data = buffer.getvalue()
    path.write_bytes(data)
    manifest_path = folder / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest.pop("manifest_sha256")
    manifest["files"][path.name].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    manifest["manifest_sha256"] = hashlib.sha256(canonical(manifest)).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="not a readable npz") as info:
        ser.load(("ck", 1))
    assert info.value.path == path


def test_object_arrays_are_refused_at_save(ser):
    with pytest.raises(ConfigurationError, match="'x/y' must be a numeric array"):
        ser.save(("ck", 1), {"x": {"y": np.array([None], dtype=object)}})


def test_unsupported_values_are_refused_at_save(ser):
    with pytest.raises(ConfigurationError, match="got set"):
        ser.save(("ck", 1), {"x": {1, 2}})


def test_saving_again_replaces_and_removes_the_old_generation(ser):
    ser.save(("best",), {"learnable": {"c/w": np.zeros(3, np.float32)}})
    folder = ser.save(("best",), {"learnable": {"c/w": np.ones(3, np.float32)}})
    assert len(list(folder.glob("learnable-*.npz"))) == 1
    np.testing.assert_array_equal(ser.load(("best",))["learnable"]["c/w"], np.ones(3))


def test_a_failed_write_leaves_the_previous_checkpoint(ser, monkeypatch):
    ser.save(("best",), {"learnable": {"c/w": np.zeros(3, np.float32)}})

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr("spikehooks.serialisers._durable.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        ser.save(("best",), {"learnable": {"c/w": np.ones(3, np.float32)}})
    monkeypatch.undo()
    np.testing.assert_array_equal(ser.load(("best",))["learnable"]["c/w"], np.zeros(3))
    assert not list(ser.folder(("best",)).glob(".*.tmp"))


def test_delete_invalidates_then_removes(ser):
    ser.save(("ck", 1), _state())
    ser.save(("ck", 2), _state())
    ser.delete(("ck", 1))
    assert ser.list_keys(("ck",)) == ["2"]


def test_numpy_is_registered_by_name():
    assert isinstance(registry.create("serialisers", "numpy"), NumpySerialiser)


class _Backend:
    def __init__(self, state):
        self.state = state

    def get_learnable_state(self):
        return {k: v.copy() for k, v in self.state.items()}

    def set_learnable_state(self, state):
        self.state = dict(state)


class _Compiled:
    def __init__(self, state):
        self.backend = _Backend(state)


def test_save_then_load_moves_weights_between_compiled_networks(tmp_path):
    source = _Compiled({"c/weight": np.full((2, 2), 3.5, np.float32)})
    target = _Compiled({"c/weight": np.zeros((2, 2), np.float32)})
    spec = ("numpy", {"path": tmp_path})
    save(source, ("ck", 0), spec)
    load(target, ("ck", 0), spec)
    np.testing.assert_array_equal(target.backend.state["c/weight"], np.full((2, 2), 3.5))


def test_save_outside_the_with_block_is_refused(tmp_path):
    class _Unloaded:
        backend = None

    with pytest.raises(NotCompiledError, match="with compiled_net"):
        save(_Unloaded(), ("ck", 0), NumpySerialiser(tmp_path))


def test_load_learnable_refuses_a_checkpoint_without_weights(ser):
    ser.save(("x",), {"other": 1})
    with pytest.raises(CheckpointError, match="must hold learnable state"):
        load_learnable(("x",), ser)
