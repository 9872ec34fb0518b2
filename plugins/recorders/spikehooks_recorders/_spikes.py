"""Vectorised decoding of bit-packed spike recording buffers.

The buffer is read byte by byte through two lookup tables (set-bit count of
every byte value, and the positions of its set bits), with a single
``np.repeat`` expanding bytes into spikes.  Bytes come in (entry, step,
neuron) order and bits within a byte ascending, so spikes come out sorted by
entry, time and id without any sort.
"""

from __future__ import annotations

import numpy as np

_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
#: Number of set bits of every byte value.
_POPCOUNT = _BYTE_BITS.sum(axis=1).astype(np.int64)
#: Set-bit positions of all byte values, concatenated; value v's start at _OFFSET[v].
_POSITIONS = np.nonzero(_BYTE_BITS)[1].astype(np.int64)
_OFFSET = np.concatenate([[0], np.cumsum(_POPCOUNT)[:-1]]).astype(np.int64)
# Keeps the low 32-bit half of the packed key positive.
_BIAS = np.int64(1 << 31)
_LOW = np.int64(0xFFFFFFFF)


def keep_words(ids: np.ndarray | None, num_neurons: int) -> np.ndarray | None:
    """uint32 word masks (shape (ceil(n / 32),)) with the bits of ``ids`` set (None: all)."""
    if ids is None:
        return None
    flags = np.zeros(32 * -(-num_neurons // 32), dtype=np.uint8)
    flags[ids] = 1
    return np.packbits(flags, bitorder="little").view("<u4").astype(np.uint32)


class Decoder:
    """Decodes bit-packed spikes of one population into sorted spike arrays.

    Parameters
    ----------
    dt : float
        ms per timestep.
    """

    def __init__(self, dt: float):
        self.dt = float(dt)
        self._colkey = np.empty(0, dtype=np.int64)

    def _columns(self, size: int, row_bytes: int) -> np.ndarray:
        # First neuron id of every byte, in the high 32 bits; cached per size.
        if self._colkey.size != size:
            ids = np.arange(size, dtype=np.int64) % row_bytes * 8
            self._colkey = ids << 32
        return self._colkey

    def decode(self, words: np.ndarray, start: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode a block of recorded entries.

        Parameters
        ----------
        words : numpy.ndarray of uint32, shape (n_entries, n_steps, n_words)
            Bit ``n % 32`` of word ``n // 32`` set when neuron ``n`` spiked.
        start : int
            Timestep of ``words[:, 0]``.

        Returns
        -------
        times : numpy.ndarray of float64, shape (n_spikes,)
            Spike times in ms (``timestep * dt``).
        ids : numpy.ndarray of int32, shape (n_spikes,)
            Flat neuron ids.
        per_entry : numpy.ndarray of int64, shape (n_entries,)
            Spikes of each entry; entry 0's come first, each entry's sorted by
            time, then id ascending.
        """
        n_entries, n_steps, n_words = words.shape
        if words.size == 0:
            return (np.empty(0, np.float64), np.empty(0, np.int32),
                    np.zeros(n_entries, np.int64))
        flat = np.ascontiguousarray(words, dtype="<u4").view(np.uint8).reshape(-1)
        per_byte = _POPCOUNT[flat]
        per_row = per_byte.reshape(n_entries * n_steps, n_words * 4).sum(axis=1)
        before = np.cumsum(per_byte)
        total = int(before[-1])
        before -= per_byte
        # One int64 per byte: its first neuron id (high half) and where its bit
        # positions start in _POSITIONS, minus the spikes before it (low half).
        key = self._columns(flat.size, n_words * 4) + (_OFFSET[flat] - before + _BIAS)
        spikes = np.repeat(key, per_byte)
        spikes += np.arange(total, dtype=np.int64)
        ids = (spikes >> 32) + _POSITIONS[(spikes & _LOW) - _BIAS]
        row_times = (np.arange(n_steps, dtype=np.float64) + start) * self.dt
        times = np.repeat(np.tile(row_times, n_entries), per_row)
        per_entry = per_row.reshape(n_entries, n_steps).sum(axis=1)
        return times, ids.astype(np.int32), per_entry


def counts(ids: np.ndarray, per_entry: np.ndarray, num_neurons: int,
           columns: np.ndarray | None) -> np.ndarray:
    """Per-entry spike counts, int64 of shape (n_entries, n_selected)."""
    n_entries = per_entry.size
    entry = np.repeat(np.arange(n_entries, dtype=np.int64), per_entry)
    flat = np.bincount(entry * num_neurons + ids, minlength=n_entries * num_neurons)
    table = flat.reshape(n_entries, num_neurons).astype(np.int64, copy=False)
    return table if columns is None else table[:, columns]
