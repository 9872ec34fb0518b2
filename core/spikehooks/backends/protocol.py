"""The backend protocol: everything recorders, checkpoints and schedules may use.

A backend simulates a compiled network.  Plugins never reach into a backend's
internals; they use only what is declared here, so the same recorder works on
the embedded NumPy backend and on a GeNN backend.

Conventions
-----------
- ``batch`` is the compiled batch size ``B``; a batch may hold fewer real
  examples (the last one of a data set): ``num_examples_in_batch``.
- Populations and connections are the user's network objects
  (:class:`spikehooks.Population`, :class:`spikehooks.Connection`).
- Times in ms are ``timestep * dt``, counted from the start of the batch.
- Neuron ids are flat C-order indices into the population's shape.

Spike recording mirrors GeNN: during simulation each population with
``record_spikes=True`` fills a bit-packed buffer (one bit per neuron per
timestep per batch entry) holding up to ``num_recording_timesteps`` steps.
:meth:`Backend.pull_recording_buffers` transfers every population's buffer
in one go (on GeNN: one ``pull_recording_buffers_from_device``); after it,
:meth:`Backend.get_spike_bits` and :meth:`Backend.get_spikes` read what was
pulled.  Recorders must pull once every ``num_recording_timesteps`` steps
and at the end of each batch (the buffer of a batch whose length is not a
multiple of ``num_recording_timesteps`` is partly filled);
``recording_window_ready(timestep)`` tells when.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """What a simulation backend offers to callbacks and plugins.

    Attributes
    ----------
    name : str
        Registered name, e.g. ``"numpy"``.
    batch_size : int
        Compiled batch size ``B`` (entries simulated in parallel).
    dt : float
        Simulation step in ms.
    num_timesteps : int
        Timesteps simulated per batch (``evaluate_timesteps`` or
        ``example_timesteps``).
    num_recording_timesteps : int
        Capacity of the spike recording buffers, in timesteps.
    timestep : int
        Timesteps simulated so far in the current batch (0 before the first
        step; equals the argument of ``on_timestep_end`` plus one inside it).
    num_examples_in_batch : int
        Real (non-padding) examples in the current batch, ``<= batch_size``
        (set by the compiled network; entries beyond it are padding, left
        out of what :meth:`get_spikes` returns).  Which data-set examples the
        batch holds is a fact of the run: ``run.example_indices``
        (:class:`spikehooks.RunContext`).
    """

    name: str
    batch_size: int
    dt: float
    num_timesteps: int
    num_recording_timesteps: int
    timestep: int
    num_examples_in_batch: int

    # ------------------------------------------------------------------ spikes
    def is_spike_recording_enabled(self, population: Any) -> bool:
        """Return whether ``population`` was built with ``record_spikes=True``."""
        ...

    def recording_window_ready(self, timestep: int) -> bool:
        """Return True when the recording buffers must be pulled after ``timestep``.

        True after the last step of every ``num_recording_timesteps`` window
        and after the last step of the batch.
        """
        ...

    def pull_recording_buffers(self) -> None:
        """Transfer every population's spike recording buffer in one go.

        Counts as one transfer in :attr:`num_recording_pulls` (used by tests
        and benchmarks to check that recorders share the pull).
        """
        ...

    num_recording_pulls: int

    def get_spike_bits(self, population: Any) -> tuple[int, np.ndarray]:
        """Return the pulled recording buffer of ``population`` as bits.

        Returns
        -------
        start_timestep : int
            Batch timestep of the buffer's first row.
        bits : numpy.ndarray of uint32, shape (n_steps, batch_size, n_words)
            Bit ``n % 32`` of word ``n // 32`` is set when neuron ``n``
            spiked; ``n_words = ceil(num_neurons / 32)``.  ``n_steps`` is
            the number of steps filled since the previous pull.
        """
        ...

    def get_spikes(self, population: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Decode the pulled buffer of ``population`` into spike lists.

        Returns
        -------
        list of (times, ids), one per real example of the batch
            ``times``: float64 ms since the start of the batch;
            ``ids``: int32 flat neuron ids.  Ordered by time, then by id
            ascending.
        """
        ...

    # --------------------------------------------------------------- variables
    def get_var_names(self, population: Any) -> dict[str, str]:
        """Map each recordable variable's user name to its backend name.

        For example ``{"v": "V", "v_sum": "VSum"}``.  Recorders accept either.
        """
        ...

    def is_var_shared(self, population: Any, name: str) -> bool:
        """Return True for a population-wide variable (one value per batch entry)."""
        ...

    def pull_var(self, population: Any, name: str) -> None:
        """Make :meth:`get_var` current (a device-to-host copy on GeNN)."""
        ...

    def get_var(self, population: Any, name: str) -> np.ndarray:
        """Return a read-only view of a state variable (user or backend name).

        Returns
        -------
        numpy.ndarray of float32, shape (batch_size, num_neurons)
            (``(batch_size, 1)`` for a shared variable).  Valid until the next
            simulation step; copy what you keep.
        """
        ...

    # ------------------------------------------------------------- connections
    def get_conn_var_names(self, connection: Any) -> dict[str, str]:
        """Map each connection variable's user name to its backend name (``{"weight": "g"}``)."""
        ...

    def pull_conn_var(self, connection: Any, name: str) -> None:
        """Make :meth:`get_conn_var` current."""
        ...

    def get_conn_var(self, connection: Any, name: str) -> np.ndarray:
        """Return a read-only dense view of a connection variable.

        Returns
        -------
        numpy.ndarray of float32, shape (num_pre, num_post)
            Pre-major; absent synapses of sparse connectivity read as 0.
        """
        ...

    # ------------------------------------------------------- learnable state
    def get_learnable_state(self) -> dict[str, np.ndarray]:
        """Return a copy of every learnable array, keyed ``"<connection name>/<var>"``.

        Dense-like connectivity stores ``(num_pre, num_post)`` weights;
        convolution and pooling connectivity store their kernel
        (``connectivity.kernel_shape``).
        """
        ...

    def set_learnable_state(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays produced by :meth:`get_learnable_state` (shapes checked)."""
        ...


__all__ = ["Backend"]
