"""Streaming recordings to plain ``.npy`` files (the reading side is ``_reading``).

A recording folder holds

- ``meta.json``: what was recorded (kind, key, population, dt, ...), written once;
- one growing ``.npy`` file per array (``times.npy``, ``ids.npy``, ``ends.npy``,
  ``examples.npy`` for spikes; ``values.npy`` or ``counts.npy`` otherwise),
  each with a fixed-size header so it can be appended to in place;
- ``index.npy``: one row per committed batch, int64 ``(arrays, 2)``: for every
  array (in ``meta.json``'s ``index_columns`` order) its row count at the end
  of the batch and the CRC-32 of the batch's bytes;
- ``state.json``: how many batches and rows of each file are committed, and
  the CRC-32 of the committed rows of ``index.npy``.

Per batch the raw rows are appended to every file, then the batch's index
row, each fsync'ed; then ``state.json`` is replaced atomically
(``os.replace``): that is the commit.  Only then are the ``.npy`` headers
rewritten with the new shapes, so after a clean run ``np.load`` reads every
file, and after a crash ``state.json`` (and, except for a crash inside the
few-byte header rewrite, ``np.load`` too) gives every complete batch.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from spikehooks.errors import SpikehooksError

FORMAT = "spikehooks-recording"
#: Version 2 added ``index.npy`` (lengths and a CRC-32 per committed batch).
VERSION = 2
INDEX = "index"


class RecordingError(SpikehooksError):
    """A streamed recording is truncated, corrupt or inconsistent.

    Attributes
    ----------
    path : pathlib.Path
        The file that was refused.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str]):
        super().__init__(message)
        self.path = Path(path)
_HEADER_BYTES = 256
_MAGIC = b"\x93NUMPY\x01\x00"


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    descr = np.lib.format.dtype_to_descr(dtype)
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    body_len = _HEADER_BYTES - len(_MAGIC) - 2
    body = text.ljust(body_len - 1).encode("latin1") + b"\n"
    return _MAGIC + (body_len).to_bytes(2, "little") + body


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json_atomic(path: str, payload: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path) or ".")


class StreamWriter:
    """Appends one batch of rows at a time to a recording folder.

    Parameters
    ----------
    folder : str
        Created if missing; a previous recording there is replaced (the
        caller owns the folder: see ``spikehooks.folders``).
    meta : dict
        JSON-serialisable description, stored in ``meta.json``.
    arrays : dict of str to (numpy.dtype, tuple of int)
        Each growing array's dtype and the shape of one row (``()`` for 1-D).
    """

    def __init__(self, folder: str, meta: dict, arrays: dict[str, tuple[Any, tuple[int, ...]]]):
        self.folder = folder
        self._meta = meta
        self._arrays = {name: (np.dtype(dt), tuple(tail)) for name, (dt, tail) in arrays.items()}
        self._rows = {name: 0 for name in self._arrays}
        self._columns = sorted(self._arrays)
        self._batches = 0
        self._index_crc = 0
        self.started = False

    def start(self) -> None:
        """Create (or replace) the recording in the folder; idempotent.

        Not done in ``__init__``: a recorder builds its writer in
        ``set_params``, and a later callback's ``set_params`` may still refuse
        the run, which must leave an earlier recording in the folder intact.
        """
        if self.started:
            return
        self.started = True
        folder, meta = self.folder, self._meta
        os.makedirs(folder, exist_ok=True)
        state_path = os.path.join(folder, "state.json")
        if os.path.exists(state_path):
            os.remove(state_path)
        self._remove_previous()
        _write_json_atomic(os.path.join(folder, "meta.json"),
                           {"format": FORMAT, "version": VERSION, **meta,
                            "arrays": {n: {"dtype": np.lib.format.dtype_to_descr(d),
                                           "row_shape": list(t)}
                                       for n, (d, t) in self._arrays.items()},
                            "index_columns": self._columns})
        files = {**self._arrays, INDEX: (np.dtype(np.int64), (len(self._columns), 2))}
        for name, (dtype, tail) in files.items():
            with open(self._path(name), "wb") as f:
                f.write(_header(dtype, (0,) + tail))
                f.flush()
                os.fsync(f.fileno())
        self._rows = {name: 0 for name in self._arrays}
        self._batches, self._index_crc = 0, 0
        self._commit()

    def _remove_previous(self) -> None:
        """Remove the array files of a previous recording that this one does not rewrite."""
        try:
            with open(os.path.join(self.folder, "meta.json"), encoding="utf-8") as f:
                old = json.load(f)
            names = set(old["arrays"]) if old.get("format") == FORMAT else set()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return  # no previous recording (or not one we can name the files of)
        for name in names - set(self._arrays) - {INDEX}:
            path = self._path(str(name))
            if os.path.basename(path) == f"{name}.npy" and os.path.isfile(path):
                os.remove(path)

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name + ".npy")

    def _commit(self) -> None:
        _write_json_atomic(os.path.join(self.folder, "state.json"),
                           {"format": FORMAT, "version": VERSION,
                            "complete_batches": self._batches, "rows": self._rows,
                            "index_crc32": self._index_crc})

    def _write_rows(self, name: str, start_row: int, row_bytes: int, data: bytes) -> None:
        with open(self._path(name), "r+b") as f:
            f.seek(_HEADER_BYTES + start_row * row_bytes)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def append(self, chunks: dict[str, np.ndarray]) -> None:
        """Append one batch: ``chunks[name]`` has shape ``(n_rows,) + row_shape``."""
        self.start()
        crcs = {}
        for name, chunk in chunks.items():
            dtype, tail = self._arrays[name]
            data = np.ascontiguousarray(chunk, dtype=dtype.newbyteorder("<")).tobytes()
            crcs[name] = zlib.crc32(data)
            self._write_rows(name, self._rows[name], dtype.itemsize * int(np.prod(tail)), data)
        for name, chunk in chunks.items():
            self._rows[name] += len(chunk)
        row = np.array([[self._rows[n], crcs.get(n, 0)] for n in self._columns], dtype="<i8")
        index_bytes = row.tobytes()
        self._write_rows(INDEX, self._batches, len(index_bytes), index_bytes)
        self._index_crc = zlib.crc32(index_bytes, self._index_crc)
        self._batches += 1
        self._commit()
        files = {name: self._arrays[name] for name in chunks}
        files[INDEX] = (np.dtype(np.int64), (len(self._columns), 2))
        rows = {**self._rows, INDEX: self._batches}
        for name, (dtype, tail) in files.items():
            with open(self._path(name), "r+b") as f:
                f.write(_header(dtype, (rows[name],) + tail))
