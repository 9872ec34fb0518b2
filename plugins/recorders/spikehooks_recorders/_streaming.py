"""Streaming recordings to plain ``.npy`` files, and reading them back lazily.

A recording folder holds

- ``meta.json``: what was recorded (kind, key, population, dt, ...), written once;
- one growing ``.npy`` file per array (``times.npy``, ``ids.npy``, ``ends.npy``,
  ``examples.npy`` for spikes; ``values.npy`` or ``counts.npy`` otherwise),
  each with a fixed-size header so it can be appended to in place;
- ``state.json``: how many rows of each file belong to complete batches.

Per batch the raw rows are appended to every file and fsync'ed, then
``state.json`` is replaced atomically (``os.replace``): that is the commit.
Only then are the ``.npy`` headers rewritten with the new shapes, so after a
clean run ``np.load`` reads every file, and after a crash ``state.json`` (and,
except for a crash inside the few-byte header rewrite, ``np.load`` too) gives
every complete batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

from ._entry_list import EntryIndexing

FORMAT = "spikehooks-recording"
VERSION = 1
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
        Created if missing; a previous recording there is replaced.
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
        self._batches = 0
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
        _write_json_atomic(os.path.join(folder, "meta.json"),
                           {"format": FORMAT, "version": VERSION, **meta,
                            "arrays": {n: {"dtype": np.lib.format.dtype_to_descr(d),
                                           "row_shape": list(t)}
                                       for n, (d, t) in self._arrays.items()}})
        for name, (dtype, tail) in self._arrays.items():
            with open(self._path(name), "wb") as f:
                f.write(_header(dtype, (0,) + tail))
                f.flush()
                os.fsync(f.fileno())
        self._commit()

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name + ".npy")

    def _commit(self) -> None:
        _write_json_atomic(os.path.join(self.folder, "state.json"),
                           {"format": FORMAT, "version": VERSION,
                            "complete_batches": self._batches, "rows": self._rows})

    def append(self, chunks: dict[str, np.ndarray]) -> None:
        """Append one batch: ``chunks[name]`` has shape ``(n_rows,) + row_shape``."""
        self.start()
        for name, chunk in chunks.items():
            dtype, tail = self._arrays[name]
            data = np.ascontiguousarray(chunk, dtype=dtype.newbyteorder("<"))
            with open(self._path(name), "r+b") as f:
                f.seek(_HEADER_BYTES + self._rows[name] * dtype.itemsize * int(np.prod(tail)))
                f.write(data.tobytes())
                f.flush()
                os.fsync(f.fileno())
        for name, chunk in chunks.items():
            self._rows[name] += len(chunk)
        self._batches += 1
        self._commit()
        for name in chunks:
            dtype, tail = self._arrays[name]
            with open(self._path(name), "r+b") as f:
                f.write(_header(dtype, (self._rows[name],) + tail))


class _Folder:
    """Reads a recording folder; the committed row counts are re-read on every access."""

    def __init__(self, folder: str):
        self.folder = os.fspath(folder)
        try:
            with open(os.path.join(self.folder, "meta.json"), encoding="utf-8") as f:
                self.meta = json.load(f)
        except (OSError, ValueError):
            self.meta = {}
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT:
            raise ConfigurationError(
                f"open_recording folder must hold a recording (a readable meta.json of format "
                f"{FORMAT!r}); got {self.folder!r}. Pass the folder a recorder was given as to=."
            )

    def rows(self, name: str) -> int:
        """Committed rows of ``name``; 0 before the first commit (a run killed at its start)."""
        try:
            with open(os.path.join(self.folder, "state.json"), encoding="utf-8") as f:
                return int(json.load(f)["rows"][name])
        except FileNotFoundError:
            return 0

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        info = self.meta["arrays"][name]
        dtype = np.dtype(info["dtype"])
        tail = tuple(info["row_shape"])
        per_row = int(np.prod(tail))
        count = max(stop - start, 0) * per_row
        data = np.fromfile(os.path.join(self.folder, name + ".npy"), dtype=dtype, count=count,
                           offset=_HEADER_BYTES + start * per_row * dtype.itemsize)
        return data.reshape((-1,) + tail)


class LazyList(EntryIndexing):
    """A read-only list over rows of a recording, loaded one entry at a time.

    ``lazy[k]`` is entry ``k`` (a fresh numpy array), ``lazy[a:b]`` a list,
    ``len(lazy)`` the number of complete entries, and iteration walks them.
    """

    _index_name = "recording entry"

    def __init__(self, folder: _Folder, name: str, ends: str | None = None):
        self._folder = folder
        self._name = name
        self._ends = ends

    def __len__(self) -> int:
        return self._folder.rows(self._ends or self._name)

    def _entry(self, k: int) -> Any:
        if self._ends is None:
            return self._folder.read(self._name, k, k + 1)[0]
        bounds = self._folder.read(self._ends, max(k - 1, 0), k + 1)
        start = int(bounds[0]) if k else 0
        return self._folder.read(self._name, start, int(bounds[-1]))

    def __iter__(self) -> Iterator[np.ndarray]:
        for k in range(len(self)):
            yield self[k]

    def __repr__(self) -> str:
        return f"LazyList({self._folder.folder!r}, {self._name!r}, {len(self)} entries)"


class SpikeHandle(tuple):
    """``(times, ids)`` of a streamed spike recording, as two :class:`LazyList`.

    Indexes like the in-memory tuple: ``handle[0][4]`` are the times of the
    fifth recorded example; ``times, ids = handle`` unpacks.
    """

    folder: str
    examples: LazyList


def open_recording(folder: str | os.PathLike) -> Any:
    """Open a folder written by a recorder with ``to=folder``.

    Returns
    -------
    SpikeHandle or LazyList
        For spikes a :class:`SpikeHandle` ``(times, ids)``; for spike counts,
        variables and connection variables a :class:`LazyList` of arrays.
        Either has ``.examples`` (data-set index of each entry; for
        connection variables ``.batches``, ``(epoch, batch)`` per entry) and
        ``.meta`` (the contents of ``meta.json``).
    """
    f = _Folder(os.fspath(folder))
    kind = f.meta["kind"]
    handle: Any
    if kind == "spikes":
        handle = SpikeHandle((LazyList(f, "times", "ends"), LazyList(f, "ids", "ends")))
    else:
        handle = LazyList(f, "counts" if kind == "counts" else "values")
    handle.folder = f.folder
    handle.meta = f.meta
    index_name = "batches" if kind == "conn_var" else "examples"
    setattr(handle, index_name, LazyList(f, index_name))
    return handle
