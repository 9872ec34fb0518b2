"""What the compiled backend does between batches: reset, and load SpikeInput spikes.

At batch size 1 a training batch's kernels take about 130 us, so the
Python around them counts: resetting a small network array by array (a
dozen NumPy calls) and flattening a batch's spike times cost as much as
the backward sweep.  Here a full reset is one copy of a template row into
the kernel's flat state, and a data set's spike times are flattened once
per run (:func:`._inputs.spike_table`): a batch only gathers its examples'
pointers.  The state is the same, bit for bit, as the NumPy backend's way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...neurons import SpikeInput
from ...neurons._spike_examples import SpikeExamples
from .._lookup import check_batch_input
from ._inputs import batch_spike_times, spike_table


class BatchSetup:
    """Reset and SpikeInput loading of :class:`CompiledBackend` (mixin before the NumPy
    backend, whose ``reset`` and ``set_input`` it extends)."""

    _layout: Any
    _pops: dict
    batch_size: int
    timestep: int
    _window_start: int
    _pointers: np.ndarray
    _spike_times: np.ndarray
    #: Per SpikeInput population (layout order): the ``input`` pair it was bound to by
    #: the last join (None: not yet), and the times arrays that join joined.
    _bound: list
    _joined_pieces: list

    def reset(self, *, reset_vars: bool = True, reset_in_syn: bool = True) -> None:
        """As the NumPy backend's ``reset``; a full reset is one copy into the flat state.

        Every variable, ``Isyn``, ``inSyn`` and delay ring is a column block
        of the kernel's ``fstate``: a full reset writes a row of initial
        values (0 for the inputs in flight) into every entry, and clears the
        spikes, the values the NumPy backend's reset writes one by one.
        """
        if not (reset_vars and reset_in_syn):
            super().reset(reset_vars=reset_vars, reset_in_syn=reset_in_syn)  # type: ignore[misc]
            return
        lay = self._layout
        template = self.__dict__.get("_reset_template")
        if template is None or template[0] is not lay:
            template = self._reset_template = (lay, _initial_row(lay, self._pops),
                                               [pst.spikes_f for pst in self._pops.values()
                                                if pst.spikes_f is not None])
        lay.fstate[:] = template[1]
        lay.spikes[:] = False
        for spikes_f in template[2]:
            spikes_f[:] = 0.0
        self.timestep = 0
        self._window_start = 0

    def set_input(self, population: Any, examples: Any) -> None:
        """As the NumPy backend's; SpikeInput's spike times are flattened in compiled code."""
        if isinstance(population.neuron, SpikeInput):
            check_batch_input(population, len(examples), self.batch_size)
            self._state(population).input = batch_spike_times(  # type: ignore[attr-defined]
                examples, self.batch_size, population.num_neurons)
            return
        super().set_input(population, examples)  # type: ignore[misc]

    def set_input_examples(self, population: Any, data: Any, indices: np.ndarray) -> bool:
        """Load the examples ``indices`` of a prepared data set, as ``set_input`` would.

        A SpikeInput data set (``SpikeExamples``) is flattened once per run
        (:func:`._inputs.spike_table`); each batch then only gathers its
        examples' pointers into it.  The kernel sees the same spike times.

        Parameters
        ----------
        population : Population
        data : object
            What the population's ``prepare_input`` returned for the whole data set.
        indices : numpy.ndarray of int64, shape (k,)
            The batch's examples (``k <= batch_size``).

        Returns
        -------
        bool
            False when this data set takes ``set_input`` with the examples instead.
        """
        if not (isinstance(population.neuron, SpikeInput) and isinstance(data, SpikeExamples)):
            return False
        n = population.num_neurons
        table = spike_table(data, n)
        if table is None:
            return False
        k = check_batch_input(population, len(indices), self.batch_size)
        times, first = table
        slot, p0 = self._spike_input_slot(population)
        joined = self._joined_pieces[slot] is times
        if joined:
            # The times joined already (this data set's last batch): write the pointers
            # where the kernel reads them, offset into the joined times.
            offset = self._join_offsets[slot]
            pointer = self._pointers[p0:p0 + self.batch_size * n]
        else:
            offset = 0
            pointer = np.empty(self.batch_size * n, dtype=np.int64)
        rows = pointer.reshape(self.batch_size, n)
        first.take(indices, 0, rows[:k], "raise")  # (positional: half the call's cost)
        if offset:
            rows[:k] += offset
        if k < self.batch_size:
            rows[k:] = offset + len(times) - 1
        if joined:
            pair = self._bound[slot] = (self._spike_times, pointer)
        else:
            pair = (times, pointer)
        self._state(population).input = pair  # type: ignore[attr-defined]
        return True

    def _spike_input_slot(self, population: Any) -> tuple[int, int]:
        """The population's position among the layout's SpikeInput populations, and its
        first pointer."""
        return self._spike_slots()[1][population]

    def _spike_input_states(self) -> list:
        """The states of the layout's SpikeInput populations, in its order."""
        return self._spike_slots()[2]

    def _spike_slots(self) -> tuple[Any, dict, list]:
        """``(layout, {population: (slot, first pointer)}, states)``, made once per layout."""
        slots = self.__dict__.get("_slots_of_layout")
        if slots is None or slots[0] is not self._layout:
            inputs = self._layout.spike_inputs
            slots = self._slots_of_layout = (
                self._layout, {pop: (i, p0) for i, (pop, p0) in enumerate(inputs)},
                [self._pops[pop] for pop, _ in inputs])
        return slots

    def _prepare_spike_inputs(self) -> None:
        """Join every SpikeInput's spike times into one array the kernel reads.

        ``set_input`` replaces a population's ``(times, pointer)``; after
        joining, each population's pair is rebound to views of the joined
        arrays (pointers then index the joined times).  Times arrays that
        are those of the last join (a data set's table, batch after batch)
        are not joined again, and a lone population's times are used as
        they are.
        """
        inputs = self._layout.spike_inputs
        if len(self._bound) != len(inputs):
            self._bound = [None] * len(inputs)
            self._joined_pieces = [None] * len(inputs)
        states = self._spike_input_states()
        if all(pst.input is bound for pst, bound in zip(states, self._bound, strict=True)):
            return
        pieces, offsets, offset = [], [], 0
        for (pop, _), pst in zip(inputs, states, strict=True):
            if pst.input is None:  # no input yet: nothing ever fires
                size = self.batch_size * pop.num_neurons
                pst.input = (np.full(size, np.inf, np.float32), np.arange(size))
            pieces.append(pst.input[0])
            offsets.append(offset)
            offset += len(pst.input[0])
        if any(a is not b for a, b in zip(pieces, self._joined_pieces, strict=True)):
            joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            self._spike_times = joined.astype(np.float32, copy=False)
            self._joined_pieces, self._join_offsets = pieces, offsets
        for slot, ((pop, p0), pst) in enumerate(zip(inputs, states, strict=True)):
            size = self.batch_size * pop.num_neurons
            pointer = pst.input[1]
            self._pointers[p0:p0 + size] = pointer + offsets[slot] if offsets[slot] else pointer
            pst.input = self._bound[slot] = (self._spike_times, self._pointers[p0:p0 + size])


def _initial_row(lay: Any, pops: dict) -> np.ndarray:
    """One entry's ``fstate`` after a full reset: initial values of every variable, 0 for
    ``Isyn``, ``inSyn`` and the delay rings (float32, shape (columns,))."""
    row = np.zeros(lay.fstate.shape[1], dtype=np.float32)
    for pop, pst in pops.items():
        n = pop.num_neurons
        for name, initial in pst.initial.items():
            c0 = lay.var_cols[pop, name]
            row[c0:c0 + n] = initial
    return row


__all__ = ["BatchSetup"]
