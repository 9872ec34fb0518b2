"""The training forward pass: the NumPy backend's dynamics, keeping what EventProp needs.

Per step ``n`` (the backend's order, all float32):

1. every spike emitted in step ``n - 1`` adds its weight row to its
   connection's ``inSyn`` (``J``), one row at a time in ascending
   presynaptic id per example (the backend's default ``"sequential"``
   accumulation), so each example's float32 sums are rounded the same way
   whatever the batch size, CPU or BLAS library; ``accumulation="blas"``
   uses one matrix product instead, as the backend's ``"blas"`` option;
2. per population, ``Isyn = sum_conn syn_scale * J``; LIF:
   ``V = alpha V + neuron_scale Isyn``, spike if ``V >= v_thresh``, then
   ``V = 0``; LI: ``V = alpha V + neuron_scale Isyn + bias``, then the readout
   accumulates; afterwards exponential ``J *= beta``, delta ``J = 0``.

Kept for the backward pass: every population's spikes as a boolean raster
and, for every LIF spike, the continuous-time current
``I = neuron_scale Isyn / (1 - alpha)`` of ``tau_m dV/dt = -V + I`` during
the step of the crossing and the jump denominator ``I - V``, with ``V`` the
membrane voltage of that step before the reset (mlGeNN's stored value).
``(I - v_thresh) / (I - V) = alpha^-x``, where ``x`` is the fraction of the
step left after the crossing, if ``I`` is constant over the step.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._graph import Graph
from ._spike_records import SpikeRecordsData

#: What a silent neuron's ``first_spike_time`` readout holds (mlGeNN's float32 min).
SILENT = np.finfo(np.float32).min


@dataclass
class ForwardResult:
    """What the forward pass keeps.

    Attributes
    ----------
    spikes : list of numpy.ndarray of bool, shape (num_steps, batch, size)
        Per layer, ``spikes[l][n, b, i]`` is True when neuron ``i`` fired in step ``n``.
    denominators : list of numpy.ndarray of float32 or None
        Per LIF layer, shape (num_steps, batch, size): ``I - V`` at each
        spike (``V`` before the reset), 0 elsewhere; None for other layers.
    readout : numpy.ndarray of float32, shape (batch, num_outputs)
        The output layer's readout (``-t_first`` in ms for first_spike_time,
        :data:`SILENT` for a silent neuron).
    event_step : numpy.ndarray of int64, shape (batch, num_outputs)
        Step of the readout's event: the step of ``VMax`` (max_var, -1 if
        ``V`` never exceeded 0) or of the first spike (first_spike_time,
        -1 if silent); zeros for other readouts.
    currents : list of numpy.ndarray of float32 or None
        Per LIF layer, shape (num_steps, batch, size): ``I`` at each spike,
        0 elsewhere; None for other layers.
    output_v : numpy.ndarray of float32, shape (num_steps, batch, num_outputs), or None
        The output's ``V`` after the update of every step (what a
        per-timestep loss compares); kept only when ``graph.per_timestep``.
    records : SpikeRecordsData, optional
        The same spikes, currents and denominators as per-spike records (the
        compiled backend's forward pass keeps only these; the compiled sweep
        reads them).  With records, ``spikes``, ``denominators`` and
        ``currents`` may be passed as None: they are then built from the
        records when first read.
    """

    spikes: list[np.ndarray]
    denominators: list[np.ndarray | None]
    readout: np.ndarray
    event_step: np.ndarray
    currents: list[np.ndarray | None] | None = None
    output_v: np.ndarray | None = None
    records: SpikeRecordsData | None = None


def with_output(fwd: ForwardResult, readout: np.ndarray, event_step: np.ndarray,
                output_v: np.ndarray | None = None) -> ForwardResult:
    """A copy of ``fwd`` with another readout, event steps and output ``V``.

    The other fields are shared, and dense fields a result with records has
    not built yet stay unbuilt (the losses read only these three).
    """
    new = copy.copy(fwd)
    new.readout, new.event_step, new.output_v = readout, event_step, output_v
    return new


#: The dense fields a result with records builds on first read.
_DENSE = ("spikes", "denominators", "currents")


def _dense_field(name: str) -> property:
    """A dense field of :class:`ForwardResult`, built from its records when first read."""
    key = "_" + name

    def get(self: ForwardResult) -> Any:
        value = self.__dict__.get(key)
        records = self.__dict__.get("records")
        if value is None and records is not None:
            for field_name, array in zip(_DENSE, records.dense(), strict=True):
                if self.__dict__.get("_" + field_name) is None:
                    self.__dict__["_" + field_name] = array
            value = self.__dict__[key]
        return value

    def put(self: ForwardResult, value: Any) -> None:
        self.__dict__[key] = value

    return property(get, put)


for _name in _DENSE:
    # Installed after the dataclass is built, so its __init__ keeps the fields' order.
    setattr(ForwardResult, _name, _dense_field(_name))


def forward(graph: Graph, weights: list[np.ndarray], input_spikes: np.ndarray,
            accumulation: str = "sequential") -> ForwardResult:
    """Run one batch forward from rest, keeping spikes and jump denominators.

    Parameters
    ----------
    graph : Graph
        Layers (layer 0 the input) and connections.
    weights : list of numpy.ndarray of float32, shape (n_pre, n_post)
        One per connection, dense pre-major (absent synapses 0).
    input_spikes : numpy.ndarray of bool, shape (num_steps, batch, n_input)
        The input layer's spikes per step.
    accumulation : {"sequential", "blas"}
        How simultaneous spikes are summed into ``inSyn``: weight rows one by
        one in ascending presynaptic id (exact GeNN order, independent of the
        batch size and of the machine), or one BLAS product per step (its
        blocking, and so the last bits, depend on the batch size and the
        BLAS kernel).

    Returns
    -------
    ForwardResult
    """
    if accumulation not in ("sequential", "blas"):
        raise ValueError(
            f"forward accumulation must be 'sequential' or 'blas'; got {accumulation!r}."
        )
    blas = accumulation == "blas"
    num_steps, batch = input_spikes.shape[:2]
    layers, conns = graph.layers, graph.conns
    spikes: list[np.ndarray] = [np.zeros((num_steps, batch, lay.size), bool) for lay in layers]
    spikes[0] = np.asarray(input_spikes, dtype=bool)
    dens: list[np.ndarray | None] = [
        np.zeros((num_steps, batch, lay.size), np.float32) if lay.kind == "lif" else None
        for lay in layers
    ]
    currents: list[np.ndarray | None] = [
        np.zeros((num_steps, batch, lay.size), np.float32) if lay.kind == "lif" else None
        for lay in layers
    ]
    v = [np.zeros((batch, lay.size), np.float32) for lay in layers]
    j = [np.zeros((batch, layers[c.post].size), np.float32) for c in conns]
    out = layers[graph.output]
    acc = np.zeros((batch, out.size), np.float32)
    event = np.full((batch, out.size), -1, np.int64)
    output_v = (np.zeros((num_steps, batch, out.size), np.float32) if graph.per_timestep
                else None)
    inv_steps = np.float32(1.0 / num_steps)
    # Per-neuron constants (arrays of shape (size,)) broadcast over the batch.
    current_scale = {
        li: np.broadcast_to(np.float32(lay.neuron_scale / (1.0 - lay.alpha)), (batch, lay.size))
        for li, lay in enumerate(layers) if lay.kind == "lif"
    }
    thresholds = {li: np.broadcast_to(lay.v_thresh, (batch, lay.size))
                  for li, lay in enumerate(layers) if lay.kind == "lif"}
    any_spikes = [np.zeros(num_steps, bool) for _ in layers]
    any_spikes[0] = np.asarray(spikes[0].reshape(num_steps, -1).any(axis=1))

    # Delayed connections: input in flight, by arrival step modulo (max delay + 1).
    rings = {
        index: np.zeros((int(c.delays.max()) + 1, batch, layers[c.post].size), np.float32)
        for index, c in enumerate(conns) if c.delays is not None
    }
    groups = {index: conns[index].delay_groups(weights[index]) for index in rings}

    for n in range(num_steps):
        for index, conn in enumerate(conns):
            fired_before = n > 0 and any_spikes[conn.pre][n - 1]
            if index in rings:
                ring = rings[index]
                if fired_before and blas:
                    pre = spikes[conn.pre][n - 1].astype(np.float32)
                    for k, w_k in groups[index]:
                        slot = ring[(n + k) % len(ring)]
                        slot += pre @ w_k
                elif fired_before:
                    # The backend's order: per example, pre ids ascending, one add each.
                    rows, cols = np.nonzero(spikes[conn.pre][n - 1])
                    for k, w_k in groups[index]:
                        np.add.at(ring[(n + k) % len(ring)], rows, w_k[cols])
                j[index] += ring[n % len(ring)]
                ring[n % len(ring)] = 0.0
            elif not fired_before:
                continue
            elif blas:
                j[index] += spikes[conn.pre][n - 1].astype(np.float32) @ weights[index]
            else:
                # nonzero is row-major: per example, pre ids ascending; add.at
                # adds them one at a time in that order (plain float32 adds).
                rows, cols = np.nonzero(spikes[conn.pre][n - 1])
                np.add.at(j[index], rows, weights[index][cols])
        for li in range(1, len(layers)):
            lay = layers[li]
            isyn = np.zeros((batch, lay.size), np.float32)
            for index in lay.incoming:
                isyn += conns[index].syn_scale * j[index]
            vl = v[li]
            vl *= lay.alpha
            vl += lay.neuron_scale * isyn
            if lay.kind == "lif":
                fired = vl >= lay.v_thresh
                if fired.any():
                    any_spikes[li][n] = True
                    spikes[li][n] = fired
                    den, cur = dens[li], currents[li]
                    assert den is not None and cur is not None
                    cur[n][fired] = current_scale[li][fired] * isyn[fired]
                    den[n][fired] = cur[n][fired] - vl[fired]
                    vl[fired] = vl[fired] - thresholds[li][fired] if lay.relative_reset else 0.0
                    if li == graph.output:
                        first = fired & (event < 0)
                        event[first] = n
            else:
                vl += lay.bias
                if lay.readout == "sum_var":
                    acc += vl
                elif lay.readout == "avg_var":
                    acc += inv_steps * vl
                elif lay.readout == "avg_var_exp_weight":
                    acc += (np.float32(np.exp(-n / num_steps)) * inv_steps) * vl
                elif lay.readout == "var":
                    acc[:] = vl
                else:
                    larger = vl > acc
                    acc[larger] = vl[larger]
                    event[larger] = n
            if output_v is not None and li == graph.output:
                output_v[n] = vl
            for index in lay.incoming:
                if conns[index].synapse == "delta":
                    j[index][:] = 0.0
                else:
                    j[index] *= conns[index].beta

    if out.readout == "first_spike_time":
        times = (event * graph.dt).astype(np.float32)
        readout = np.where(event >= 0, -times, SILENT).astype(np.float32)
    else:
        readout = acc
        if out.readout != "max_var":
            event[:] = 0
    return ForwardResult(spikes, dens, readout, event, currents, output_v)
