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
from .._lookup import check_conn_var_name
from .._shared_protocol import SharedProtocolMethods


class ProtocolMethods(SharedProtocolMethods):
    """Spike recording, variable views and learnable state over the backend's arrays."""

    # Provided by NumpyBackend.
    _state: Callable[[Any], Any]
    _conn_state: Callable[[Any], Any]
    _pops: dict
    _conns: dict
    _var_names: dict
    batch_size: int

    # ------------------------------------------------------------------ lookups
    def _var_names_of(self, population: Any) -> dict[str, str]:
        names = self._var_names.get(population)
        if names is None:
            self._state(population)
            names = self._var_names[population] = population.neuron.get_var_names()
        return names

    def _check_connection(self, connection: Any) -> Any:
        return self._conn_state(connection)

    # ------------------------------------------------------------------ spikes
    def is_spike_recording_enabled(self, population: Any) -> bool:
        """Return whether ``population`` was built with ``record_spikes=True``."""
        return self._state(population).record is not None

    def pull_recording_buffers(self) -> None:
        """Copy every recorded population's steps since the last pull, in one go.

        Steps older than ``num_recording_timesteps`` are lost (overwritten),
        as on GeNN.
        """
        self._keep_window({pop: pst.record for pop, pst in self._pops.items()
                           if pst.record is not None})

    def get_spike_bits(self, population: Any) -> tuple[int, np.ndarray]:
        """Return ``(start_timestep, bits)`` of the last pull.

        ``bits``: uint32 of shape (n_steps, batch_size, ceil(n / 32)); bit
        ``n % 32`` of word ``n // 32`` is set when neuron ``n`` spiked.
        """
        return self._pulled_bits(population, self._state(population).record)

    # --------------------------------------------------------------- variables
    def pull_var(self, population: Any, name: str) -> None:
        """Do nothing but check the name: host arrays are always current."""
        self._var_key(population, name)

    def get_var(self, population: Any, name: str) -> np.ndarray:
        """Return a live read-only float32 view of shape (batch_size, num_neurons)."""
        return self._state(population).readonly[self._var_key(population, name)]

    # ------------------------------------------------------------- connections
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
        shapes = {f"{conn.name}/weight": (cst, cst.weight.shape)
                  for conn, cst in self._conns.items()}
        for cst, arr in self._checked_learnable(state, shapes):
            cst.set_weight(arr)


__all__ = ["ProtocolMethods"]
