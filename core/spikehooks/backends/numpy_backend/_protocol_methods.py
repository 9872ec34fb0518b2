"""The half of :class:`NumpyBackend` that implements the backend protocol.

Recorders, checkpoints and schedules use only these members (see
:mod:`spikehooks.backends.protocol`); the state they read is built by
:class:`~spikehooks.backends.numpy_backend.NumpyBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...connectivity import TiedConnectivity
from ...errors import ConfigurationError
from .._lookup import CONN_VAR_NAMES, backend_var_name, check_conn_var_name


class ProtocolMethods:
    """Spike recording, variable views and learnable state over the backend's arrays."""

    # Provided by NumpyBackend.
    _state: Callable[[Any], Any]
    _conn_state: Callable[[Any], Any]
    _pops: dict
    _conns: dict
    _pulled: dict
    _window_start: int
    _var_names: dict
    batch_size: int
    dt: float
    num_timesteps: int
    num_recording_timesteps: int
    num_recording_pulls: int
    num_examples_in_batch: int
    timestep: int

    # ------------------------------------------------------------------ spikes
    def is_spike_recording_enabled(self, population: Any) -> bool:
        """Return whether ``population`` was built with ``record_spikes=True``."""
        return self._state(population).record is not None

    def recording_window_ready(self, timestep: int) -> bool:
        """True after the last step of each recording window and of the batch."""
        return (timestep + 1) % self.num_recording_timesteps == 0 or (
            timestep + 1 == self.num_timesteps
        )

    def pull_recording_buffers(self) -> None:
        """Copy every recorded population's steps since the last pull, in one go.

        Steps older than ``num_recording_timesteps`` are lost (overwritten),
        as on GeNN.
        """
        rows = self.num_recording_timesteps
        start = max(self._window_start, self.timestep - rows)
        order = np.arange(start, self.timestep) % rows
        for pop, pst in self._pops.items():
            if pst.record is not None:
                self._pulled[pop] = (start, pst.record[order])
        self._window_start = self.timestep
        self.num_recording_pulls += 1

    def get_spike_bits(self, population: Any) -> tuple[int, np.ndarray]:
        """Return ``(start_timestep, bits)`` of the last pull.

        ``bits``: uint32 of shape (n_steps, batch_size, ceil(n / 32)); bit
        ``n % 32`` of word ``n // 32`` is set when neuron ``n`` spiked.
        """
        pst = self._state(population)
        if pst.record is None:
            raise ConfigurationError(
                f"population {population.name!r} record_spikes must be True to read its "
                f"spikes; got False. Set record_spikes=True on {population.name!r} when "
                f"building the network."
            )
        pulled = self._pulled.get(population)
        if pulled is None:
            return self._window_start, pst.record[:0].copy()
        return pulled

    def get_spikes(self, population: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Decode the last pull into ``(times_ms float64, ids int32)`` per real example.

        Ordered by time, then id ascending.
        """
        start, bits = self.get_spike_bits(population)
        n = population.num_neurons
        steps = bits.shape[0]
        as_bytes = np.ascontiguousarray(bits[:, : self.num_examples_in_batch]).view(np.uint8)
        mask = np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :n]
        result = []
        for b in range(self.num_examples_in_batch):
            step, ids = np.nonzero(mask[:, b, :]) if steps else (np.zeros(0, int),) * 2
            result.append(((start + step) * self.dt, ids.astype(np.int32)))
        return result

    # --------------------------------------------------------------- variables
    def get_var_names(self, population: Any) -> dict[str, str]:
        """Map each recordable variable's user name to its backend name."""
        return dict(self._cached_var_names(population))

    def _cached_var_names(self, population: Any) -> dict[str, str]:
        names = self._var_names.get(population)
        if names is None:
            self._state(population)
            names = self._var_names[population] = population.neuron.get_var_names()
        return names

    def _var_key(self, population: Any, name: str) -> str:
        return backend_var_name(population, self._cached_var_names(population), name)

    def is_var_shared(self, population: Any, name: str) -> bool:
        """Return False: every variable of this backend is per neuron."""
        self._var_key(population, name)
        return False

    def pull_var(self, population: Any, name: str) -> None:
        """Do nothing but check the name: host arrays are always current."""
        self._var_key(population, name)

    def get_var(self, population: Any, name: str) -> np.ndarray:
        """Return a live read-only float32 view of shape (batch_size, num_neurons)."""
        return self._state(population).readonly[self._var_key(population, name)]

    # ------------------------------------------------------------- connections
    def get_conn_var_names(self, connection: Any) -> dict[str, str]:
        """Return ``{"weight": "g"}``."""
        self._conn_state(connection)
        return dict(CONN_VAR_NAMES)

    def _check_conn_var(self, connection: Any, name: str) -> Any:
        cst = self._conn_state(connection)
        check_conn_var_name(connection, name)
        return cst

    def pull_conn_var(self, connection: Any, name: str) -> None:
        """Do nothing but check the name: host arrays are always current."""
        self._check_conn_var(connection, name)

    def get_conn_var(self, connection: Any, name: str) -> np.ndarray:
        """Return a live read-only float32 (num_pre, num_post) view of the weights.

        For convolution and pooling connectivity, which store only their
        kernel, a fresh dense expansion (absent synapses 0), as the genn
        backend gives for sparse connectivity; the kernel itself is
        :meth:`get_weight`.
        """
        cst = self._check_conn_var(connection, name)
        connectivity = connection.connectivity
        if isinstance(connectivity, TiedConnectivity):
            dense = connectivity.expand(cst.weight)
            dense.flags.writeable = False
            return dense
        return cst.readonly_weight

    # ------------------------------------------------------- learnable state
    def get_learnable_state(self) -> dict[str, np.ndarray]:
        """Return a copy of every weight array, keyed ``"<connection name>/weight"``."""
        return {f"{conn.name}/weight": cst.weight.copy() for conn, cst in self._conns.items()}

    def set_learnable_state(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays from :meth:`get_learnable_state` (all checked before any is written)."""
        by_key = {f"{conn.name}/weight": cst for conn, cst in self._conns.items()}
        checked = []
        for key, value in state.items():
            cst = by_key.get(key)
            if cst is None:
                raise ConfigurationError(
                    f"learnable state key must be one of {sorted(by_key)}; got {key!r}. "
                    f"Load state saved from a network with the same connection names."
                )
            arr = np.asarray(value, dtype=np.float32)
            if arr.shape != cst.weight.shape:
                raise ConfigurationError(
                    f"learnable state {key!r} must have shape {cst.weight.shape}; got "
                    f"{arr.shape}. Load state saved from a network of the same sizes."
                )
            checked.append((cst, arr))
        for cst, arr in checked:
            cst.set_weight(arr)


__all__ = ["ProtocolMethods"]
