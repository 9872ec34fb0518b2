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


def _connection(conn: Any) -> Any:
    """A Layer stands for its incoming connection, as in mlGeNN."""
    if getattr(conn, "connectivity", None) is None and getattr(conn, "connection", None):
        return conn.connection
    return conn


class ConnVarRecorder(RecorderBase):
    """Record a connection variable, with mlGeNN's signature and layout.

    Parameters
    ----------
    conn : Connection or Layer
        The connection (a Layer: the connection into it, as in mlGeNN).
    genn_var : str
        Variable by backend (GeNN) name (``"g"``) or user name (``"weight"``).
    key : hashable, optional
        Key of the data in ``cb_data``.
    example_filter : None, int, sequence of int or sequence of bool
        Examples to record (None: every example).
    src_neuron_filter, trg_neuron_filter
        Neuron filters (same forms as ``neuron_filter``) over the source and
        target populations.
    per : {"timestep", "batch"}
        ``"timestep"`` (mlGeNN's): the value at the end of every timestep,
        for every selected example.  ``"batch"`` (cheaper): once at the end
        of each batch holding a selected example.
    var : str, optional
        Another name for ``genn_var``.
    epochs, phase, max_bytes, to, overwrite
        As for :class:`SpikeRecorder`; ``to=`` needs ``per="batch"``.
    gather : bool
        Data-parallel runs: collect on rank 0, at the end of the run, what one
        process would have recorded (see ``docs/scale-out.md``).
        ``per="timestep"``: every rank's examples in global example order;
        ``per="batch"``: one entry per batch that held a selected example on
        any rank (the weights are the same on every rank).  Collective: give
        the recorder to every rank.  Not with ``to=``.

    Data
    ----
    ``per="timestep"``: ``cb_data[key]`` is a list with one float32 array of
    shape (timesteps, n_src_selected, n_trg_selected) per recorded example,
    in example order, as mlGeNN returns it (examples of one batch share one
    read-only array, since weights are not per example).
    ``per="batch"``: one float32 array of shape (n_src_selected,
    n_trg_selected) per recorded batch, the value after the batch (after the
    optimiser's update in training).  ``recorder.batches`` holds ``(epoch,
    batch)`` of every entry (epoch None outside training).
    """

    #: The per-timestep copy, attached when ``per="timestep"``.

    _fix_hint = ("record fewer batches (example_filter=..., epochs=...) or fewer synapses "
                 "(src_neuron_filter=/trg_neuron_filter=)")

    def __init__(self, conn: Any, genn_var: str | None = None, key: Any = None,
                 example_filter: Any = None, src_neuron_filter: Any = None,
                 trg_neuron_filter: Any = None, *, per: str = "timestep",
                 var: str | None = None, epochs: Any = None, phase: Any = None,
                 max_bytes: Any = None, to: str | os.PathLike | None = None,
                 overwrite: bool = False, gather: bool = False):
        super().__init__(key, example_filter, epochs, phase, max_bytes, to, overwrite, gather)
        if (genn_var is None) == (var is None):
            raise ConfigurationError(
                f"{self._owner} must be given the variable once, as genn_var= (mlGeNN's name) "
                f"or var=; got genn_var={genn_var!r} and var={var!r}. Pass e.g. genn_var='g'."
            )
        if per not in ("timestep", "batch"):
            raise ConfigurationError(
                f"{self._owner} per must be 'timestep' or 'batch'; got {per!r}. Pass "
                f"per='timestep' (mlGeNN's layout) or per='batch'."
            )
        if per == "timestep" and to is not None:
            raise ConfigurationError(
                f"{self._owner} to= streams one value per batch; got per='timestep'. Pass "
                f"per='batch' to stream, or drop to= to keep every timestep in memory."
            )
        self.conn = _connection(conn)
        self.var = genn_var if var is None else var
        self.per = per
        self._steps: list[np.ndarray] = []
        self._filters = (src_neuron_filter, trg_neuron_filter)
        self._sel: list[np.ndarray | None] = [None, None]
        self._name: str | None = None
        self._data: list[np.ndarray] = []
        self._batches: list[tuple[int | None, int]] = []
        self._gathered_batches: list[tuple[int | None, int]] | None = None
        self.example_indices = []
        self._batch_seqs: list[int] = []
        self._resolved = [False, False]
        self._sizes = [0, 0]
        for side, which in enumerate(("source", "target")):
            end = _end(self.conn, which)
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
        if self.per == "timestep":
            held = self._held_examples(examples, num_epochs, mode)
            steps = backend.num_timesteps
            text = f"{rows} x {cols} values x {steps} timesteps x {held} examples x 4 bytes"
            return Estimate(per * steps * held, text, self._examples.count is None and exact)
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
        self._batches = []
        self.example_indices = []
        self._batch_seqs = []
        self._steps = []
        if self.to is not None:
            meta = {"kind": "conn_var", "key": repr(self.key),
                    "connection": pop_name(self.conn), "variable": self._name,
                    "src_neuron_ids": None if src is None else src.tolist(),
                    "trg_neuron_ids": None if trg is None else trg.tolist()}
            self._writer = StreamWriter(self.to, meta, {
                "values": (np.float32, self._shape_out()), "batches": (np.int64, (2,))})
            return None  # the folder is written when the run starts
        return self._data

    def _block(self) -> np.ndarray:
        self._backend.pull_conn_var(self.conn, self._name)
        values = self._backend.get_conn_var(self.conn, self._name)
        return np.array(values if self._index is None else values[self._index],
                        dtype=np.float32)

    def skipped_hooks(self) -> tuple[str, ...]:
        """Only ``per='timestep'`` needs a timestep hook (other runs simulate a batch at once)."""
        return () if self.per == "timestep" else ("on_timestep_end",)

    def on_timestep_end(self, timestep: int) -> None:
        """Keep this timestep's value (``per='timestep'`` only)."""
        if self._active:
            self._steps.append(self._block())

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        """Store the batch: its timesteps per selected example, or its final value."""
        if not self._active:
            return
        if self.per == "timestep":
            stacked = np.stack(self._steps) if self._steps else np.zeros(
                (0, *self._shape_out()), dtype=np.float32)
            stacked.flags.writeable = False
            self._steps = []
            self._data.extend([stacked] * len(self._local))
            self._batches.extend([(self._batch_epoch, batch)] * len(self._local))
            self.example_indices.extend(self._batch_examples.tolist())
            self._active = False
            return
        block = self._block()
        epoch = self._batch_epoch
        if self._writer is not None:
            row = np.array([[-1 if epoch is None else epoch, batch]], dtype=np.int64)
            self._writer.append({"values": block[None], "batches": row})
        else:
            self._data.append(block)
            self._batches.append((epoch, batch))
            self._batch_seqs.append(self._seq)
        self._active = False

    # ------------------------------------------------------------ gathering
    def _entries(self) -> list[Any]:
        return list(zip(self._data, self._batches, strict=True))

    def _from_entries(self, entries: list[Any]) -> Any:
        self._gathered_batches = [b for _, b in entries]
        return [v for v, _ in entries]

    def _gather(self) -> None:
        """``per="timestep"``: entries are examples (the base class's gather).
        ``per="batch"``: entries are batches, the same on every rank that recorded
        one: rank 0 keeps one per batch of the run, in run order."""
        if self.per == "timestep" or not self.gather or self._comm is None:
            super()._gather()
            return
        parts = self._comm.gather(list(zip(self._batch_seqs, self._data, self._batches,
                                           strict=True)), 0)
        if parts is None:
            return
        by_seq = {seq: (value, batch) for part in parts for seq, value, batch in part}
        order = sorted(by_seq)
        self._gathered = [by_seq[seq][0] for seq in order]
        self._gathered_batches = [by_seq[seq][1] for seq in order]

    def _drop_gathered(self) -> None:
        super()._drop_gathered()
        self._gathered_batches = None

    @property
    def batches(self) -> list[tuple[int | None, int]]:
        """``(epoch, batch)`` of every entry of :meth:`get_data` (epoch None outside
        training); on rank 0 with ``gather=True``, every rank's once the run ended."""
        return self._batches if self._gathered_batches is None else self._gathered_batches

    def get_data(self) -> tuple[Any, Any]:
        """Return ``(key, list of arrays)`` (a lazy handle with ``to=``)."""
        if self._gathered is not None:
            return self.key, self._gathered
        if self._writer is not None:
            return self.key, open_recording(self.to)  # type: ignore[arg-type]
        return self.key, self._data
