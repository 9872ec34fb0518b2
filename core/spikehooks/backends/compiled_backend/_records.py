"""Per-spike records the compiled kernel keeps for EventProp, instead of dense traces.

EventProp's backward pass needs, per batch entry, every spike's step and
neuron and, at a LIF spike, the current ``I`` and the jump denominator
``I - V`` (``V`` before the reset).  Spikes are rare (Yin-Yang: about 50
per example over 300 steps and 108 neurons), so the kernel appends one
record per spike instead of copying every neuron's state every step.

The records of entry ``b`` are ``rec_i[b, :count[b]]`` (int32 pairs ``(step,
spike column)``) and ``rec_f[b, :count[b]]`` (float32 pairs ``(I, I - V)``,
zeros for a population without jump terms), in step order and, within a
step, in population order and ascending neuron id.  The capacity grows
while a batch runs: an entry stops before a step that might not fit, the
arrays are enlarged (their records kept) and the kernel resumes every
stopped entry where it stopped.  Entries are independent, so resuming
changes no result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ._tables import P_N

#: Initial capacity per entry, in records (grown by doubling when needed).
INITIAL_CAPACITY = 1024


class SpikeRecords:
    """The record arrays of one compiled backend, and their capacity.

    Parameters
    ----------
    layout : Layout
        The backend's kernel layout (populations' rows and spike columns).
    batch_size : int
    """

    def __init__(self, layout: Any, batch_size: int):
        self.batch_size = batch_size
        num_pops = layout.pop_i.shape[0]
        self._pop = np.zeros(num_pops, dtype=np.int64)
        self._consts = np.zeros((max(layout.num_spike_columns, 1), 3), dtype=np.float32)
        self._sizes = layout.pop_i[:, P_N].copy()
        self._v_size = int(max(self._sizes.max(initial=1), 1))
        self._i = np.zeros((0, 0, 2), dtype=np.int32)
        self._f = np.zeros((0, 0, 2), dtype=np.float32)
        self._off = np.zeros((0, 2), dtype=np.int64)
        self._state = self._off
        self._per_step = 0
        #: The ``populations`` dict the tables were last set from (None: not yet).
        self._tables_of: dict[int, tuple[int, Any]] | None = None

    @property
    def active(self) -> bool:
        """Whether spikes are being recorded."""
        return self._state.shape[0] > 0

    def start(self, populations: dict[int, tuple[int, Any]]) -> None:
        """Record the populations ``{kernel row: (first spike column, consts or None)}``
        from the next step on, with no records yet (a new batch).

        The same dict object as the last call (a training loop's every batch)
        keeps the tables that call set: only the batch's records start anew.
        """
        if populations is not self._tables_of:
            self._set_tables(populations)
        self._state = np.zeros((self.batch_size, 2), dtype=np.int64)

    def _set_tables(self, populations: dict[int, tuple[int, Any]]) -> None:
        """Fill the kernel's per-population flags and per-column constants; size the arrays."""
        self._pop[:] = 0
        for row, (s0, consts) in populations.items():
            self._pop[row] = 1 if consts is None else 2
            if consts is not None:
                n = int(self._sizes[row])
                for k, value in enumerate(consts):
                    self._consts[s0:s0 + n, k] = value
        self._per_step = int(self._sizes[self._pop > 0].sum())
        capacity = max(INITIAL_CAPACITY, self._per_step)
        if self._i.shape[1] < capacity:
            # Kept across batches: a training run allocates once, and the pages
            # only ever touched are the records actually written.
            self._i = np.zeros((self.batch_size, capacity, 2), dtype=np.int32)
            self._f = np.zeros((self.batch_size, capacity, 2), dtype=np.float32)
        self._tables_of = populations

    def stop(self) -> None:
        """Record no more spikes (the arrays are kept for the next :meth:`start`)."""
        self._state = self._off

    def kernel_args(self) -> tuple:
        """The kernel's ``rec_pop, rec_consts, rec_i, rec_f, rec_state, v_size``."""
        return self._pop, self._consts, self._i, self._f, self._state, self._v_size

    def grow_if_stopped(self, t1: int) -> bool:
        """After a kernel call up to step ``t1``: if an entry stopped early, double the
        capacity (keeping the records) and return True (call the kernel again)."""
        if not self._state.shape[0] or _all_reached(self._state, t1):
            return False
        capacity = 2 * self._i.shape[1]
        grown_i = np.zeros((self.batch_size, capacity, 2), dtype=np.int32)
        grown_f = np.zeros((self.batch_size, capacity, 2), dtype=np.float32)
        used = int(self._state[:, 0].max())
        grown_i[:, :used] = self._i[:, :used]
        grown_f[:, :used] = self._f[:, :used]
        self._i, self._f = grown_i, grown_f
        return True

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rec_i, rec_f, counts)``: the arrays (valid until the next batch starts) and
        int64 ``(batch,)`` records per entry."""
        return self._i, self._f, self._state[:, 0].copy()


@njit(cache=True, nogil=True)
def _all_reached(state, t1):
    """Whether every entry's step ``state[b, 1]`` reached ``t1`` (int64 (batch, 2))."""
    for b in range(state.shape[0]):
        if state[b, 1] < t1:
            return False
    return True


__all__ = ["SpikeRecords"]
