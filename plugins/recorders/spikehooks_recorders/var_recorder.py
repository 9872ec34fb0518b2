"""Recording state variables of a population every (k-th) timestep."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from spikehooks.checks import int_at_least
from spikehooks.errors import ConfigurationError

from ._base import Estimate, RecorderBase, pop_name, pop_shape
from ._filters import neuron_ids
from ._reading import open_recording
from ._streaming import StreamWriter


class VarRecorder(RecorderBase):
    """Record a state variable of one population.

    Parameters
    ----------
    pop : Population
        The population.
    var : str, optional
        Variable by user name (``"v"``) or backend name (``"V"``).
    key : hashable, optional
        Key of the data in ``cb_data``.
    example_filter, neuron_filter
        As for :class:`SpikeRecorder`; a shared (population-wide) variable
        ignores the neuron filter, with a warning.
    genn_var : str, optional
        Variable by backend name (``"VSum"``); give ``var`` or ``genn_var``.
    record_every : int
        Keep every k-th timestep: rows are the values after steps
        ``k-1, 2k-1, ...`` (``num_timesteps // k`` rows); see :meth:`times_ms`.
    epochs, phase, max_bytes, to, overwrite, gather
        As for :class:`SpikeRecorder`.

    Data
    ----
    ``cb_data[key]``: a list with one float32 array of shape
    (rows, n_selected) per recorded example, neurons in ascending flat-id
    order; row ``r`` is the value after the neuron update (threshold and
    reset included) of step ``(r + 1) * k - 1``.
    """

    _fix_hint = ("record fewer examples (example_filter=...), fewer neurons "
                 "(neuron_filter=...) or fewer timesteps (record_every=...)")

    def __init__(self, pop: Any, var: str | None = None, key: Any = None,
                 example_filter: Any = None, neuron_filter: Any = None,
                 genn_var: str | None = None, *, record_every: int = 1, epochs: Any = None,
                 phase: Any = None, max_bytes: Any = None, to: str | os.PathLike | None = None,
                 overwrite: bool = False, gather: bool = False):
        super().__init__(key, example_filter, epochs, phase, max_bytes, to, overwrite, gather)
        if (var is None) == (genn_var is None):
            raise ConfigurationError(
                f"{self._owner} needs exactly one of var= and genn_var=; got var={var!r}, "
                f"genn_var={genn_var!r}. Pass e.g. VarRecorder(pop, 'v') or genn_var='VSum'."
            )
        int_at_least(record_every, self._owner, "record_every",
                     "Pass e.g. record_every=10 to keep every 10th timestep.")
        self.pop: Any = pop
        self.var: str | None = var
        self.genn_var: str | None = genn_var
        self.neuron_filter: Any = neuron_filter
        self.record_every: int = int(record_every)
        self._shape: tuple[int, ...] | None = pop_shape(pop)
        self._ids: np.ndarray | None = None
        if self._shape is not None:
            self._ids = neuron_ids(neuron_filter, self._shape, pop_name(pop), self._owner)
        self._name: str | None = None
        self._shared: bool = False
        self._data: list[np.ndarray] = []
        #: Data-set index of every recorded entry (in memory only).
        self.example_indices = []

    def __repr__(self) -> str:
        n = "all" if self._ids is None else len(self._ids)
        return (f"VarRecorder({pop_name(self.pop)!r}, {self.var or self.genn_var!r}, "
                f"key={self.key!r}, neurons={n}, record_every={self.record_every}, "
                f"to={self.to!r})")

    # ------------------------------------------------------------ set-up
    def _validate(self, backend: Any) -> None:
        names = dict(backend.get_var_names(self.pop))
        wanted = self.var if self.var is not None else self.genn_var
        if wanted in names:
            self._name = names[wanted]
        elif wanted in names.values():
            self._name = wanted
        else:
            listing = ", ".join(f"{u} ({g})" for u, g in names.items()) or "none"
            raise ConfigurationError(
                f"{self._owner} {'var' if self.var is not None else 'genn_var'} must name a "
                f"variable of population {pop_name(self.pop)!r}; got {wanted!r}. Its "
                f"variables (user name (backend name)): {listing}."
            )
        if self._shape is None:
            self._shape = (int(backend.get_var(self.pop, self._name).shape[1]),)
            self._ids = neuron_ids(self.neuron_filter, self._shape, pop_name(self.pop),
                                   self._owner)
        self._shared = bool(backend.is_var_shared(self.pop, self._name))
        if self.record_every > backend.num_timesteps:
            raise ConfigurationError(
                f"{self._owner} record_every must be at most the {backend.num_timesteps} "
                f"timesteps of a batch; got {self.record_every}. Lower record_every."
            )
        if self._shared and self.neuron_filter is not None:
            warnings.warn(
                f"{self._owner}: variable {self._name!r} of population "
                f"{pop_name(self.pop)!r} is shared by all neurons; neuron_filter is ignored.",
                UserWarning, stacklevel=4,
            )

    @property
    def num_neurons(self) -> int:
        """Number of columns recorded (1 for a shared variable)."""
        if self._shared:
            return 1
        assert self._shape is not None
        return int(np.prod(self._shape)) if self._ids is None else len(self._ids)

    def _rows(self, backend: Any) -> int:
        return int(backend.num_timesteps) // self.record_every

    def _estimate(self, backend: Any, examples: int | None, num_epochs: int | None,
                  mode: str | None, exact: bool) -> Estimate | None:
        per = self._rows(backend) * self.num_neurons * 4
        if self.to is not None:
            return Estimate(per * backend.batch_size, "one batch, streamed to disk", True)
        held = self._held_examples(examples, num_epochs, mode)
        if held is None:
            return None
        text = (f"{self.num_neurons} neurons x {self._rows(backend)} timesteps x {held} "
                f"examples x 4 bytes")
        return Estimate(per * held, text, exact)

    def _prepare(self, backend: Any, mode: str | None) -> Any:
        self._dt = float(backend.dt)
        self._num_steps = int(backend.num_timesteps)
        rows = self._rows(backend)
        # Preallocated once per run; each step writes one row of every batch entry.
        self._buffer = np.zeros((rows, backend.batch_size, self.num_neurons), dtype=np.float32)
        self._columns = None if (self._shared or self._ids is None) else self._ids
        self._data = []
        self.example_indices = []
        if self.to is not None:
            meta = {"kind": "var", "key": repr(self.key), "population": pop_name(self.pop),
                    "variable": self._name, "shape": list(self._shape or ()), "dt": self._dt,
                    "record_every": self.record_every, "times_ms": self.times_ms().tolist(),
                    "neuron_ids": None if self._columns is None else self._columns.tolist()}
            self._writer = StreamWriter(self.to, meta, {
                "values": (np.float32, (rows, self.num_neurons)), "examples": (np.int64, ())})
            return None  # the folder is written when the run starts
        return self._data

    def times_ms(self) -> np.ndarray:
        """Time in ms of every row: float64, shape (rows,), ``((r + 1) * k - 1) * dt``."""
        if self._backend is None:
            raise ConfigurationError(
                f"{self._owner} times_ms() needs the run's dt and timesteps; got a recorder "
                f"not yet used in a run. Call it after evaluate()/train()."
            )
        k = self.record_every
        return np.arange(k - 1, self._rows(self._backend) * k, k, dtype=np.float64) * self._dt

    # ------------------------------------------------------------ hooks
    def on_timestep_end(self, timestep: int) -> None:
        """Copy the selected columns of the variable into the batch buffer."""
        if not self._active:
            return
        k = self.record_every
        if k != 1:
            if (timestep + 1) % k:
                return
            timestep = (timestep + 1) // k - 1
        backend = self._backend
        backend.pull_var(self.pop, self._name)
        values = backend.get_var(self.pop, self._name)
        if self._columns is None:
            self._buffer[timestep] = values
        else:
            np.take(values, self._columns, axis=1, out=self._buffer[timestep])

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        """Hand each recorded example its (rows, n_selected) array."""
        if not self._active:
            return
        block = self._buffer[:, self._local, :].transpose(1, 0, 2).copy()
        if self._writer is not None:
            self._writer.append({"values": block, "examples": self._batch_examples})
        else:
            self._data.extend(block)
            self.example_indices.extend(self._batch_examples.tolist())
        self._active = False

    def _entries(self) -> list[Any]:
        return list(self._data)

    def _from_entries(self, entries: list[Any]) -> Any:
        return entries

    def get_data(self) -> tuple[Any, Any]:
        """Return ``(key, list of arrays)`` (a lazy handle with ``to=``)."""
        if self._gathered is not None:
            return self.key, self._gathered
        if self._writer is not None:
            return self.key, open_recording(self.to)  # type: ignore[arg-type]
        return self.key, self._data
