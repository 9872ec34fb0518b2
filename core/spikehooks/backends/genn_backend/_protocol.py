"""The half of :class:`GeNNBackend` that implements the backend protocol over pygenn.

Spike bits come straight from GeNN's recording buffers (``recordSpk``: one
uint32 word per 32 neurons, per batch entry, per step, row ``timestep %
num_recording_timesteps``), filled by the generated code and copied to the
host by one ``pull_recording_buffers_from_device`` per window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._lookup import check_conn_var_name, connection_entry, population_entry
from .._shared_protocol import SharedProtocolMethods


def _readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


class ProtocolMethods(SharedProtocolMethods):
    """Spike recording, variable views and learnable state of a loaded GeNN model."""

    # Provided by GeNNBackend.
    batch_size: int

    # ------------------------------------------------------------------ setup
    def _init_state(self, plan: Any, built: Any) -> None:
        """Collect the host views of the loaded model that the backend touches."""
        model = built.model
        runtime = model._runtime  # pygenn exposes raw arrays (spike counts, buffers) only here
        self._model = model
        self._groups = dict(built.neuron_groups)
        self._syn = dict(built.synapse_groups)
        self._conn_plans = {cp.connection: cp for cp in plan.connections}
        self._resettable: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self._readonly: dict[Any, dict[str, np.ndarray]] = {}
        self._record: dict[Any, np.ndarray] = {}
        for pp in plan.populations:
            ng = self._groups[pp.population]
            views = {}
            for spec in pp.spec.vars:
                var = ng.vars[spec.name]
                view = self._batch_view(var.view)
                views[spec.name] = _readonly(view)
                if spec.reset:
                    initial = np.asarray(spec.initial, dtype=view.dtype)
                    self._resettable.append((view, initial, var))
            self._readonly[pp.population] = views
            if pp.population.record_spikes:
                words = -(-pp.population.num_neurons // 32)
                array = runtime.get_array(ng, "recordSpk")
                self._record[pp.population] = np.asarray(array.host_view).view(
                    np.uint32).reshape(self.num_recording_timesteps, self.batch_size, words)
        # Spikes in flight (GeNN's spike counts of the last step) and synaptic input.
        self._in_flight: list[tuple[np.ndarray, Any]] = []
        for cp in plan.connections:
            sg = self._syn[cp.connection]
            if sg.out_post is not None:
                self._in_flight.append((sg.out_post.view, sg.out_post))
            if cp.dendritic:
                # Input on its way through the dendritic delay ring.
                array = runtime.get_array(sg, "denDelay")
                self._in_flight.append((np.asarray(array.host_view).view(np.float32), array))
            try:
                array = runtime.get_array(sg, "srcSpkCnt")
            except (IndexError, KeyError):
                continue  # this group shares the spike arrays of another one
            self._in_flight.append((np.asarray(array.host_view).view(np.uint32), array))

    def _batch_view(self, view: np.ndarray) -> np.ndarray:
        """Return ``view`` with a leading batch axis (pygenn drops it at batch size 1)."""
        return view.reshape(self.batch_size, -1)

    # ------------------------------------------------------------ mlGeNN access
    @property
    def genn_model(self) -> Any:
        """pygenn's loaded model: mlGeNN's ``compiled_net.genn_model``."""
        return self._model

    def genn_groups(self) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """pygenn's neuron and synapse groups, keyed by population and by connection.

        mlGeNN's ``compiled_net.neuron_populations`` and
        ``connection_populations``: GeNN's own objects, ``vars[name].view``
        with ``pull_from_device()``/``push_to_device()``.
        """
        return dict(self._groups), dict(self._syn)

    def _group(self, population: Any) -> Any:
        return population_entry(self._groups, population)

    def _conn_plan(self, connection: Any) -> Any:
        return connection_entry(self._conn_plans, connection)

    def _var_names_of(self, population: Any) -> dict[str, str]:
        self._group(population)
        return population.neuron.get_var_names()

    def _check_connection(self, connection: Any) -> Any:
        return self._conn_plan(connection)

    # ------------------------------------------------------------------ spikes
    def is_spike_recording_enabled(self, population: Any) -> bool:
        """Return whether ``population`` was built with ``record_spikes=True``."""
        self._group(population)
        return population in self._record

    def pull_recording_buffers(self) -> None:
        """Copy every recording buffer to the host in one GeNN transfer.

        Keeps the steps since the last pull; older steps are overwritten by
        GeNN after ``num_recording_timesteps`` steps.
        """
        if self._record:
            self._model.pull_recording_buffers_from_device()
        self._keep_window(self._record)

    def get_spike_bits(self, population: Any) -> tuple[int, np.ndarray]:
        """Return ``(start_timestep, bits)`` of the last pull.

        ``bits``: uint32 of shape (n_steps, batch_size, ceil(n / 32)); bit
        ``n % 32`` of word ``n // 32`` is set when neuron ``n`` spiked.
        """
        self._group(population)
        # Decoded by the shared get_spikes, ids ascending (GeNN's own decoder
        # gives ids descending within a word).
        return self._pulled_bits(population, self._record.get(population))

    # --------------------------------------------------------------- variables
    def pull_var(self, population: Any, name: str) -> None:
        """Copy the variable from the device (a no-op on GeNN's CPU backend)."""
        self._group(population).vars[self._var_key(population, name)].pull_from_device()

    def get_var(self, population: Any, name: str) -> np.ndarray:
        """Return a live read-only float32 view of shape (batch_size, num_neurons)."""
        key = self._var_key(population, name)
        return self._readonly[population][key]

    # ------------------------------------------------------------- connections
    def _g(self, connection: Any, name: str) -> Any:
        cp = self._conn_plan(connection)
        check_conn_var_name(connection, name)
        return cp, self._syn[connection].vars["g"]

    def pull_conn_var(self, connection: Any, name: str) -> None:
        """Copy the weights from the device (a no-op on GeNN's CPU backend)."""
        self._g(connection, name)[1].pull_from_device()

    def get_conn_var(self, connection: Any, name: str) -> np.ndarray:
        """Return the weights as a read-only float32 (num_pre, num_post) array.

        A live view for dense connectivity; a fresh dense copy (absent
        synapses 0) for sparse, convolution and pooling connectivity (whose
        kernel is in :meth:`get_learnable_state`).
        """
        cp, g = self._g(connection, name)
        shape = cp.weight.shape
        if cp.matrix_type == "DENSE":
            return _readonly(g.view.reshape(shape))
        dense = np.zeros(shape, dtype=np.float32)
        dense[cp.mask] = g.values
        return _readonly(dense)

    def get_delays(self, connection: Any) -> np.ndarray | None:
        """Return the int32 (num_pre, num_post) synaptic delays in timesteps, or None (all 0)."""
        delays = self._conn_plan(connection).delays
        return None if delays is None else delays.copy()

    # ------------------------------------------------------- learnable state
    def get_learnable_state(self) -> dict[str, np.ndarray]:
        """Return a copy of every weight array, keyed ``"<connection name>/weight"``.

        For convolution and pooling connectivity, the kernel (its
        ``kernel_shape``), as on the NumPy backend.
        """
        state = {}
        for conn, cp in self._conn_plans.items():
            if cp.kernel is not None:
                state[f"{conn.name}/weight"] = cp.kernel.copy()
                continue
            self.pull_conn_var(conn, "g")
            state[f"{conn.name}/weight"] = np.array(self.get_conn_var(conn, "g"))
        return state

    def set_learnable_state(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays from :meth:`get_learnable_state` (all checked before any is written).

        A kernel is kept on the host and expanded into GeNN's per-synapse
        weights.
        """
        shapes = {f"{conn.name}/weight": (conn, (cp.weight if cp.kernel is None
                                                 else cp.kernel).shape)
                  for conn, cp in self._conn_plans.items()}
        for conn, arr in self._checked_learnable(state, shapes):
            cp, g = self._g(conn, "g")
            if cp.kernel is not None:
                cp.kernel[...] = arr
                arr = conn.connectivity.expand(cp.kernel)
            if cp.matrix_type == "SPARSE":
                g.values = arr[cp.mask]
            elif cp.mask is not None:
                g.view[:] = np.where(cp.mask, arr, np.float32(0.0)).reshape(-1)
            else:
                g.view[:] = arr.reshape(-1)
            g.push_to_device()


__all__ = ["ProtocolMethods"]
