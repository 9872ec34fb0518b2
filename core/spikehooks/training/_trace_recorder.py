"""Keep what EventProp needs from a backend that simulates the whole batch in compiled code.

The compiled backend appends one record per spike inside its time loop
(step, neuron and, at a LIF spike, the current ``I`` and jump denominator
``I - V``, with the NumPy training recorder's float32 operations), so the
training forward pass makes no Python call per step and writes nothing per
neuron per step.  Only what a loss reads every step is traced densely: the
output's ``V`` for a per-timestep loss, ``VMax`` for a max_var readout.
The :class:`ForwardResult` carries the records; its dense arrays are built
from them only if something reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._forward import ForwardResult
from ._graph import Graph
from ._recorder import ForwardRecorder
from ._spike_records import SpikeRecordsData


class TraceRecorder:
    """Fills a :class:`ForwardResult` from the spike records of a backend offering them.

    Parameters
    ----------
    graph : Graph
    populations : list of Population
        In the graph's layer order.
    backend : CompiledBackend
        Offers ``start_records``/``records``/``stop_records`` and
        ``start_trace``/``traced_var``/``stop_trace``.
    """

    #: Reads the records after the run: no step observer needed.
    needs_observer = False

    def __init__(self, graph: Graph, populations: list[Any], backend: Any):
        self.graph = graph
        self.populations = populations
        self.backend = backend
        layers = graph.layers
        #: The output layer's index and layer (read every batch; fixed for the graph).
        self._out_index = graph.output
        self._out = layers[self._out_index]
        self._out_pop = populations[self._out_index]
        # Per spiking layer, its population and the LIF constants of the jump terms
        # (float32, one per neuron: mlGeNN's per-neuron tau_mem gives each its own).
        self._recorded: list[tuple[Any, Any]] = []
        for pop, lay in zip(populations, layers, strict=True):
            if lay.kind == "li":
                continue
            consts = None
            if lay.kind == "lif":
                consts = (_per_neuron(np.float32(lay.neuron_scale
                                                 / (np.float32(1.0) - lay.alpha)), lay.size),
                          _per_neuron(lay.alpha, lay.size),
                          _per_neuron(lay.neuron_scale, lay.size))
            self._recorded.append((pop, consts))
        self._variables: list[tuple[Any, str]] = []
        self._max_var = layers[graph.output].readout == "max_var"
        if graph.per_timestep:
            self._variables.append((self._out_pop, "V"))
        if self._max_var:
            self._variables.append((self._out_pop, "VMax"))
        sizes = [lay.size for lay in layers]
        self._layer_starts = np.cumsum([0, *sizes]).astype(np.int64)
        self._lif = tuple(lay.kind == "lif" for lay in layers)
        self._col_map: np.ndarray | None = None
        self._vmax_start: np.ndarray | None = None
        self._last: ForwardResult | None = None

    # The last batch's dense arrays, as ForwardRecorder's attributes of the same names
    # (built from the records when read; all False / 0 before the first batch).
    @property
    def spikes(self) -> list[np.ndarray]:
        """Per layer, bool (num_steps, batch, size): the last batch's spikes."""
        return self._dense()[0]

    @property
    def dens(self) -> list[np.ndarray | None]:
        """Per layer, float32 (num_steps, batch, size) jump denominators ``I - V``, or None."""
        return self._dense()[1]

    @property
    def currents(self) -> list[np.ndarray | None]:
        """Per layer, float32 (num_steps, batch, size) currents ``I``, or None."""
        return self._dense()[2]

    def _dense(self) -> tuple[list[np.ndarray], list[np.ndarray | None],
                              list[np.ndarray | None]]:
        if self._last is not None:
            assert self._last.currents is not None  # built from the records
            return self._last.spikes, self._last.denominators, self._last.currents
        shape = (self.graph.num_steps, self.backend.batch_size)
        spikes = [np.zeros((*shape, lay.size), bool) for lay in self.graph.layers]
        floats: list[np.ndarray | None] = [
            np.zeros(s.shape, np.float32) if lif else None
            for s, lif in zip(spikes, self._lif, strict=True)]
        return spikes, floats, [None if f is None else f.copy() for f in floats]

    def _column_map(self) -> np.ndarray:
        """Joined neuron index (graph order) of each of the backend's spike columns."""
        if self._col_map is None:
            col_map = np.full(max(self.backend.num_spike_columns, 1), -1, np.int64)
            for index, pop in enumerate(self.populations):
                if self.graph.layers[index].kind == "li":
                    continue
                s0 = self.backend.spike_column(pop)
                col_map[s0:s0 + pop.num_neurons] = (self._layer_starts[index]
                                                    + np.arange(pop.num_neurons))
            self._col_map = col_map
        return self._col_map

    def begin(self) -> None:
        """Start recording the batch about to run (the backend has just been reset)."""
        self.backend.start_records(self._recorded)
        if self._variables:
            self.backend.start_trace(self._variables, spikes=False)
        if self._max_var:
            self._vmax_start = self.backend.get_var(self._out_pop, "VMax").copy()

    def __call__(self, t: int) -> None:
        """Nothing to do per step (present for the step-observer interface)."""

    def result(self) -> ForwardResult:
        """Return the batch's :class:`ForwardResult`, then stop recording."""
        backend, graph = self.backend, self.graph
        rec_i, rec_f, counts = backend.records()
        records = SpikeRecordsData(rec_i, rec_f, counts, self._column_map(),
                                   self._layer_starts, graph.num_steps, self._lif)
        out = self._out
        if out.kind == "lif":
            event = records.first_spikes(self._out_index)
        else:
            event = np.full((backend.batch_size, out.size), -1, np.int64)
        if self._max_var:
            vmax = backend.traced_var(self._out_pop, "VMax")
            assert self._vmax_start is not None  # kept by begin() for a max_var readout
            before = np.concatenate([self._vmax_start[np.newaxis], vmax[:-1]])
            grew = vmax > before
            last = grew.shape[0] - 1 - np.argmax(grew[::-1], axis=0)
            event = np.where(grew.any(axis=0), last, -1).astype(np.int64)
        readout = backend.get_readout(self._out_pop).reshape(event.shape)
        if out.readout in ("sum_var", "avg_var", "avg_var_exp_weight"):
            event = np.zeros_like(event)
        output_v = (np.array(backend.traced_var(self._out_pop, "V"), dtype=np.float32)
                    if graph.per_timestep else None)
        if self._variables:
            backend.stop_trace()
        backend.stop_records()
        self._last = ForwardResult(None, None, readout, event, None,  # type: ignore[arg-type]
                                   output_v, records=records)
        return self._last


def _per_neuron(value: Any, size: int) -> np.ndarray:
    """A layer constant as a contiguous float32 array of shape (size,), one per neuron."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float32), (size,)))


def make_forward_recorder(graph: Graph, populations: list[Any], backend: Any) -> Any:
    """Return a :class:`TraceRecorder` when the backend traces, else a :class:`ForwardRecorder`."""
    if hasattr(backend, "start_trace"):
        return TraceRecorder(graph, populations, backend)
    return ForwardRecorder(graph, populations, backend)


__all__ = ["TraceRecorder", "make_forward_recorder"]
