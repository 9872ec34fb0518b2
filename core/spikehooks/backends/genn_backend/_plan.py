"""What the GeNN backend builds for a network, decided without pygenn.

:func:`make_plan` draws initial values and weights exactly as the NumPy
backend does (same generator, same order), so both backends simulate the
same network for a given ``rng_seed``, and describes every GeNN population
and synapse group as plain data.  :meth:`Plan.cache_key` hashes everything
that shapes GeNN's generated code, which names the build folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...connectivity import TiedConnectivity
from ...errors import ConfigurationError
from ...initializers import materialise
from ...neurons import PoissonInput
from ._models import WEIGHT_UPDATE, ModelSpec, neuron_spec, postsynaptic_spec

#: Bump when the way models are put together changes, to invalidate old builds.
PLAN_FORMAT = 1


@dataclass
class PopulationPlan:
    """One GeNN neuron group.

    Attributes
    ----------
    population : Population
        The user's population.
    genn_name : str
        Name in the GeNN model (``"p<i>"``: user names need not be C identifiers).
    spec : ModelSpec
        Its neuron model, readout included.
    """

    population: Any
    genn_name: str
    spec: ModelSpec


@dataclass
class ConnectionPlan:
    """One GeNN synapse group.

    Attributes
    ----------
    connection : Connection
        The user's connection.
    genn_name : str
        Name in the GeNN model (``"c<i>"``).
    psm : ModelSpec
        Its postsynaptic model.
    weight : numpy.ndarray of float32, shape (n_pre, n_post)
        Initial dense pre-major weights (absent synapses 0).
    mask : numpy.ndarray of bool, shape (n_pre, n_post), or None
        Existing synapses of sparse connectivity (None: dense).
    """

    connection: Any
    genn_name: str
    psm: ModelSpec
    weight: np.ndarray
    mask: np.ndarray | None

    @property
    def matrix_type(self) -> str:
        """``"SPARSE"`` when some synapses are absent and some exist, else ``"DENSE"``.

        A connection without any synapse is built dense with weights held at
        0, since GeNN's sparse format needs rows of at least one synapse.
        """
        return "SPARSE" if self.mask is not None and self.mask.any() else "DENSE"

    @property
    def max_connections(self) -> int:
        """Longest row of sparse connectivity (0 for dense)."""
        if self.mask is None or self.matrix_type == "DENSE":
            return 0
        return int(self.mask.sum(axis=1).max())

    def synapse_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the pre and post ids of the existing synapses, sorted pre-major.

        The order of GeNN's sparse rows, and of ``weight[mask]``.
        """
        mask = np.ones(self.weight.shape, dtype=bool) if self.mask is None else self.mask
        pre, post = np.nonzero(mask)
        return pre, post


@dataclass
class Plan:
    """Everything the GeNN backend builds for one network."""

    populations: list[PopulationPlan]
    connections: list[ConnectionPlan]
    batch_size: int
    dt: float
    rng_seed: int
    genn_backend: str
    preferences: dict[str, Any]

    @property
    def uses_rng(self) -> bool:
        """Whether a model draws random numbers on the device (Poisson input)."""
        return any(isinstance(p.population.neuron, PoissonInput) for p in self.populations)

    def cache_key(self, pygenn_version: str) -> str:
        """Return a hex digest of everything that shapes the generated code.

        Initial values and weights are loaded at run time and are left out,
        so networks differing only in them share one build.
        """
        index = {id(p.population): i for i, p in enumerate(self.populations)}
        description = {
            "format": PLAN_FORMAT,
            "pygenn": pygenn_version,
            "genn_backend": self.genn_backend,
            "preferences": sorted(self.preferences.items()),
            "batch_size": self.batch_size,
            "dt": self.dt,
            "seed": self.rng_seed if self.uses_rng else None,
            "populations": [
                (p.population.num_neurons, p.population.record_spikes, p.spec.signature())
                for p in self.populations
            ],
            "connections": [
                (index[id(c.connection.source)], index[id(c.connection.target)],
                 c.matrix_type, c.max_connections, c.psm.signature(), WEIGHT_UPDATE.signature())
                for c in self.connections
            ],
        }
        text = json.dumps(description, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def make_plan(network: Any, *, batch_size: int, dt: float, num_timesteps: int,
              rng_seed: int, genn_backend: str,
              preferences: dict[str, Any] | None = None) -> Plan:
    """Describe ``network`` as GeNN groups, drawing values as the NumPy backend does.

    Raises
    ------
    ConfigurationError
        A connection has an axonal delay (not supported, as on the NumPy backend).
    """
    for conn in network.connections:
        if conn.max_delay_steps or np.any(conn.connectivity.delay):
            raise ConfigurationError(
                f"Connection {conn.name!r} delay must be 0 on the genn backend; got "
                f"{conn.max_delay_steps or conn.connectivity.delay}. Remove the delay."
            )
        if isinstance(conn.connectivity, TiedConnectivity):
            raise ConfigurationError(
                f"Connection {conn.name!r} connectivity must be Dense, FixedProbability or "
                f"OneToOne on the genn backend; got {type(conn.connectivity).__name__}, whose "
                f"kernel weights this backend does not map to GeNN yet. Use backend='numpy'."
            )
    rng = np.random.default_rng(rng_seed)
    populations = []
    for i, pop in enumerate(network.populations):
        neuron = pop.neuron
        n = pop.num_neurons
        initial_v = (materialise(neuron.v, (n,), rng)
                     if "V" in neuron.get_var_names().values() else None)
        bias = materialise(neuron.bias, (n,), rng) if hasattr(neuron, "bias") else None
        spec = neuron_spec(neuron, initial_v, bias, dt, num_timesteps)
        populations.append(PopulationPlan(pop, f"p{i}", spec))
    connections = []
    for i, conn in enumerate(network.connections):
        weight, mask = conn.connectivity.build(conn.source.num_neurons,
                                               conn.target.num_neurons, rng)
        if mask is not None and mask.all():
            mask = None
        connections.append(ConnectionPlan(conn, f"c{i}", postsynaptic_spec(conn.synapse, dt),
                                          np.ascontiguousarray(weight, dtype=np.float32), mask))
    return Plan(populations, connections, int(batch_size), float(dt), int(rng_seed),
                genn_backend, dict(preferences or {}))


__all__ = ["ConnectionPlan", "Plan", "PopulationPlan", "make_plan"]
