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
from ._models import (
    WEIGHT_UPDATE,
    ModelSpec,
    delayed_weight_update,
    neuron_spec,
    postsynaptic_spec,
)

#: Bump when the way models are put together changes, to invalidate old builds.
PLAN_FORMAT = 2

#: Largest per-synapse delay GeNN's 16-bit delay variable holds (as in mlGeNN).
MAX_DENDRITIC_DELAY = 65535


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
        Initial dense pre-major weights (absent synapses 0); for convolution
        and pooling, the kernel expanded to its synapses.
    mask : numpy.ndarray of bool, shape (n_pre, n_post), or None
        Existing synapses of sparse connectivity (None: dense).
    delays : numpy.ndarray of int32, shape (n_pre, n_post), or None
        Delay of each synapse in timesteps, drawn as the NumPy backend draws
        them (None: all 0).
    axonal_delay : int
        A delay shared by every synapse (``delay=<int>``), simulated as
        GeNN's axonal delay of the synapse group; 0 otherwise.
    max_delay_steps : int
        ``Connection.max_delay_steps``; per-synapse delays (an array or an
        initializer) use GeNN's dendritic delay ring of that many + 1 slots.
    kernel : numpy.ndarray of float32, or None
        The learnable kernel of convolution and pooling connectivity (its
        ``kernel_shape``), which ``weight`` expands; None for the others.
    """

    connection: Any
    genn_name: str
    psm: ModelSpec
    weight: np.ndarray
    mask: np.ndarray | None
    delays: np.ndarray | None = None
    axonal_delay: int = 0
    max_delay_steps: int = 0
    kernel: np.ndarray | None = None

    @property
    def dendritic(self) -> bool:
        """Whether synapses carry their own delays (GeNN's dendritic delays)."""
        return self.delays is not None and not self.axonal_delay

    @property
    def weight_update(self) -> ModelSpec:
        """The GeNN weight update model of this connection."""
        return delayed_weight_update(self.max_delay_steps) if self.dendritic else WEIGHT_UPDATE

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
                 c.matrix_type, c.max_connections, c.psm.signature(),
                 c.weight_update.signature(), c.axonal_delay,
                 c.max_delay_steps if c.dendritic else 0)
                for c in self.connections
            ],
        }
        text = json.dumps(description, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def make_plan(network: Any, *, batch_size: int, dt: float, num_timesteps: int,
              rng_seed: int, genn_backend: str,
              preferences: dict[str, Any] | None = None) -> Plan:
    """Describe ``network`` as GeNN groups, drawing values as the NumPy backend does.

    The generator is used in the NumPy backend's order: for each population
    its initial values, per-neuron parameters and bias; then for each
    connection its weights (or kernel) and delays.

    Raises
    ------
    ConfigurationError
        A convolution or pooling connection has a delay (no backend simulates
        it yet), or a drawn delay exceeds ``max_delay_steps`` or GeNN's
        16-bit limit.
    """
    for conn in network.connections:
        connectivity = conn.connectivity
        if isinstance(connectivity, TiedConnectivity) and not (
                isinstance(connectivity.delay, (int, np.integer)) and connectivity.delay == 0):
            raise ConfigurationError(
                f"Connection {conn.name!r} delay must be 0 for {type(connectivity).__name__} on "
                f"the genn backend; got {connectivity.delay!r}. Convolutions with delays are "
                f"not supported by any backend yet (the numpy backend refuses them too): "
                f"remove the delay."
            )
        if conn.max_delay_steps > MAX_DENDRITIC_DELAY:
            raise ConfigurationError(
                f"Connection {conn.name!r} max_delay_steps must be at most "
                f"{MAX_DENDRITIC_DELAY} on the genn backend (GeNN's 16-bit delays); got "
                f"{conn.max_delay_steps}. Use backend='numpy', or a larger dt."
            )
    rng = np.random.default_rng(rng_seed)
    populations = []
    for i, pop in enumerate(network.populations):
        neuron = pop.neuron
        n = pop.num_neurons
        initial_v = (materialise(neuron.v, (n,), rng)
                     if "V" in neuron.get_var_names().values() else None)
        per_neuron = {genn_name: neuron.param_values(user, n, rng, dt)
                      for user, genn_name in neuron.heterogeneous().items()}
        bias = materialise(neuron.bias, (n,), rng) if hasattr(neuron, "bias") else None
        spec = neuron_spec(neuron, initial_v, bias, dt, num_timesteps, per_neuron)
        populations.append(PopulationPlan(pop, f"p{i}", spec))
    connections = [_connection_plan(conn, f"c{i}", dt, rng)
                   for i, conn in enumerate(network.connections)]
    return Plan(populations, connections, int(batch_size), float(dt), int(rng_seed),
                genn_backend, dict(preferences or {}))


def _connection_plan(conn: Any, genn_name: str, dt: float,
                     rng: np.random.Generator) -> ConnectionPlan:
    """Draw the weights (or kernel) and delays of ``conn`` and describe its synapse group."""
    connectivity = conn.connectivity
    num_pre, num_post = conn.source.num_neurons, conn.target.num_neurons
    psm = postsynaptic_spec(conn.synapse, dt)
    if isinstance(connectivity, TiedConnectivity):
        # GeNN gets every synapse of the kernel as a sparse row (the NumPy
        # backend's sequential order of sums): same draws, same sums.
        kernel = connectivity.make_kernel(rng)
        synapses = np.zeros((num_pre, num_post), dtype=bool)
        synapses[connectivity.pre, connectivity.post] = True
        return ConnectionPlan(conn, genn_name, psm, connectivity.expand(kernel), synapses,
                              kernel=np.array(kernel, dtype=np.float32))
    weight, mask = connectivity.build_for(conn, rng)
    if mask is not None and mask.all():
        mask = None
    delays = connectivity.build_delays(num_pre, num_post, rng)
    axonal = 0
    if delays is not None:
        drawn = int(delays.max())
        if drawn > conn.max_delay_steps:
            raise ConfigurationError(
                f"Connection {conn.name!r} delay must be at most max_delay_steps="
                f"{conn.max_delay_steps}; got a drawn delay of {drawn} steps. Raise "
                f"max_delay_steps or narrow the delay initializer."
            )
        if isinstance(connectivity.delay, (int, np.integer)):
            axonal = int(connectivity.delay)
    return ConnectionPlan(conn, genn_name, psm, np.ascontiguousarray(weight, dtype=np.float32),
                          mask, delays, axonal, int(conn.max_delay_steps))


__all__ = ["ConnectionPlan", "Plan", "PopulationPlan", "make_plan"]
