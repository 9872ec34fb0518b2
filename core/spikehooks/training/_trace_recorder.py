"""Keep what EventProp needs from a backend that traces the whole batch in compiled code.

The compiled backend copies every step's spikes and the LIF layers'
synaptic input and voltage into trace arrays inside its time loop, so the training
forward pass makes no Python call per step.  The arrays of the
:class:`ForwardResult` are then computed from the trace with the same
float32 operations :class:`ForwardRecorder` applies step by step, so both
give identical results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._forward import ForwardResult
from ._graph import Graph
from ._recorder import ForwardRecorder


class TraceRecorder:
    """Fills a :class:`ForwardResult` from the trace of a backend offering ``start_trace``.

    Parameters
    ----------
    graph : Graph
    populations : list of Population
        In the graph's layer order.
    backend : CompiledBackend
        Offers ``start_trace``, ``traced_spikes`` and ``traced_var``.
    """

    #: Reads the trace after the run: no step observer needed.
    needs_observer = False

    def __init__(self, graph: Graph, populations: list[Any], backend: Any):
        self.graph = graph
        self.populations = populations
        self.backend = backend
        layers = graph.layers
        out = layers[graph.output]
        self._out_pop = populations[graph.output]
        self._current_scale = {
            index: _per_neuron(np.float32(lay.neuron_scale / (np.float32(1.0) - lay.alpha)),
                               lay.size)
            for index, lay in enumerate(layers) if lay.kind == "lif"
        }
        self._variables = [(populations[index], name) for index in self._current_scale
                           for name in ("Isyn", "V")]
        self._max_var = out.readout == "max_var"
        if graph.per_timestep:
            self._variables.append((self._out_pop, "V"))
        if self._max_var:
            self._variables.append((self._out_pop, "VMax"))
        steps, batch = graph.num_steps, backend.batch_size
        self._vmax_start: np.ndarray | None = None
        # The last batch's arrays, as ForwardRecorder's attributes of the same names.
        self.spikes: list[np.ndarray] = [np.zeros((steps, batch, lay.size), bool)
                                         for lay in layers]
        self.dens: list[np.ndarray | None] = [
            np.zeros((steps, batch, lay.size), np.float32) if lay.kind == "lif" else None
            for lay in layers
        ]
        self.currents: list[np.ndarray | None] = [
            None if d is None else np.zeros_like(d) for d in self.dens]
        # Every layer's spikes, denominators and currents side by side (the
        # compiled sweep's layout), reused across batches; the per-layer
        # arrays of a result are views of them.
        # Stored entry-major and seen through (steps, batch, neurons) views: the
        # sweep reads one entry's steps one after another.
        total = sum(lay.size for lay in layers)
        shape = (batch, steps, total)
        self._joined = (np.zeros(shape, bool).transpose(1, 0, 2),
                        np.zeros(shape, np.float32).transpose(1, 0, 2),
                        np.zeros(shape, np.float32).transpose(1, 0, 2))
        columns = np.cumsum([0] + [lay.size for lay in layers]).tolist()
        # Per layer, its (spikes, denominators, currents) views of the joined arrays:
        # valid until the next result(), like ForwardRecorder's arrays.
        self._views = [tuple(a[:, :, columns[index]:columns[index + 1]] for a in self._joined)
                       for index in range(len(layers))]
        # Per neuron (float32, shape (size,)): mlGeNN's per-neuron tau_mem gives each its own.
        self._alphas = {index: (_per_neuron(lay.alpha, lay.size),
                                _per_neuron(lay.neuron_scale, lay.size))
                        for index, lay in enumerate(layers)}

    def begin(self) -> None:
        """Start tracing the batch about to run (the backend has just been reset)."""
        self.backend.start_trace(self._variables)
        if self._max_var:
            self._vmax_start = self.backend.get_var(self._out_pop, "VMax").copy()

    def __call__(self, t: int) -> None:
        """Nothing to do per step (present for the step-observer interface)."""

    def result(self) -> ForwardResult:
        """Return the batch's :class:`ForwardResult`, then stop tracing."""
        backend, graph = self.backend, self.graph
        layers = graph.layers
        for kernel, args in self._kernel_calls():
            kernel(*args)
        spikes = [views[0] for views in self._views]
        dens = [views[1] if index in self._current_scale else None
                for index, views in enumerate(self._views)]
        currents = [views[2] if index in self._current_scale else None
                    for index, views in enumerate(self._views)]
        out = layers[graph.output]
        event = np.full((backend.batch_size, out.size), -1, np.int64)
        if out.kind == "lif":
            from ._update_kernels import first_spike_steps

            # (NumPy's where(any, argmax, -1) over the steps, without its temporaries.)
            first_spike_steps(spikes[graph.output], event)
        if self._max_var:
            vmax = backend.traced_var(self._out_pop, "VMax")
            assert self._vmax_start is not None  # kept by start() for a max_var readout
            before = np.concatenate([self._vmax_start[np.newaxis], vmax[:-1]])
            grew = vmax > before
            last = grew.shape[0] - 1 - np.argmax(grew[::-1], axis=0)
            event = np.where(grew.any(axis=0), last, -1).astype(np.int64)
        readout = backend.get_readout(self._out_pop).reshape(event.shape)
        if out.readout in ("sum_var", "avg_var", "avg_var_exp_weight"):
            event = np.zeros_like(event)
        output_v = (np.array(backend.traced_var(self._out_pop, "V"), dtype=np.float32)
                    if graph.per_timestep else None)
        backend.stop_trace()
        self.spikes, self.dens, self.currents = spikes, dens, currents
        return ForwardResult(spikes, dens, readout, event, currents, output_v,
                             joined=self._joined)

    def _kernel_calls(self) -> list[tuple[Any, tuple]]:
        """The compiled calls that fill the joined arrays from the trace, per layer.

        Built on the first batch and again only when the backend traces into
        other arrays: the trace's views stay valid while its arrays do.
        """
        backend = self.backend
        # The arrays behind the trace's views: a spiking layer's spikes, a traced variable.
        spiking = next((pop for pop, lay in zip(self.populations, self.graph.layers,
                                                strict=True) if lay.kind != "li"), None)
        owners = (None if spiking is None else backend.traced_spikes(spiking).base,
                  backend.traced_var(*self._variables[0]).base if self._variables else None)
        cached = self.__dict__.get("_calls")
        if cached is not None and cached[0][0] is owners[0] and cached[0][1] is owners[1]:
            return cached[1]
        from ._trace_kernel import update_jump_terms, update_spikes

        calls: list[tuple[Any, tuple]] = []
        for index, (pop, lay) in enumerate(zip(self.populations, self.graph.layers,
                                               strict=True)):
            # LI layers never spike: their columns stay 0.
            mask, den, cur = self._views[index]
            if index in self._current_scale:
                alpha, neuron_scale = self._alphas[index]
                calls.append((update_jump_terms, (
                    backend.traced_spikes(pop), backend.traced_var(pop, "Isyn"),
                    backend.traced_var(pop, "V"), self._current_scale[index], alpha,
                    neuron_scale, cur, den, mask)))
            elif lay.kind != "li":
                calls.append((update_spikes, (backend.traced_spikes(pop), mask)))
        self.__dict__["_calls"] = (owners, calls)
        return calls


def _per_neuron(value: Any, size: int) -> np.ndarray:
    """A layer constant as a contiguous float32 array of shape (size,), one per neuron."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float32), (size,)))


def jump_terms_at_spikes(mask: np.ndarray, isyn: np.ndarray, v_end: np.ndarray,
                         scale: np.ndarray, layer: Any, cur: np.ndarray,
                         den: np.ndarray, spikes_before: np.ndarray | None = None) -> None:
    """Fill ``cur`` with ``I`` and ``den`` with ``I - V`` at spikes, else 0 (float32, compiled).

    The same float32 operations as :class:`ForwardRecorder`: ``I = scale * isyn``
    and ``V = v_prev * alpha + neuron_scale * isyn``, the voltage of the step
    before the reset, from the previous step's end voltage ``v_prev``.

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (steps, batch, n)
    isyn, v_end : numpy.ndarray of float32, same shape
        Traced synaptic input and end-of-step (after the reset) voltage.
    scale : numpy.ndarray of float32, shape (n,)
        ``neuron_scale / (1 - alpha)`` of each neuron.
    layer : Layer
        The LIF layer (its ``alpha`` and ``neuron_scale``).
    cur, den : numpy.ndarray of float32, same shape
    spikes_before : numpy.ndarray of bool, same shape, optional
        The spikes ``cur`` and ``den`` were last filled for (they hold that
        result): only entries that change are written, and ``spikes_before``
        receives ``mask``.  None: every entry is written.
    """
    from ._trace_kernel import jump_terms, update_jump_terms

    alpha = _per_neuron(layer.alpha, layer.size)
    neuron_scale = _per_neuron(layer.neuron_scale, layer.size)
    if spikes_before is None:
        jump_terms(mask, isyn, v_end, scale, alpha, neuron_scale, cur, den)
    else:
        update_jump_terms(mask, isyn, v_end, scale, alpha, neuron_scale, cur, den,
                          spikes_before)


def make_forward_recorder(graph: Graph, populations: list[Any], backend: Any) -> Any:
    """Return a :class:`TraceRecorder` when the backend traces, else a :class:`ForwardRecorder`."""
    if hasattr(backend, "start_trace"):
        return TraceRecorder(graph, populations, backend)
    return ForwardRecorder(graph, populations, backend)


__all__ = ["TraceRecorder", "make_forward_recorder"]
