"""Keep what EventProp needs while the inference backend runs a batch.

The training forward pass *is* the backend's simulation (so training and
inference spike identically); a step observer copies each step's spike
masks, and the synaptic input at each LIF spike for the jump denominator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._forward import ForwardResult
from ._graph import Graph


class ForwardRecorder:
    """A backend step observer filling a :class:`ForwardResult` for one batch.

    Parameters
    ----------
    graph : Graph
    populations : list of Population
        In the graph's layer order.
    backend : NumpyBackend
        Must offer ``get_spike_mask``, ``get_synaptic_input``, ``get_var`` and
        ``get_readout``.
    """

    def __init__(self, graph: Graph, populations: list[Any], backend: Any):
        self.graph = graph
        self.populations = populations
        self.backend = backend
        steps, batch = graph.num_steps, backend.batch_size
        layers = graph.layers
        self.spikes = [np.zeros((steps, batch, lay.size), bool) for lay in layers]
        self.dens = [
            np.zeros((steps, batch, lay.size), np.float32) if lay.kind == "lif" else None
            for lay in layers
        ]
        out = layers[graph.output]
        self.event = np.full((batch, out.size), -1, np.int64)
        self._out_pop = populations[graph.output]
        self._spiking = [
            (index, pop) for index, (pop, lay) in enumerate(zip(populations, layers, strict=True))
            if lay.kind != "li"
        ]
        # Per-neuron constants (arrays of shape (size,)) broadcast over the batch.
        self._current_scale = {
            index: np.broadcast_to(np.float32(lay.neuron_scale / (np.float32(1.0) - lay.alpha)),
                                   (batch, lay.size))
            for index, lay in enumerate(layers) if lay.kind == "lif"
        }
        self._alpha = {index: np.broadcast_to(layers[index].alpha, (batch, layers[index].size))
                       for index in self._current_scale}
        self._neuron_scale = {
            index: np.broadcast_to(layers[index].neuron_scale, (batch, layers[index].size))
            for index in self._current_scale}
        self.currents = [
            np.zeros((steps, batch, lay.size), np.float32) if lay.kind == "lif" else None
            for lay in layers
        ]
        # V after the previous step, to rebuild V before the reset at a spike.
        self._v_prev = {index: np.zeros((batch, lay.size), np.float32)
                        for index, lay in enumerate(layers) if lay.kind == "lif"}
        # A per-timestep loss compares the output's V at every step.
        self.output_v = (np.zeros((steps, batch, out.size), np.float32) if graph.per_timestep
                         else None)
        self._out_v: np.ndarray | None = None
        self._vmax_prev = None
        if out.readout == "max_var":
            self._vmax = backend.get_var(self._out_pop, "VMax")
            self._vmax_prev = np.zeros_like(self._vmax)

    def begin(self) -> None:
        """Clear the arrays for a new batch (the backend has just been reset)."""
        # The backend's views are live: fetch them once per batch, not per step.
        backend = self.backend
        self._views = [
            (index, backend.get_spike_mask(pop),
             backend.get_synaptic_input(pop) if index in self._current_scale else None,
             backend.get_var(pop, "V") if index in self._current_scale else None)
            for index, pop in self._spiking
        ]
        for v_prev in self._v_prev.values():
            v_prev[:] = 0.0
        for cur in self.currents:
            if cur is not None:
                cur[:] = 0.0
        for spikes in self.spikes:
            spikes[:] = False
        for den in self.dens:
            if den is not None:
                den[:] = 0.0
        self.event[:] = -1
        if self.output_v is not None:
            self._out_v = backend.get_var(self._out_pop, "V")
            self.output_v[:] = 0.0
        if self._vmax_prev is not None:
            self._vmax = self.backend.get_var(self._out_pop, "VMax")
            self._vmax_prev[:] = self._vmax

    def __call__(self, t: int) -> None:
        out_index = self.graph.output
        for index, mask, isyn, v_now in self._views:
            if mask.any():
                self.spikes[index][t] = mask
                den, cur = self.dens[index], self.currents[index]
                if isyn is not None and den is not None and cur is not None:
                    # The backend's own float32 update, V = alpha V + neuron_scale Isyn.
                    v_prev = self._v_prev[index][mask]
                    v_spike = (v_prev * self._alpha[index][mask]
                               + self._neuron_scale[index][mask] * isyn[mask])
                    cur[t][mask] = self._current_scale[index][mask] * isyn[mask]
                    den[t][mask] = cur[t][mask] - v_spike
                    if index == out_index:
                        self.event[mask & (self.event < 0)] = t
            if v_now is not None:
                self._v_prev[index][:] = v_now
        if self.output_v is not None:
            self.output_v[t] = self._out_v
        if self._vmax_prev is not None:
            grew = self._vmax > self._vmax_prev
            self.event[grew] = t
            self._vmax_prev[grew] = self._vmax[grew]

    def result(self) -> ForwardResult:
        """Return the batch's :class:`ForwardResult` (arrays shared, valid until :meth:`begin`)."""
        readout = self.backend.get_readout(self._out_pop).reshape(self.event.shape)
        event = self.event
        if self.graph.layers[self.graph.output].readout in ("sum_var", "avg_var",
                                                                "avg_var_exp_weight"):
            event = np.zeros_like(event)
        return ForwardResult(self.spikes, self.dens, readout, event, self.currents,
                             self.output_v)
