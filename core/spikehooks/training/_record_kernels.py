"""Compiled scans of a batch's spike records (imported only with numba installed).

:class:`~._spike_records.SpikeRecordsData` answers "first spike of each
output neuron" and "spikes per neuron" every training batch.  With NumPy
each answer flattens every record through a dozen small-array calls, which
at batch size 1 cost several times the forward kernel's bookkeeping; these
loops read the records where they lie.  Both give the NumPy code's values
exactly (integers only).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def first_spike_steps(rec_i, counts, col_map, c0, c1, num_steps, first):
    """Fill ``first`` with the step of each neuron's first spike, -1 if silent.

    Parameters
    ----------
    rec_i : numpy.ndarray of int32, shape (batch, capacity, 2)
        ``(step, spike column)`` of each record.
    counts : numpy.ndarray of int64, shape (batch,)
        Records of each entry.
    col_map : numpy.ndarray of int64, shape (columns,)
        Joined neuron index of each spike column.
    c0, c1 : int
        The layer's joined indices ``c0 .. c1 - 1``.
    num_steps : int
        Steps of the trial; a record at a later step counts as no spike.
    first : numpy.ndarray of int64, shape (batch, c1 - c0)
        Receives the steps (the earliest record of a neuron, in any order).
    """
    batch, size = first.shape
    for b in range(batch):
        for j in range(size):
            first[b, j] = -1
    # (Bounded by every array's extent: numba does not check indices.)
    for b in range(min(batch, counts.shape[0], rec_i.shape[0])):
        for r in range(min(counts[b], rec_i.shape[1])):
            col = col_map[rec_i[b, r, 1]]
            if c0 <= col < c1:
                step = rec_i[b, r, 0]
                j = col - c0
                if step < num_steps and (first[b, j] < 0 or step < first[b, j]):
                    first[b, j] = step


@njit(cache=True, nogil=True)
def spike_totals(rec_i, counts, col_map, real, totals):
    """Add the spikes of entries ``0 .. real - 1`` per joined neuron index to ``totals``.

    ``rec_i``, ``counts`` and ``col_map`` as for :func:`first_spike_steps`;
    ``totals`` is int64 ``(joined neurons,)``, zeroed by the caller.
    """
    for b in range(min(real, rec_i.shape[0], counts.shape[0])):
        for r in range(min(counts[b], rec_i.shape[1])):
            totals[col_map[rec_i[b, r, 1]]] += 1
