"""Backend protocol methods that every backend implements the same way.

The NumPy and GeNN backends (and any backend to come) keep their state
differently but answer these protocol calls identically: the recording
window, decoding spike bits, variable-name lookup, the connection
variables' names and the checks of a learnable state.  Each backend
provides the few lookups declared below; this mixin does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ._lookup import CONN_VAR_NAMES, backend_var_name


class SharedProtocolMethods:
    """Protocol methods written once for every backend.

    A backend using it provides ``_var_names_of(population)`` (user name ->
    backend name, refusing an unknown population), ``_check_connection``
    (refusing an unknown connection), ``get_spike_bits`` and the attributes
    below.
    """

    dt: float
    num_timesteps: int
    num_recording_timesteps: int
    num_recording_pulls: int
    num_examples_in_batch: int
    timestep: int
    _window_start: int
    _pulled: dict

    def _var_names_of(self, population: Any) -> Mapping[str, str]:
        raise NotImplementedError

    def _check_connection(self, connection: Any) -> Any:
        raise NotImplementedError

    def get_spike_bits(self, population: Any) -> tuple[int, np.ndarray]:
        raise NotImplementedError

    # ------------------------------------------------------------------ spikes
    def recording_window_ready(self, timestep: int) -> bool:
        """True after the last step of each recording window and of the batch."""
        return (timestep + 1) % self.num_recording_timesteps == 0 or (
            timestep + 1 == self.num_timesteps
        )

    def _keep_window(self, buffers: Mapping[Any, np.ndarray]) -> None:
        """Keep every buffer's steps since the last pull (rows ``timestep % rows``).

        Steps older than ``num_recording_timesteps`` are lost (overwritten),
        as on GeNN.
        """
        rows = self.num_recording_timesteps
        start = max(self._window_start, self.timestep - rows)
        order = np.arange(start, self.timestep) % rows
        for pop, buffer in buffers.items():
            self._pulled[pop] = (start, buffer[order])
        self._window_start = self.timestep
        self.num_recording_pulls += 1

    def _pulled_bits(self, population: Any, buffer: np.ndarray | None) -> tuple[int, np.ndarray]:
        """``get_spike_bits`` over a population's recording ``buffer`` (None: not recorded)."""
        if buffer is None:
            raise ConfigurationError(
                f"population {population.name!r} record_spikes must be True to read its "
                f"spikes; got False. Set record_spikes=True on {population.name!r} when "
                f"building the network."
            )
        pulled = self._pulled.get(population)
        if pulled is None:
            return self._window_start, buffer[:0].copy()
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
        return dict(self._var_names_of(population))

    def _var_key(self, population: Any, name: str) -> str:
        return backend_var_name(population, self._var_names_of(population), name)

    def is_var_shared(self, population: Any, name: str) -> bool:
        """Return False: every variable of these backends is per neuron."""
        self._var_key(population, name)
        return False

    # ------------------------------------------------------------- connections
    def get_conn_var_names(self, connection: Any) -> dict[str, str]:
        """Return ``{"weight": "g"}``."""
        self._check_connection(connection)
        return dict(CONN_VAR_NAMES)

    # ------------------------------------------------------- learnable state
    @staticmethod
    def _checked_learnable(state: Mapping[str, Any],
                           shapes: Mapping[str, tuple[Any, tuple[int, ...]]]
                           ) -> list[tuple[Any, np.ndarray]]:
        """Check a learnable state against ``shapes`` (key -> (target, shape)) before writing.

        Returns
        -------
        list of (target, numpy.ndarray of float32)
            Every array of ``state``, converted, with where it goes.
        """
        checked = []
        for key, value in state.items():
            entry = shapes.get(key)
            if entry is None:
                raise ConfigurationError(
                    f"learnable state key must be one of {sorted(shapes)}; got {key!r}. "
                    f"Load state saved from a network with the same connection names."
                )
            target, shape = entry
            arr = np.asarray(value, dtype=np.float32)
            if arr.shape != shape:
                raise ConfigurationError(
                    f"learnable state {key!r} must have shape {shape}; got {arr.shape}. "
                    f"Load state saved from a network of the same sizes."
                )
            checked.append((target, arr))
        return checked


__all__ = ["SharedProtocolMethods"]
