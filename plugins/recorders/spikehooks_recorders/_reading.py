"""Reading streamed recordings back lazily, verifying what is read.

Every access re-reads ``state.json`` (a recording may still be growing) and
checks, before returning anything:

- ``meta.json`` and ``state.json`` parse and hold what a recording holds;
- every ``.npy`` file is long enough for the rows ``state.json`` commits;
- the committed rows of ``index.npy`` match the CRC-32 in ``state.json``,
  their row counts grow and end at the committed counts;
- every batch whose rows are read matches the CRC-32 its index row records
  (checked once per batch and file).

Anything amiss raises :class:`RecordingError` naming the file: a recording
is never read silently short, and never fails with a bare ``KeyError``,
``ValueError`` or ``JSONDecodeError``.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

from ._entry_list import EntryIndexing
from ._streaming import _HEADER_BYTES, FORMAT, INDEX, VERSION, RecordingError


class _Folder:
    """Reads a recording folder; the committed row counts are re-read on every access."""

    def __init__(self, folder: str):
        self.folder = os.fspath(folder)
        path = self._path("meta.json")
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            raw = None
        if raw is None:
            raise ConfigurationError(
                f"open_recording folder must hold a recording (a readable meta.json of format "
                f"{FORMAT!r}); got {self.folder!r}. Pass the folder a recorder was given as to=."
            )
        try:
            meta = json.loads(raw)
        except ValueError as exc:
            raise RecordingError(
                f"recording file {path} is not valid JSON ({exc}); the recording's description "
                f"is damaged.", path=path) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ConfigurationError(
                f"open_recording folder must hold a recording (a readable meta.json of format "
                f"{FORMAT!r}); got {self.folder!r}. Pass the folder a recorder was given as to=."
            )
        if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
            raise RecordingError(
                f"recording file {path} must be {FORMAT} version {VERSION} or older; got "
                f"version {meta.get('version')!r}. Read it with the spikehooks-recorders "
                f"that wrote it.", path=path)
        self.meta = meta
        try:
            self._kind = str(meta["kind"])
            self._layout = {
                str(name): (np.dtype(info["dtype"]), tuple(int(n) for n in info["row_shape"]))
                for name, info in meta["arrays"].items()
            }
            self._columns = [str(c) for c in meta.get("index_columns", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordingError(
                f"recording file {path} is malformed ({type(exc).__name__}: {exc}).",
                path=path) from None
        if meta["version"] >= 2 and sorted(self._columns) != sorted(self._layout):
            raise RecordingError(
                f"recording file {path} index_columns must name its arrays "
                f"{sorted(self._layout)}; got {self._columns}.", path=path)
        self._index = np.zeros((0, len(self._columns), 2), dtype=np.int64)
        self._index_crc = 0
        self._checked: set[tuple[str, int]] = set()

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    # ------------------------------------------------------------ state
    def _state(self) -> dict[str, Any] | None:
        """The committed state (None before the first commit: a run killed at its start)."""
        path = self._path("state.json")
        try:
            with open(path, "rb") as f:
                state = json.loads(f.read())
            rows = {str(k): int(v) for k, v in state["rows"].items()}
            batches = int(state["complete_batches"])
            crc = int(state["index_crc32"]) if self.meta["version"] >= 2 else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecordingError(
                f"recording file {path} is truncated or corrupt ({type(exc).__name__}: "
                f"{exc}); the committed row counts cannot be read.", path=path) from None
        if set(rows) != set(self._layout) or batches < 0 or min(rows.values(), default=0) < 0:
            raise RecordingError(
                f"recording file {path} must commit rows of {sorted(self._layout)}; got "
                f"{rows} in {batches} batches.", path=path)
        if crc is not None:
            self._check_index(batches, crc, rows)
        for name, count in rows.items():
            self._check_length(name, count)
        return {"rows": rows, "batches": batches}

    def _row_bytes(self, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
        tail: tuple[int, ...]
        if name == INDEX:
            dtype, tail = np.dtype("<i8"), (len(self._columns), 2)
        else:
            dtype, tail = self._layout[name]
        return dtype, tail, dtype.itemsize * int(np.prod(tail))

    def _check_length(self, name: str, rows: int) -> None:
        path = self._path(name + ".npy")
        _, _, per_row = self._row_bytes(name)
        try:
            size = os.path.getsize(path)
        except OSError:
            size = -1
        if size < _HEADER_BYTES + rows * per_row:
            have = max(size - _HEADER_BYTES, 0) // per_row if size >= 0 else "no"
            raise RecordingError(
                f"recording file {path} is truncated: state.json commits {rows} rows, the file "
                f"holds {have}. The recording is damaged; nothing of it is read.", path=path)

    def _check_index(self, batches: int, crc: int, rows: dict[str, int]) -> None:
        """Verify the committed index rows (only the new ones since the last call)."""
        path = self._path(INDEX + ".npy")
        if batches < len(self._index):  # the folder was started afresh
            self._index = self._index[:0]
            self._index_crc = 0
            self._checked.clear()
        done = len(self._index)
        if batches > done:
            self._check_length(INDEX, batches)
            fresh = self._raw(INDEX, done, batches)
            self._index_crc = zlib.crc32(fresh.tobytes(), self._index_crc)
            self._index = np.concatenate([self._index, fresh])
        if self._index_crc != crc:
            raise RecordingError(
                f"recording file {path} does not match the CRC-32 state.json records for its "
                f"{batches} committed rows; the index is corrupt.", path=path)
        ends = self._index[:, :, 0]
        final = [rows[c] for c in self._columns]
        committed = dict(zip(self._columns, final, strict=True))
        if batches and (np.any(np.diff(ends, axis=0) < 0) or np.any(ends[0] < 0)
                        or ends[-1].tolist() != final):
            raise RecordingError(
                f"recording file {path} row counts must grow batch by batch up to the "
                f"committed {committed}; they do not. The index is corrupt.", path=path)

    # ------------------------------------------------------------ reading
    def rows(self, name: str) -> int:
        """Committed rows of ``name``; 0 before the first commit (a run killed at its start)."""
        state = self._state()
        return 0 if state is None else state["rows"][name]

    def _raw(self, name: str, start: int, stop: int) -> np.ndarray:
        dtype, tail, per_row = self._row_bytes(name)
        count = max(stop - start, 0) * int(np.prod(tail))
        path = self._path(name + ".npy")
        data = np.fromfile(path, dtype=dtype, count=count, offset=_HEADER_BYTES + start * per_row)
        if data.size != count:
            raise RecordingError(
                f"recording file {path} is truncated: rows {start}..{stop} were committed but "
                f"could not all be read.", path=path)
        return data.reshape((-1,) + tail)

    def _verify_batches(self, name: str, start: int, stop: int) -> None:
        """Check the CRC-32 of every committed batch holding rows ``start..stop`` of ``name``."""
        if not self._columns or stop <= start:
            return
        column = self._columns.index(name)
        ends = self._index[:, column, 0]
        first = int(np.searchsorted(ends, start, side="right"))
        last = int(np.searchsorted(ends, stop - 1, side="right"))
        for batch in range(first, min(last, len(ends) - 1) + 1):
            if (name, batch) in self._checked:
                continue
            lo = int(ends[batch - 1]) if batch else 0
            data = self._raw(name, lo, int(ends[batch]))
            if zlib.crc32(data.tobytes()) & 0xFFFFFFFF != int(self._index[batch, column, 1]):
                path = self._path(name + ".npy")
                raise RecordingError(
                    f"recording file {path} rows {lo}..{int(ends[batch])} (batch {batch}) do "
                    f"not match the CRC-32 in index.npy; the file is corrupt.", path=path)
            self._checked.add((name, batch))

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start..stop`` of ``name``, verified; every one must be committed."""
        state = self._state()
        committed = 0 if state is None else state["rows"][name]
        if stop > committed:
            path = self._path(name + ".npy")
            raise RecordingError(
                f"recording file {path} must hold rows up to {stop}; only {committed} are "
                f"committed. The recording is inconsistent (ends.npy points past its data?).",
                path=path)
        self._verify_batches(name, start, stop)
        return self._raw(name, start, stop)


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
        start, stop = (int(bounds[0]) if k else 0), int(bounds[-1])
        if stop < start:
            path = os.path.join(self._folder.folder, self._ends + ".npy")
            raise RecordingError(
                f"recording file {path} entry {k} must end at or after its start {start}; got "
                f"{stop}. The file is corrupt.", path=path)
        return self._folder.read(self._name, start, stop)

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

    Raises
    ------
    ConfigurationError
        ``folder`` holds no recording.
    RecordingError
        A file of the recording is truncated, corrupt or inconsistent (also
        raised on a later access, as entries are read); ``path`` names it.
    """
    f = _Folder(os.fspath(folder))
    kind = f._kind
    index_name = "batches" if kind == "conn_var" else "examples"
    needed = {"spikes": ["times", "ids", "ends"], "counts": ["counts"]}.get(kind, ["values"])
    missing = sorted(set(needed + [index_name]) - set(f._layout))
    if missing:
        path = os.path.join(f.folder, "meta.json")
        raise RecordingError(
            f"recording file {path} of kind {kind!r} must list the arrays "
            f"{sorted(needed + [index_name])}; {missing} are missing.", path=path)
    f.rows(index_name)  # verify state.json, index.npy and every file's length now
    handle: Any
    if kind == "spikes":
        handle = SpikeHandle((LazyList(f, "times", "ends"), LazyList(f, "ids", "ends")))
    else:
        handle = LazyList(f, "counts" if kind == "counts" else "values")
    handle.folder = f.folder
    handle.meta = f.meta
    setattr(handle, index_name, LazyList(f, index_name))
    return handle
