"""In-memory spike storage: per batch either packed bits or decoded arrays, whichever is smaller.

Dense activity (the usual case for input layers) costs far less as the
recording buffer's own bits (1 bit per neuron per timestep) than as 12 bytes
per spike, and copying bits at the end of a batch is almost free; the bits
are decoded when an entry is read.  Sparse activity is decoded at once into
float64 times and int32 ids.  Either way a spike costs at most 12 bytes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._entry_list import EntryIndexing
from ._spikes import Decoder

#: Bytes a decoded spike takes: a float64 time and an int32 id.
BYTES_PER_SPIKE = 12


class SpikeStore:
    """The spikes of every recorded entry of one recorder.

    Attributes
    ----------
    nbytes : int
        Bytes of spike data held (bits or times + ids; not the per-entry index).
    num_spikes : int
        Spikes held.
    """

    def __init__(self, decoder: Decoder):
        self._decoder = decoder
        self._blocks: list[tuple[Any, ...]] = []
        self._starts: list[int] = []
        self._count = 0
        self.nbytes = 0
        self.num_spikes = 0
        # The last entry decoded from bits: ``times[k]`` then ``ids[k]`` decode once.
        self._last: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None

    def add_bits(self, words: np.ndarray, start: int = 0) -> None:
        """Add a batch: uint32 (n_entries, n_steps, n_words) from timestep ``start``.

        Unselected neurons must be zeroed already.
        """
        spikes = int(np.bitwise_count(words).sum())
        if words.nbytes <= BYTES_PER_SPIKE * spikes:
            self._add(("bits", words, start), words.shape[0], words.nbytes, spikes)
        else:
            self.add_arrays(*self._decoder.decode(words, start))

    def add_arrays(self, times: np.ndarray, ids: np.ndarray, per_entry: np.ndarray) -> None:
        """Add a batch already decoded (spikes of entry 0 first)."""
        ends = np.cumsum(per_entry)
        block = ("arrays", np.split(times, ends[:-1]), np.split(ids, ends[:-1]))
        self._add(block, per_entry.size, times.nbytes + ids.nbytes, times.size)

    def _add(self, block: tuple, entries: int, nbytes: int, spikes: int) -> None:
        self._blocks.append(block)
        self._starts.append(self._count)
        self._count += entries
        self.nbytes += nbytes
        self.num_spikes += spikes

    def __len__(self) -> int:
        return self._count

    def entry(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(times, ids)`` of entry ``k`` (0 <= k < len)."""
        b = bisect.bisect_right(self._starts, k) - 1
        block, j = self._blocks[b], k - self._starts[b]
        if block[0] == "arrays":
            return block[1][j], block[2][j]
        if self._last is not None and self._last[0] == k:
            return self._last[1]
        times, ids, _ = self._decoder.decode(block[1][j: j + 1], block[2])
        self._last = (k, (times, ids))
        return times, ids

    def entries(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(times, ids)`` of every entry, decoding a batch at a time."""
        for block in self._blocks:
            if block[0] == "arrays":
                yield from zip(block[1], block[2], strict=True)
                continue
            times, ids, per_entry = self._decoder.decode(block[1], block[2])
            ends = np.cumsum(per_entry)
            yield from zip(np.split(times, ends[:-1]), np.split(ids, ends[:-1]), strict=True)


class SpikeList(EntryIndexing, Sequence):
    """Read-only list of one field (0: times, 1: ids) of a :class:`SpikeStore`.

    Behaves like the list mlGeNN returns: ``spikes[k]`` (a numpy array),
    ``spikes[a:b]`` (a list), ``len``, iteration.  Entries may be decoded on
    access, so each access returns a fresh array.
    """

    _index_name = "spike list index"

    def __init__(self, store: SpikeStore, field: int):
        self._store = store
        self._field = field

    def __len__(self) -> int:
        return len(self._store)

    def _entry(self, k: int) -> Any:
        return self._store.entry(k)[self._field]

    def __iter__(self) -> Iterator[np.ndarray]:
        for pair in self._store.entries():
            yield pair[self._field]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, SpikeList)) and len(other) == len(self):
            return all(np.array_equal(a, b) for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        what = ("times", "ids")[self._field]
        return f"SpikeList({what}, {len(self)} entries)"


def spike_lists(store: SpikeStore) -> tuple[Sequence[np.ndarray], Sequence[np.ndarray]]:
    """Return ``(times, ids)`` views of ``store``."""
    return SpikeList(store, 0), SpikeList(store, 1)
