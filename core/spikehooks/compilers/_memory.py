"""Refusing, before anything is allocated, a batch size whose state cannot fit in memory.

A typo such as ``batch_size=1_000_000`` would otherwise make the backend
allocate until the operating system kills the process (or swaps it to a
crawl), long after the call that caused it.  The estimate counts what the
NumPy backend and the EventProp trainer allocate per example and neuron:
state variables, spike and input buffers, synaptic input, the spike
recording buffer, and for training the per-timestep history the backward
pass needs.  It leaves out what does not grow with the batch (weights) and
transient scratch, so it is a lower bound: a batch refused here could never
have run.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigurationError


def physical_memory() -> int | None:
    """Return the machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def bytes_per_example(network: Any, num_timesteps: int, num_recording_timesteps: int,
                      keeps_history: bool) -> int:
    """Return the bytes of state one example adds to a batch.

    Parameters
    ----------
    network : Network
    num_timesteps : int
        Timesteps per example.
    num_recording_timesteps : int
        Timesteps between pulls of the spike recording buffer.
    keeps_history : bool
        True for training: every layer's spikes (1 byte) and every LIF layer's
        jump denominators (float32) are kept for every timestep.
    """
    total = 0
    for pop in network.populations:
        n, neuron = pop.num_neurons, pop.neuron
        floats = len(neuron.get_var_names()) + 1  # variables, isyn
        floats += 1 if pop.outgoing else 0  # spikes as float32 for delivery
        floats += getattr(neuron, "input_frames", 1) * (2 if neuron.is_input else 0)
        total += n * (4 * floats + 1)
        if pop.record_spikes:
            total += num_recording_timesteps * 4 * -(-n // 32)
        if keeps_history:
            total += num_timesteps * n * (5 if neuron.spiking and not neuron.is_input else 1)
    for conn in network.connections:
        total += 4 * conn.target.num_neurons  # inSyn
    return total


def check_batch_fits(owner: str, network: Any, batch_size: int, num_timesteps: int,
                     num_recording_timesteps: int, keeps_history: bool,
                     available: int | None = None) -> None:
    """Raise :class:`ConfigurationError` when ``batch_size`` examples cannot fit in memory.

    Parameters
    ----------
    available : int, optional
        Bytes to compare with (default: :func:`physical_memory`; no check when unknown).
    """
    available = physical_memory() if available is None else available
    if available is None:
        return
    per_example = bytes_per_example(network, num_timesteps, num_recording_timesteps,
                                    keeps_history)
    needed = per_example * batch_size
    if needed <= available:
        return
    largest = max(available // max(per_example, 1), 0)
    raise ConfigurationError(
        f"{owner} batch_size must fit in memory; got batch_size={batch_size}, whose state "
        f"needs at least {needed / 1e9:.3g} GB ({per_example} bytes per example over "
        f"{num_timesteps} timesteps) while this machine has {available / 1e9:.3g} GB. Pass "
        f"batch_size={largest} or less"
        f"{' (training keeps every timestep of every example)' if keeps_history else ''}."
    )
