"""A batch's spikes as per-spike records: what EventProp's compiled sweep reads.

The compiled backend keeps one record per spike (:mod:`spikehooks.backends.
compiled_backend._records`) instead of dense per-step traces; this module
holds them for a :class:`~._forward.ForwardResult` and converts between
them and the dense arrays of the NumPy forward pass, both ways, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class SpikeRecordsData:
    """Every spike of a batch, entry by entry, in step order.

    Attributes
    ----------
    rec_i : numpy.ndarray of int32, shape (batch, capacity, 2)
        ``(step, column)`` of each record; the column is a kernel spike
        column, mapped to the graph's joined neuron index by ``col_map``.
    rec_f : numpy.ndarray of float32, shape (batch, capacity, 2)
        ``(I, I - V)`` of each record: the current and the jump denominator
        at a LIF spike (``V`` before the reset); 0 for other layers.
    counts : numpy.ndarray of int64, shape (batch,)
        Records of each entry (``rec_i[b, :counts[b]]``).
    col_map : numpy.ndarray of int64, shape (columns,)
        Joined neuron index (layers side by side, in the graph's order) of
        each column; -1 for a column no layer owns.
    layer_starts : numpy.ndarray of int64, shape (num_layers + 1,)
        First joined index of each layer, and the total.
    num_steps : int
    lif : tuple of bool
        Per layer, whether it is LIF (its records carry ``I`` and ``I - V``).
    """

    rec_i: np.ndarray
    rec_f: np.ndarray
    counts: np.ndarray
    col_map: np.ndarray
    layer_starts: np.ndarray
    num_steps: int
    lif: tuple[bool, ...]

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(entry, step, joined index, I, I - V)`` of every record, flat."""
        batch = self.rec_i.shape[0]
        used = int(self.counts.max(initial=0))
        valid = np.arange(used)[np.newaxis, :] < self.counts[:, np.newaxis]
        entry = np.broadcast_to(np.arange(batch)[:, np.newaxis], valid.shape)[valid]
        rec_i, rec_f = self.rec_i[:, :used][valid], self.rec_f[:, :used][valid]
        return (entry, rec_i[:, 0].astype(np.int64), self.col_map[rec_i[:, 1]],
                rec_f[:, 0], rec_f[:, 1])

    def dense(self) -> tuple[list[np.ndarray], list[np.ndarray | None],
                             list[np.ndarray | None]]:
        """The dense ``(spikes, denominators, currents)`` of :class:`~._forward.ForwardResult`.

        Returns
        -------
        spikes : list of numpy.ndarray of bool, shape (num_steps, batch, size)
        denominators, currents : list of numpy.ndarray of float32 (same shape) or None
        """
        batch = self.rec_i.shape[0]
        entry, step, col, cur, den = self._flat()
        spikes: list[np.ndarray] = []
        dens: list[np.ndarray | None] = []
        currents: list[np.ndarray | None] = []
        for index, is_lif in enumerate(self.lif):
            c0, c1 = int(self.layer_starts[index]), int(self.layer_starts[index + 1])
            shape = (self.num_steps, batch, c1 - c0)
            mine = (col >= c0) & (col < c1)
            at = (step[mine], entry[mine], col[mine] - c0)
            mask = np.zeros(shape, bool)
            mask[at] = True
            spikes.append(mask)
            if is_lif:
                d, c = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
                d[at], c[at] = den[mine], cur[mine]
                dens.append(d)
                currents.append(c)
            else:
                dens.append(None)
                currents.append(None)
        return spikes, dens, currents

    def spike_counts(self, real: int) -> list[np.ndarray]:
        """Spikes per neuron of every layer over entries ``0 .. real - 1`` (int64)."""
        kernels = _kernels()
        if kernels is not None:
            total = np.zeros(int(self.layer_starts[-1]), np.int64)
            kernels.spike_totals(self.rec_i, self.counts, self.col_map, real, total)
        else:
            entry, _, col, _, _ = self._flat()
            total = np.bincount(col[entry < real], minlength=int(self.layer_starts[-1]))
        starts = self.layer_starts
        return [total[starts[i]:starts[i + 1]].astype(np.int64)
                for i in range(len(starts) - 1)]

    def first_spikes(self, layer: int) -> np.ndarray:
        """Step of each neuron's first spike in ``layer``, -1 if silent: int64 (batch, size)."""
        c0, c1 = int(self.layer_starts[layer]), int(self.layer_starts[layer + 1])
        kernels = _kernels()
        if kernels is not None:
            first = np.empty((self.rec_i.shape[0], c1 - c0), np.int64)
            kernels.first_spike_steps(self.rec_i, self.counts, self.col_map, c0, c1,
                                      self.num_steps, first)
            return first
        first = np.full((self.rec_i.shape[0], c1 - c0), self.num_steps, np.int64)
        entry, step, col, _, _ = self._flat()
        mine = (col >= c0) & (col < c1)
        np.minimum.at(first, (entry[mine], col[mine] - c0), step[mine])
        first[first == self.num_steps] = -1
        return first

    @classmethod
    def from_dense(cls, spikes: list[np.ndarray], dens: list[np.ndarray | None],
                   currents: list[np.ndarray | None]) -> SpikeRecordsData:
        """Records of dense per-layer arrays (the NumPy forward pass's), in the same order.

        Parameters
        ----------
        spikes : list of numpy.ndarray of bool, shape (num_steps, batch, size)
        dens, currents : list of numpy.ndarray of float32 (same shape) or None
        """
        num_steps, batch = spikes[0].shape[:2]
        joined = np.concatenate(spikes, axis=2).transpose(1, 0, 2)
        # nonzero is row-major: per entry, steps ascending, then neurons ascending.
        entry, step, col = np.nonzero(joined)
        counts = np.bincount(entry, minlength=batch).astype(np.int64)
        capacity = max(int(counts.max(initial=0)), 1)
        rec_i = np.zeros((batch, capacity, 2), np.int32)
        rec_f = np.zeros((batch, capacity, 2), np.float32)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(entry)) - starts[entry]
        rec_i[entry, slot, 0], rec_i[entry, slot, 1] = step, col
        zeros = [np.zeros(s.shape, np.float32) for s in spikes]
        cur = np.concatenate([c if c is not None else z for c, z in zip(currents, zeros,
                                                                         strict=True)], axis=2)
        den = np.concatenate([d if d is not None else z for d, z in zip(dens, zeros,
                                                                        strict=True)], axis=2)
        rec_f[entry, slot, 0] = cur[step, entry, col]
        rec_f[entry, slot, 1] = den[step, entry, col]
        sizes = [s.shape[2] for s in spikes]
        total = int(sum(sizes))
        return cls(rec_i, rec_f, counts, np.arange(max(total, 1), dtype=np.int64),
                   np.cumsum([0, *sizes]).astype(np.int64), num_steps,
                   tuple(d is not None for d in dens))


def _kernels() -> Any:
    """The compiled scans (:mod:`._record_kernels`), or None without numba.

    Records come from the compiled backend, which needs numba; a test may
    still build them from dense arrays without it, and gets the NumPy code.
    """
    global _KERNELS
    if _KERNELS is None:
        try:
            from . import _record_kernels
        except ImportError:
            _KERNELS = False
        else:
            _KERNELS = _record_kernels
    return _KERNELS or None


#: The imported :mod:`._record_kernels` (None: not tried yet; False: numba missing).
_KERNELS: Any = None


__all__ = ["SpikeRecordsData"]
