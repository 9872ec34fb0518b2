"""Per-step closures of synaptic delivery and injection, float32 throughout.

Every builder returns ``fn(t)`` closing over the arrays it touches (see
``_kernels``); delivery runs for every connection before any neuron update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...connectivity import OneToOne, TiedConnectivity
from ...synapses import Delta, Exponential
from ._state import ConnectionState, PopulationState

StepFn = Callable[[int], None]

_add, _mul = np.add, np.multiply
_copyto, _matmul = np.copyto, np.matmul


def build_delivery(cst: ConnectionState, src: PopulationState, out: np.ndarray,
                   sequential: bool = False) -> StepFn:
    """Return ``fn(t)`` adding the source's previous-step spikes into ``out``.

    ``out`` is the connection's ``in_syn`` or, for a lone delta connection,
    the target's ``isyn``.  Delta input is consumed every step, so its
    accumulator is simply overwritten (``0 + spikes @ W``).  ``sequential``
    adds the weight rows one by one in ascending pre order, GeNN's CPU
    order, instead of one BLAS product.
    """
    spikes, weight = src.spikes_f, cst.weight
    exponential = isinstance(cst.connection.synapse, Exponential)
    if isinstance(cst.connection.connectivity, TiedConnectivity):
        return _tied_delivery(cst, src, out, exponential, sequential)
    if isinstance(cst.connection.connectivity, OneToOne):
        diagonal = weight.reshape(-1)[:: weight.shape[1] + 1]
        if exponential:
            tmp = np.empty_like(out)

            def deliver_diag_exp(t: int) -> None:
                _mul(spikes, diagonal, out=tmp)
                _add(out, tmp, out=out)

            return deliver_diag_exp

        def deliver_diag(t: int) -> None:
            _mul(spikes, diagonal, out=out)

        return deliver_diag
    if sequential:
        return _sequential_delivery(cst, src, out, exponential)
    if exponential:
        tmp = np.empty_like(out)

        def deliver_exp(t: int) -> None:
            _matmul(spikes, weight, out=tmp)
            _add(out, tmp, out=out)

        return deliver_exp

    def deliver(t: int) -> None:
        _matmul(spikes, weight, out=out)

    return deliver


def _drain_slot(slot: np.ndarray, out: np.ndarray, exponential: bool) -> None:
    """Hand the input arriving this step (one ring slot) to the synapse, and empty the slot.

    An exponential synapse adds it to its current; a delta synapse's input is it.
    """
    if exponential:
        _add(out, slot, out=out)
    else:
        _copyto(out, slot)
    slot.fill(0.0)


def build_delayed_delivery(cst: ConnectionState, src: PopulationState,
                           out: np.ndarray, sequential: bool = True) -> StepFn:
    """Return ``fn(t)`` for a connection with synaptic delays.

    The previous step's spikes are added, per distinct delay ``k``, into the
    ring slot of arrival step ``t + k``; then the slot of step ``t`` goes
    into ``out`` (added for exponential, written for delta synapses, whose
    input lasts one step) and is cleared.  ``sequential``: weight rows are
    added one at a time in ascending presynaptic id per batch entry (GeNN's
    order, which the compiled backend reproduces bit for bit); else one
    product per delay (BLAS order).  Weights are read every step, so
    training updates take effect at once; so are the delays
    (``cst.delay_groups``, rebuilt by ``cst.set_delays`` when delays are learned).
    """
    spikes, weight, ring = src.spikes_f, cst.weight, cst.ring
    assert cst.delays is not None and ring is not None
    size = ring.shape[0]
    exponential = isinstance(cst.connection.synapse, Exponential)
    masked, tmp = np.empty_like(weight), np.empty_like(out)
    if sequential:
        return _sequential_delayed_delivery(cst, src, out, exponential)

    def deliver_delayed(t: int) -> None:
        if spikes.any():
            for k, mask in cst.delay_groups:
                _mul(weight, mask, out=masked)
                _matmul(spikes, masked, out=tmp)
                slot = ring[(t + k) % size]
                _add(slot, tmp, out=slot)
        _drain_slot(ring[t % size], out, exponential)

    return deliver_delayed


def _sequential_delayed_delivery(cst: ConnectionState, src: PopulationState, out: np.ndarray,
                                 exponential: bool) -> StepFn:
    """Delayed delivery in GeNN's order: per batch entry, spiking pre ids ascending.

    ``np.add.at`` adds the gathered rows one at a time in index order, so
    every ring entry receives ``((slot + w[p1]) + w[p2]) + ...`` with
    ``p1 < p2 < ...`` among the synapses of that delay.
    """
    flat_spikes, weight, ring = src.spikes.reshape(-1), cst.weight, cst.ring
    assert ring is not None
    num_pre = src.spikes.shape[1]
    size = ring.shape[0]
    flatnonzero, add_at, where = np.flatnonzero, np.add.at, np.where
    zero = np.float32(0.0)

    def deliver_delayed_sequential(t: int) -> None:
        flat = flatnonzero(flat_spikes)
        if len(flat):
            entry, pre = np.divmod(flat, num_pre)
            rows = weight[pre]
            for k, mask in cst.delay_groups:
                slot = ring[(t + k) % size]
                add_at(slot, entry, where(mask[pre] != 0, rows, zero))
        _drain_slot(ring[t % size], out, exponential)

    return deliver_delayed_sequential


def _sequential_delivery(cst: ConnectionState, src: PopulationState, out: np.ndarray,
                         exponential: bool) -> StepFn:
    """Bit-exact GeNN order: ``inSyn = (((inSyn + W[p1]) + W[p2]) + ...)``, ``p`` ascending.

    Each batch entry's spiking pre ids become one column of an index matrix
    ``(rank, batch)``, padded with the table's zero row; the gathered weight
    rows are reduced along the rank axis, which NumPy does sequentially.
    Every batch entry is summed on its own, so results do not depend on the
    batch size.
    """
    flat_spikes, table = src.spikes.reshape(-1), cst.table
    batch, num_pre = src.spikes.shape
    zero_row = num_pre
    first = 1 if exponential else 0
    # Scratch buffers grow to the deepest step seen (at most num_pre + 1 rows).
    scratch = [np.empty((0, batch), dtype=np.intp),
               np.empty((0, batch, table.shape[1]), dtype=np.float32)]
    flatnonzero, bincount, take, reduce = np.flatnonzero, np.bincount, np.take, np.add.reduce
    arange = np.arange(num_pre * batch + 1, dtype=np.intp)

    def deliver_sequential(t: int) -> None:
        flat = flatnonzero(flat_spikes)
        if not len(flat):
            if not exponential:
                out[...] = 0.0
            return
        entry = flat // num_pre
        counts = bincount(entry, minlength=batch)
        depth = int(counts.max()) + first
        starts = counts.cumsum()
        starts -= counts
        if depth > len(scratch[0]):
            size = min(max(depth, 2 * len(scratch[0])), num_pre + first)
            scratch[0] = np.empty((size, batch), dtype=np.intp)
            scratch[1] = np.empty((size, batch, table.shape[1]), dtype=np.float32)
        index, rows = scratch
        used = index[:depth]
        used.fill(zero_row)
        rank = arange[: len(flat)] - starts[entry]
        if exponential:
            rank += 1  # row 0 holds the current inSyn
        used[rank, entry] = flat - entry * num_pre
        gathered = rows[:depth]
        take(table, used, axis=0, out=gathered, mode="clip")  # "raise" would buffer out
        if exponential:
            gathered[0] = out
        reduce(gathered, axis=0, out=out)

    return deliver_sequential


def _tied_delivery(cst: ConnectionState, src: PopulationState, out: np.ndarray,
                   exponential: bool, sequential: bool) -> StepFn:
    """Event-driven delivery through shared kernel entries (convolution, pooling).

    Each spiking pre neuron adds its row of the connectivity's table: targets
    ``row_post[pre]`` get ``kernel[row_tap[pre]] * scale``; padded entries go
    to a spill column that is dropped.  The work is proportional to the
    number of spikes times the row length, never ``n_pre * n_post``.
    ``sequential`` adds in float32 one synapse at a time in ascending pre
    order (``np.add.at`` is unbuffered and ordered), GeNN's order and the
    same sums as the dense sequential delivery; otherwise one ``bincount``
    sums all spikes in float64 and rounds once.
    """
    conn = cst.connection.connectivity
    if not sequential and conn.patches is not None:
        return _im2col_delivery(cst, src, out, exponential)
    row_post, row_tap = conn.row_post, conn.row_tap
    flat_kernel = cst.weight.reshape(-1)  # a view: weight updates are seen live
    scale = np.float32(conn.scale)
    flat_spikes = src.spikes.reshape(-1)
    batch, num_pre = src.spikes.shape
    width = conn.num_post + 1
    offsets = np.arange(batch, dtype=np.int64) * width
    size = batch * width
    flatnonzero, bincount, add_at = np.flatnonzero, np.bincount, np.add.at
    padded = np.zeros((batch, width), dtype=np.float32)
    padded_flat, body = padded.reshape(-1), padded[:, :-1]

    def deliver_tied(t: int) -> None:
        flat = flatnonzero(flat_spikes)
        if not len(flat):
            if not exponential:
                out[...] = 0.0
            return
        entry, pre = np.divmod(flat, num_pre)
        targets = (row_post[pre] + offsets[entry, None]).ravel()
        values = flat_kernel[row_tap[pre]].ravel()
        if scale != 1.0:
            values *= scale
        if sequential:
            if exponential:
                body[...] = out
            else:
                padded.fill(0.0)
            add_at(padded_flat, targets, values)
            out[...] = body
            return
        summed = bincount(targets, values, size).reshape(batch, width)[:, :-1]
        if exponential:
            _add(out, summed, out=out, casting="unsafe")
        else:
            _copyto(out, summed, casting="unsafe")

    return deliver_tied


def _im2col_delivery(cst: ConnectionState, src: PopulationState, out: np.ndarray,
                     exponential: bool) -> StepFn:
    """Convolution as one matmul: gather each output position's patch, times the kernel.

    For dense spiking (``benchmarks/conv.py``: 5 % of inputs per step, batch
    32) this is 4-9x faster than scattering spike by spike; the sums are
    BLAS's, as the ``"blas"`` mode promises for dense connections.
    """
    conn = cst.connection.connectivity
    patches = conn.patches
    kernel = cst.weight.reshape(patches.shape[1], -1)  # a view: updates are seen live
    batch = src.spikes.shape[0]
    padded = np.zeros((batch, src.spikes.shape[1] + 1), dtype=np.float32)
    body = padded[:, :-1]
    gathered = np.empty((batch, *patches.shape), dtype=np.float32)
    result = np.empty((batch, patches.shape[0], kernel.shape[1]), dtype=np.float32)
    flat_result = result.reshape(batch, -1)
    spikes, take = src.spikes, np.take

    def deliver_im2col(t: int) -> None:
        _copyto(body, spikes)
        take(padded, patches, axis=1, out=gathered)
        _matmul(gathered, kernel, out=result)
        if exponential:
            _add(out, flat_result, out=out)
        else:
            _copyto(out, flat_result)

    return deliver_im2col


def build_injection(pst: PopulationState, incoming: list[ConnectionState],
                    dt: float) -> StepFn | None:
    """Return ``fn(t)`` summing each connection's injected current into ``isyn``.

    ``Isyn = 0 + in_1 + in_2 ...`` in connection order; exponential synapses
    inject ``inSyn`` (times ``IScale``) and then decay it.  None when the
    delivery already wrote ``isyn`` (a lone delta connection) or there is no
    input.
    """
    isyn = pst.isyn
    parts: list[StepFn] = []
    for index, cst in enumerate(incoming):
        synapse, in_syn = cst.connection.synapse, cst.in_syn
        if isinstance(synapse, Delta):
            parts.append(_inject(isyn, in_syn, None, index == 0))
        else:
            scale = synapse.i_scale(dt) if synapse.scale_i else None
            parts.append(_inject(isyn, in_syn, scale, index == 0))
            parts.append(_decay(in_syn, synapse.exp_decay(dt)))
    if not parts:
        return None
    if len(parts) == 2:
        first, second = parts

        def inject_two(t: int) -> None:
            first(t)
            second(t)

        return inject_two
    steps = tuple(parts)

    def inject_all(t: int) -> None:
        for part in steps:
            part(t)

    return inject_all


def _inject(isyn: np.ndarray, in_syn: np.ndarray, scale: Any, first: bool) -> StepFn:
    if scale is None and first:
        return lambda t: _copyto(isyn, in_syn)
    if scale is None:
        return lambda t: _add(isyn, in_syn, out=isyn)
    if first:
        return lambda t: _mul(in_syn, scale, out=isyn)
    tmp = np.empty_like(isyn)

    def inject_scaled(t: int) -> None:
        _mul(in_syn, scale, out=tmp)
        _add(isyn, tmp, out=isyn)

    return inject_scaled


def _decay(in_syn: np.ndarray, decay: np.float32) -> StepFn:
    return lambda t: _mul(in_syn, decay, out=in_syn)


__all__ = ["build_delayed_delivery", "build_delivery", "build_injection"]
