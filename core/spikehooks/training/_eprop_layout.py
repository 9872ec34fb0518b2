"""Which populations and connections of a network e-prop trains, checked up front.

mlGeNN 2.4.0's e-prop trains recurrent networks of ``LeakyIntegrateFire`` /
``AdaptiveLeakyIntegrateFire`` hidden populations read out by a leaky
integrator.  Every restriction of that scheme is checked here, before any
simulation, with an error naming the population or connection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..connectivity import TiedConnectivity
from ..errors import ConfigurationError
from ..neurons import AdaptiveLeakyIntegrateFire, LeakyIntegrate, LeakyIntegrateFire
from ..synapses import Delta


@dataclass
class HiddenSpec:
    """One hidden population: its kind and the constants of its pseudo-derivative.

    Attributes
    ----------
    population : Population
    adaptive : bool
        True for ``AdaptiveLeakyIntegrateFire`` (threshold ``v_thresh + beta * A``).
    v_thresh, v_reset, beta : float
        Base threshold, reset value and adaptation strength (``beta`` 0 for LIF).
    refractory : bool
        Whether the model has a refractory period (``RefracTime``).
    """

    population: Any
    adaptive: bool
    v_thresh: float
    v_reset: float
    beta: float
    refractory: bool


@dataclass
class EPropLayout:
    """The trained parts of a network.

    Attributes
    ----------
    alpha : float
        ``exp(-dt / tau_mem)`` of the hidden neurons (one ``tau_mem`` for all,
        as in mlGeNN); filters presynaptic spikes and eligibility traces.
    rho : float or None
        ``exp(-dt / tau_adapt)`` of the adaptive hidden neurons (None without any).
    hidden : list of HiddenSpec
    output : Population
        The one ``LeakyIntegrate`` population with a readout.
    hidden_conns, output_conns : list of Connection
        Connections into a hidden population / into the output.
    sources : list of Population
        Populations whose spikes feed a trained connection (inputs and hidden).
    """

    alpha: float
    rho: float | None
    hidden: list[HiddenSpec]
    output: Any
    hidden_conns: list[Any] = field(default_factory=list)
    output_conns: list[Any] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)


def _scalar(neuron: Any, name: str, pop: Any) -> float:
    value = getattr(neuron, name)
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    raise ConfigurationError(
        f"EPropCompiler population {pop.name!r} {name} must be one number for every neuron "
        f"(e-prop's pseudo-derivative and traces use it as a constant); got "
        f"{type(value).__name__}. Pass a float, e.g. {name}=1.0."
    )


def _hidden_spec(pop: Any) -> HiddenSpec:
    neuron = pop.neuron
    if not isinstance(neuron, (LeakyIntegrateFire, AdaptiveLeakyIntegrateFire)) \
            or getattr(neuron, "is_input", False):
        raise ConfigurationError(
            f"EPropCompiler hidden population {pop.name!r} must be LeakyIntegrateFire or "
            f"AdaptiveLeakyIntegrateFire; got {type(neuron).__name__}. e-prop's eligibility "
            f"traces are defined for these two models only."
        )
    adaptive = isinstance(neuron, AdaptiveLeakyIntegrateFire)
    if not adaptive and getattr(neuron, "scale_i", False):
        raise ConfigurationError(
            f"EPropCompiler hidden population {pop.name!r} scale_i must be False; got True. "
            f"mlGeNN's e-prop traces assume V = Alpha * V + Isyn; use "
            f"Network(eprop_compiler.default_params)."
        )
    return HiddenSpec(pop, adaptive, _scalar(neuron, "v_thresh", pop),
                      _scalar(neuron, "v_reset", pop),
                      _scalar(neuron, "beta", pop) if adaptive else 0.0,
                      neuron.tau_refrac is not None)


def _check_connection(conn: Any) -> None:
    if not isinstance(conn.synapse, Delta):
        raise ConfigurationError(
            f"EPropCompiler connection {conn.name!r} synapse must be Delta; got "
            f"{type(conn.synapse).__name__}. mlGeNN's e-prop supports only Delta synapses: "
            f"pass synapse=Delta() (the default) or drop the synapse argument."
        )
    if isinstance(conn.connectivity, TiedConnectivity):
        raise ConfigurationError(
            f"EPropCompiler connection {conn.name!r} connectivity must give every synapse its "
            f"own weight (Dense, FixedProbability, OneToOne); got "
            f"{type(conn.connectivity).__name__}, whose shared kernel has no per-synapse "
            f"eligibility trace. Train it with EventPropCompiler."
        )
    if conn.max_delay_steps != 0:
        raise ConfigurationError(
            f"EPropCompiler connection {conn.name!r} delay must be 0; got delays of up to "
            f"{conn.max_delay_steps} steps. "
            f"e-prop's traces here assume spikes arrive in the next step."
        )


def _single_tau(values: dict[Any, Any], name: str) -> float:
    distinct = {float(v) if isinstance(v, (int, float)) else None for v in values.values()}
    if None in distinct or len(distinct) != 1:
        got = {p.name: (v if isinstance(v, (int, float)) else type(v).__name__)
               for p, v in values.items()}
        raise ConfigurationError(
            f"EPropCompiler hidden populations must share one {name} (a number, as in "
            f"mlGeNN); got {got}. Give every hidden population the same {name}."
        )
    return distinct.pop()  # type: ignore[return-value]


def build_layout(network: Any, dt: float) -> EPropLayout:
    """Classify and check ``network`` for e-prop; raise before anything is simulated.

    Raises
    ------
    ConfigurationError
        Naming the population or connection that e-prop cannot train.
    """
    outputs = [p for p in network.populations if p.neuron.readout is not None]
    if len(outputs) != 1:
        raise ConfigurationError(
            f"EPropCompiler network must have exactly one population with a readout; got "
            f"{[p.name for p in outputs]}. Give the output LeakyIntegrate a readout, e.g. "
            f"readout='sum_var'."
        )
    output = outputs[0]
    if not isinstance(output.neuron, LeakyIntegrate):
        raise ConfigurationError(
            f"EPropCompiler output population {output.name!r} must be LeakyIntegrate; got "
            f"{type(output.neuron).__name__}. e-prop's learning signal is the error of a "
            f"leaky integrator's V."
        )
    if output.neuron.scale_i:
        raise ConfigurationError(
            f"EPropCompiler output population {output.name!r} scale_i must be False; got True. "
            f"Use Network(eprop_compiler.default_params) or LeakyIntegrate(scale_i=False)."
        )
    hidden = [_hidden_spec(p) for p in network.populations
              if p is not output and not p.neuron.is_input]
    if not hidden:
        raise ConfigurationError(
            f"EPropCompiler network must have at least one hidden LeakyIntegrateFire or "
            f"AdaptiveLeakyIntegrateFire population; got only inputs and {output.name!r}. "
            f"Add a recurrent hidden population between them."
        )
    for spec in hidden:
        if not spec.population.incoming:
            raise ConfigurationError(
                f"EPropCompiler hidden population {spec.population.name!r} must receive a "
                f"connection (from an input or a recurrent one); got none. Connect an input "
                f"or hidden population to it."
            )
        targets = [c.target for c in spec.population.outgoing]
        if output not in targets:
            raise ConfigurationError(
                f"EPropCompiler hidden population {spec.population.name!r} must connect "
                f"directly to the output {output.name!r}; got connections to "
                f"{[t.name for t in targets]}. e-prop's learning signal reaches a hidden "
                f"neuron only through its own connection to the output: add "
                f"Connection({spec.population.name}, {output.name}, Dense(...)), or make a "
                f"single recurrent hidden population instead of a stack."
            )
    tau_mem = _single_tau({s.population: s.population.neuron.tau_mem for s in hidden},
                          "tau_mem")
    adaptive = [s for s in hidden if s.adaptive]
    rho = None
    if adaptive:
        tau_adapt = _single_tau({s.population: s.population.neuron.tau_adapt
                                 for s in adaptive}, "tau_adapt")
        rho = math.exp(-dt / tau_adapt)
    layout = EPropLayout(math.exp(-dt / tau_mem), rho, hidden, output)
    hidden_pops = [s.population for s in hidden]
    for conn in network.connections:
        _check_connection(conn)
        if conn.target is output:
            layout.output_conns.append(conn)
        elif conn.target in hidden_pops:
            layout.hidden_conns.append(conn)
        else:
            raise ConfigurationError(
                f"EPropCompiler connection {conn.name!r} must end in a hidden population or "
                f"the output; got target {conn.target.name!r}."
            )
        if conn.source is output:
            raise ConfigurationError(
                f"EPropCompiler connection {conn.name!r} must not start at the output "
                f"{output.name!r}; a leaky integrator has no spikes to send."
            )
        if conn.source not in layout.sources:
            layout.sources.append(conn.source)
    return layout


__all__ = ["EPropLayout", "HiddenSpec", "build_layout"]
