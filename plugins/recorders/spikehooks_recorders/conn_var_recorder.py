"""Recording a connection variable (e.g. weights during training) once per batch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

from ._base import Estimate, RecorderBase, pop_name, pop_shape
from ._filters import neuron_ids
from ._reading import open_recording
from ._streaming import StreamWriter


def _end(conn: Any, which: str) -> Any:
    """The source or target population of ``conn`` (attribute or weakref-style callable)."""
    end = getattr(conn, which, None)
    if callable(end) and pop_shape(end) is None:
        end = end()
    return end


class ConnVarRecorder(RecorderBase):
    """Record a connection variable at the end of batches.

    Parameters
    ----------
    conn : Connection
        The connection.
    var : str
        Variable by user name (``"weight"``) or backend name (``"g"``).
    key : hashable, optional
        Key of the data in ``cb_data``.
    example_filter : None, int, sequence of int or sequence of bool
        Record only at the end of batches holding at least one selected
        example (None: every batch).
    src_neuron_filter, trg_neuron_filter
        Neuron filters (same forms as ``neuron_filter``) over the source and
        target populations.
    epochs, phase, max_bytes, to, overwrite
        As for :class:`SpikeRecorder`.

    Data
    ----
    ``cb_data[key]``: a list with one float32 array of shape
    (n_src_selected, n_trg_selected) per recorded batch, the value after the
    batch (after the optimiser's update in training).  ``recorder.batches``
    holds ``(epoch, batch)`` of every entry (epoch None outside training).
    """

    _fix_hint = ("record fewer batches (example_filter=..., epochs=...) or fewer synapses "
                 "(src_neuron_filter=/trg_neuron_filter=)")

    def __init__(self, conn: Any, var: str, key: Any = None, example_filter: Any = None,
                 src_neuron_filter: Any = None, trg_neuron_filter: Any = None, *,
                 epochs: Any = None, phase: Any = None, max_bytes: Any = None,
                 to: str | os.PathLike | None = None, overwrite: bool = False):
        super().__init__(key, example_filter, epochs, phase, max_bytes, to, overwrite)
        self.conn = conn
        self.var = var
        self._filters = (src_neuron_filter, trg_neuron_filter)
        self._sel: list[np.ndarray | None] = [None, None]
        self._name: str | None = None
        self._data: list[np.ndarray] = []
        self.batches: list[tuple[int | None, int]] = []
        self._resolved = [False, False]
        self._sizes = [0, 0]
        for side, which in enumerate(("source", "target")):
            end = _end(conn, which)
            shape = pop_shape(end)
            if shape is not None:
                self._select(side, shape, pop_name(end))

    def _select(self, side: int, shape: tuple[int, ...], name: str) -> None:
        param = ("src_neuron_filter", "trg_neuron_filter")[side]
        self._sel[side] = neuron_ids(self._filters[side], shape, name, self._owner, param)
        self._sizes[side] = int(np.prod(shape))
        self._resolved[side] = True

    def __repr__(self) -> str:
        return f"ConnVarRecorder({pop_name(self.conn)!r}, {self.var!r}, key={self.key!r})"

    def _validate(self, backend: Any) -> None:
        names = dict(backend.get_conn_var_names(self.conn))
        if self.var in names:
            self._name = names[self.var]
        elif self.var in names.values():
            self._name = self.var
        else:
            listing = ", ".join(f"{u} ({g})" for u, g in names.items()) or "none"
            raise ConfigurationError(
                f"{self._owner} var must name a variable of connection "
                f"{pop_name(self.conn)!r}; got {self.var!r}. Its variables "
                f"(user name (backend name)): {listing}."
            )
        if not all(self._resolved):
            backend.pull_conn_var(self.conn, self._name)
            dense = backend.get_conn_var(self.conn, self._name).shape
            for side in (0, 1):
                if not self._resolved[side]:
                    self._select(side, (int(dense[side]),), f"{pop_name(self.conn)} side {side}")

    def _shape_out(self) -> tuple[int, int]:
        return tuple(  # type: ignore[return-value]
            self._sizes[s] if self._sel[s] is None else len(self._sel[s])  # type: ignore[arg-type]
            for s in (0, 1))

    def _estimate(self, backend: Any, examples: int | None, num_epochs: int | None,
                  mode: str | None, exact: bool) -> Estimate | None:
        rows, cols = self._shape_out()
        per = rows * cols * 4
        if self.to is not None:
            return Estimate(per, "one batch, streamed to disk", True)
        if not self._gate.phase_ok(mode):
            return Estimate(0, "not recorded in this phase", True)
        if examples is None:
            return None
        batches = -(-examples // backend.batch_size)
        count = self._examples.count
        if count is not None:
            batches = min(batches, count)
        batches *= self._gate.count_epochs(num_epochs)
        text = f"{rows} x {cols} values x {batches} batches x 4 bytes"
        return Estimate(per * batches, text, count is None and exact)

    def _prepare(self, backend: Any, mode: str | None) -> Any:
        src, trg = self._sel
        self._index = None if src is None and trg is None else np.ix_(
            np.arange(self._sizes[0]) if src is None else src,
            np.arange(self._sizes[1]) if trg is None else trg)
        self._data = []
        self.batches = []
        if self.to is not None:
            meta = {"kind": "conn_var", "key": repr(self.key),
                    "connection": pop_name(self.conn), "variable": self._name,
                    "src_neuron_ids": None if src is None else src.tolist(),
                    "trg_neuron_ids": None if trg is None else trg.tolist()}
            self._writer = StreamWriter(self.to, meta, {
                "values": (np.float32, self._shape_out()), "batches": (np.int64, (2,))})
            return None  # the folder is written when the run starts
        return self._data

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        """Copy the (selected part of the) variable after a selected batch."""
        if not self._active:
            return
        self._backend.pull_conn_var(self.conn, self._name)
        values = self._backend.get_conn_var(self.conn, self._name)
        block = np.array(values if self._index is None else values[self._index],
                         dtype=np.float32)
        epoch = self._batch_epoch
        if self._writer is not None:
            row = np.array([[-1 if epoch is None else epoch, batch]], dtype=np.int64)
            self._writer.append({"values": block[None], "batches": row})
        else:
            self._data.append(block)
            self.batches.append((epoch, batch))
        self._active = False

    def get_data(self) -> tuple[Any, Any]:
        """Return ``(key, list of arrays)`` (a lazy handle with ``to=``)."""
        if self._writer is not None:
            return self.key, open_recording(self.to)  # type: ignore[arg-type]
        return self.key, self._data
