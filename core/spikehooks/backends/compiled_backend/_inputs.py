"""A batch's SpikeInput spike times in the kernel's layout, flattened in compiled code.

The same ``(times, pointer)`` as the NumPy backend's ``_batch_spike_times``
(float32 times of neuron ``(b, i)`` from ``times[pointer[b * n + i]]`` up to
an inf sentinel), built by one compiled loop instead of a dozen NumPy calls
per batch: at batch size 1 those calls cost more than the kernel's time loop.
A run over a data set flattens the whole set once (:func:`spike_table`);
each batch then only gathers its examples' pointers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _flatten(spikes_in, ends, starts, times, pointer):
    """Fill ``times`` and ``pointer`` (see :func:`batch_spike_times`)."""
    batch, n = ends.shape
    p = 0
    for b in range(batch):
        start, previous = starts[b], 0
        for i in range(n):
            pointer[b * n + i] = p
            end = ends[b, i]
            for s in range(previous, end):
                times[p] = spikes_in[start + s]
                p += 1
            times[p] = np.inf
            p += 1
            previous = end


def batch_spike_times(examples: list, batch_size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-example spike times into one array with an inf sentinel per neuron.

    Parameters
    ----------
    examples : list of PreprocessedSpikes
        The batch's real examples (at most ``batch_size``), each with
        ``end_spikes`` (int, shape (n,)) and ``spike_times`` (ms, sorted per
        neuron); padding entries get no spikes.
    batch_size, n : int
        Entries of the batch and neurons of the population.

    Returns
    -------
    times : numpy.ndarray of float32
        Spike times in ms, each neuron's followed by ``inf``.
    pointer : numpy.ndarray of int64, shape (batch_size * n,)
        Index in ``times`` of each neuron's first spike (or sentinel).
    """
    ends = np.zeros((batch_size, n), dtype=np.int64)
    starts = np.zeros(batch_size, dtype=np.int64)
    pieces = []
    total = 0
    for b, spikes in enumerate(examples):
        ends[b] = spikes.end_spikes
        starts[b] = total
        piece = np.asarray(spikes.spike_times, dtype=np.float32)
        pieces.append(piece)
        total += len(piece)
    spikes_in = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    times = np.empty(total + batch_size * n, dtype=np.float32)
    pointer = np.empty(batch_size * n, dtype=np.int64)
    _flatten(spikes_in, ends, starts, times, pointer)
    return times, pointer


#: Largest table of a whole data set (bytes) :func:`spike_table` builds; a larger
#: data set is flattened batch by batch (:func:`batch_spike_times`).
TABLE_BYTES = 64 << 20


def spike_table(examples: Any, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every example of a data set flattened once: the batches' times are then its slices.

    Parameters
    ----------
    examples : SpikeExamples
        A validated SpikeInput data set (``SpikeInput.prepare_input``); the
        table is kept in its ``cache`` for the rest of the run.
    n : int
        Neurons of the population.

    Returns
    -------
    times : numpy.ndarray of float32
        :func:`batch_spike_times`'s ``times`` of all examples as one batch,
        and one more ``inf`` at the end (where padding entries point).
    first : numpy.ndarray of int64, shape (num_examples, n)
        Index in ``times`` of each example's neurons' first spikes: a
        batch's ``pointer`` is ``first[indices]``, padding rows ``len(times) - 1``.

    Or None when the table would be larger than :data:`TABLE_BYTES`.
    """
    table = examples.cache.get("compiled_spike_table")
    if table is None:
        num = len(examples)
        entries = int(examples.num_spikes.sum()) + num * n + 1
        if 4 * entries + 8 * num * n > TABLE_BYTES:
            table = examples.cache["compiled_spike_table"] = ()
        else:
            # batch_spike_times's arrays of the whole set as one batch, with whole-set
            # calls instead of a loop over the examples.
            ends = np.array([spikes.end_spikes for spikes in examples]).astype(np.int64)
            starts = np.zeros(num, dtype=np.int64)
            np.cumsum(examples.num_spikes[:-1], out=starts[1:])
            # Each example's times cast to float32 as np.asarray(times, float32) casts them.
            spikes_in = np.concatenate([spikes.spike_times for spikes in examples],
                                       dtype=np.float32, casting="unsafe")
            times = np.empty(entries, dtype=np.float32)
            times[-1] = np.inf
            pointer = np.empty(num * n, dtype=np.int64)
            _flatten(spikes_in, ends.reshape(num, n), starts, times, pointer)
            table = examples.cache["compiled_spike_table"] = (times, pointer.reshape(num, n))
    return table or None
