"""mlGeNN-style state access: ``neuron_populations[pop].vars[name].view`` and friends.

mlGeNN callbacks reach GeNN's groups through ``compiled_net.neuron_populations``
and ``compiled_net.connection_populations`` and edit ``var.view`` between
``pull_from_device()`` and ``push_to_device()``.  On the GeNN backend these are
GeNN's own group objects; on the NumPy backend they are the thin views below,
with the same names and shapes:

- neuron variable ``view``: float32 ``(batch_size, num_neurons)``, or
  ``(num_neurons,)`` at batch size 1 (GeNN's layout);
- connection ``"g"`` ``view``: float32 ``(num_pre * num_post,)``, pre-major, for
  dense connectivity (GeNN's dense layout); sparse connectivity offers
  ``values`` only (the existing synapses, row by row), as GeNN's ``view`` of a
  sparse group is padded storage.

``view`` is the live simulation state, so a write takes effect at once;
``push_to_device()`` still checks that the state keeps its shape, dtype and
(sparse) absent synapses, as a push to a device would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import numpy as np

from ..errors import ConfigurationError


class _Var:
    """One state variable, as GeNN's variable object: ``view``, ``values``, pull, push."""

    def __init__(self, owner: str, name: str, live: np.ndarray, shape: tuple[int, ...],
                 mask: np.ndarray | None = None):
        self._owner, self.name = owner, name
        self._live, self._shape, self._mask = live, shape, mask

    @property
    def view(self) -> np.ndarray:
        """The live array (see the module docstring for its shape)."""
        if self._mask is not None:
            raise ConfigurationError(
                f"{self._owner} variable {self.name!r} has sparse connectivity, so it must be "
                f"read through .values; got .view. GeNN's view of sparse groups is padded "
                f"storage: use .values (one entry per existing synapse, row by row)."
            )
        return self._live.reshape(self._shape)

    @property
    def values(self) -> np.ndarray:
        """A copy of the values (existing synapses only, for sparse connectivity)."""
        if self._mask is not None:
            return self._live[self._mask].copy()
        return self._live.reshape(self._shape).copy()

    @values.setter
    def values(self, value: Any) -> None:
        target = self._live[self._mask] if self._mask is not None else self.view
        arr = np.asarray(value)
        if arr.size != target.size and arr.shape != ():
            raise ConfigurationError(
                f"{self._owner} variable {self.name!r} values must have {target.size} "
                f"entries (shape {target.shape}); got shape {arr.shape}. Assign an array of "
                f"that size or a scalar."
            )
        if self._mask is not None:
            self._live[self._mask] = np.broadcast_to(arr.astype(np.float32).ravel()
                                                     if arr.shape else arr, target.shape)
        else:
            self.view[...] = arr.reshape(target.shape) if arr.shape else arr

    def pull_from_device(self) -> None:
        """Nothing to copy: the NumPy backend's state is host memory."""

    def push_to_device(self) -> None:
        """Check the state (nothing to copy): shape, dtype, absent synapses still 0."""
        if self._live.dtype != np.float32 or self._live.size != int(np.prod(self._shape)):
            raise ConfigurationError(
                f"{self._owner} variable {self.name!r} must stay float32 of shape "
                f"{self._shape}; got {self._live.dtype} {self._live.shape}. Write into "
                f".view[...] instead of replacing arrays."
            )
        if self._mask is not None and np.any(self._live[~self._mask]):
            raise ConfigurationError(
                f"{self._owner} variable {self.name!r} must be 0 where sparse connectivity "
                f"has no synapse; got non-zero values there. Write through .values."
            )

    def __repr__(self) -> str:
        return f"<{self._owner} var {self.name!r} {self._shape}>"


class _Group:
    """A population's or connection's variables by GeNN name: ``group.vars[name]``."""

    def __init__(self, owner: str, vars: dict[str, _Var]):
        self.name, self.vars = owner, vars

    def __repr__(self) -> str:
        return f"<{self.name} vars={sorted(self.vars)}>"


class _Groups(Mapping[Any, Any]):
    """Population or connection (or its name) -> group, built on first access."""

    def __init__(self, objects: list[Any], build: Any, kind: str):
        self._objects, self._build, self._kind = objects, build, kind
        self._cache: dict[Any, Any] = {}

    def _resolve(self, key: Any) -> Any:
        key = getattr(key, "population", key) if self._kind == "population" else key
        for obj in self._objects:
            if obj is key or obj.name == key:
                return obj
        raise KeyError(
            f"compiled network {self._kind} must be one of "
            f"{[o.name for o in self._objects]} (the object or its name); got {key!r}."
        )

    def __getitem__(self, key: Any) -> Any:
        obj = self._resolve(key)
        if obj not in self._cache:
            self._cache[obj] = self._build(obj)
        return self._cache[obj]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)


def numpy_groups(compiled: Any) -> tuple[_Groups, _Groups]:
    """Return ``(neuron_populations, connection_populations)`` over a NumPy backend."""
    backend, batch = compiled.backend, compiled.batch_size

    def population(pop: Any) -> _Group:
        owner = f"population {pop.name!r}"
        shape = (pop.num_neurons,) if batch == 1 else (batch, pop.num_neurons)
        return _Group(pop.name, {name: _Var(owner, name, arr, shape)
                                 for name, arr in backend.live_vars(pop).items()})

    def connection(conn: Any) -> _Group:
        weight, mask = backend.live_weight(conn)
        return _Group(conn.name, {"g": _Var(f"connection {conn.name!r}", "g", weight,
                                            (weight.size,), mask)})

    network = compiled.network
    return (_Groups(list(network.populations), population, "population"),
            _Groups(list(network.connections), connection, "connection"))


class NoGeNNModel:
    """What ``compiled_net.genn_model`` is on a backend without GeNN.

    It answers the facts mlGeNN code reads from GeNN's model with the same
    meaning (``batch_size``, ``dt``, ``timestep``, ``t``); with
    ``kernel_profiling=True`` also the kernel timings, from the phases timed
    by :mod:`._kernel_times`.  Anything else raises an error saying what to use.
    """

    def __init__(self, backend: Any, times: Any = None):
        self._backend = backend
        self._times = times

    def get_custom_update_time(self, name: str) -> float:
        """Seconds of the phase doing mlGeNN's custom update ``name`` (nan: no such phase)."""
        if self._times is None:
            self._refuse("get_custom_update_time")
        return float(self._times.custom_update_time(name))

    @property
    def batch_size(self) -> int:
        return int(self._backend.batch_size)

    @property
    def dt(self) -> float:
        return float(self._backend.dt)

    @property
    def timestep(self) -> int:
        return int(self._backend.timestep)

    @property
    def t(self) -> float:
        return float(self._backend.timestep * self._backend.dt)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._times is not None and self._times.timing(name) is not None:
            return self._times.timing(name)
        self._refuse(name)

    def _refuse(self, name: str) -> NoReturn:
        """Raise the error for ``genn_model.<name>``, which this backend cannot answer."""
        timing = name.endswith("_time") or name in ("get_custom_update_time",)
        hint = ("kernel timings are kept only when the compiler has kernel_profiling=True "
                "(then they time this backend's phases, see docs/porting-from-mlgenn.md); or "
                "time evaluate()/train() with time.perf_counter()" if timing else
                "only batch_size, dt, timestep and t are offered; use compiled_net and the "
                "backend protocol (compiled_net.backend) instead")
        raise ConfigurationError(
            f"compiled_net.genn_model.{name} needs a GeNN model; got the "
            f"{self._backend.name!r} backend. {hint}."
        )

    def __repr__(self) -> str:
        return f"<no GeNN model: {self._backend.name!r} backend>"


__all__ = ["NoGeNNModel", "numpy_groups"]
