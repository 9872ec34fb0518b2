"""Check a user's network for EventProp and describe it as a :class:`Graph`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..neurons import LeakyIntegrate, LeakyIntegrateFire
from ..readouts import AvgVar, AvgVarExpWeight, FirstSpikeTime, MaxVar, SumVar, Var
from ..synapses import Delta, Exponential
from ._graph import VOLTAGE_READOUTS, Conn, Graph, Layer

_READOUT_NAMES = {SumVar: "sum_var", AvgVar: "avg_var", MaxVar: "max_var",
                  AvgVarExpWeight: "avg_var_exp_weight", FirstSpikeTime: "first_spike_time",
                  Var: "var"}


def build_graph(network: Any, backend: Any, num_steps: int, dt: float) -> tuple[Graph, list]:
    """Validate ``network`` for EventProp and return its graph and populations in order.

    Raises
    ------
    ConfigurationError
        A model, readout, synapse or topology EventProp cannot train.
    """
    pops = list(network.populations)
    index = {pop: i for i, pop in enumerate(pops)}
    layers = [_layer(pop, dt) for pop in pops]
    outputs = [pop for pop, lay in zip(pops, layers, strict=True) if lay.readout is not None]
    if len(outputs) != 1:
        raise ConfigurationError(
            f"EventPropCompiler network must have exactly one output population (a population "
            f"with a readout); got {[p.name for p in outputs]}. Give only the output neuron "
            f"a readout."
        )
    conns = []
    for conn in network.connections:
        pre, post = index[conn.source], index[conn.target]
        if layers[post].kind == "input":
            kind = "recurrent " if pre == post else ""
            raise ConfigurationError(
                f"EventPropCompiler connection {conn.name!r} must end at a LeakyIntegrateFire or "
                f"LeakyIntegrate population; got a {kind}connection {conn.source.name!r} -> "
                f"{conn.target.name!r} into the input population {conn.target.name!r}, whose "
                f"spikes are given. Connect to a hidden population instead."
            )
        if layers[pre].kind == "li":
            raise ConfigurationError(
                f"EventPropCompiler connection {conn.name!r} must start at a spiking "
                f"population; got the LeakyIntegrate population {conn.source.name!r}."
            )
        conns.append(_conn(conn, pre, post, layers[post], backend, dt))
    for pop, lay in zip(pops, layers, strict=True):
        incoming = [c for c in conns if c.post == index[pop]]
        if lay.kind != "input" and not incoming:
            raise ConfigurationError(
                f"EventPropCompiler population {pop.name!r} must receive a connection; got "
                f"none. Connect it or remove it."
            )
        taus = {c.tau_s for c in incoming}
        if len(taus) > 1:
            raise ConfigurationError(
                f"EventPropCompiler connections into {pop.name!r} must share one synapse "
                f"time constant; got {sorted(taus)}. Use the same Exponential tau."
            )
    return Graph(layers, conns, num_steps, dt), pops


def _layer(pop: Any, dt: float) -> Layer:
    neuron = pop.neuron
    size = pop.num_neurons
    if neuron.is_input:
        return Layer(size=size, kind="input")
    readout = None if neuron.readout is None else _READOUT_NAMES.get(type(neuron.readout))
    owner = f"EventPropCompiler population {pop.name!r}"
    hetero = sorted(neuron.heterogeneous())
    if hetero:
        raise ConfigurationError(
            f"{owner} {', '.join(hetero)} must be one number for EventProp training; got "
            f"per-neuron values. Per-neuron parameters work with InferenceCompiler: train with "
            f"one value, then load the weights into a network with per-neuron values."
        )
    if isinstance(neuron, LeakyIntegrateFire):
        if neuron.readout is not None and readout != "first_spike_time":
            raise ConfigurationError(
                f"{owner} readout must be 'first_spike_time' for a LeakyIntegrateFire output; "
                f"got {type(neuron.readout).__name__}. Use LeakyIntegrate for voltage readouts."
            )
        if neuron.v_reset != 0.0:
            raise ConfigurationError(
                f"{owner} v_reset must be 0 for EventProp; got {neuron.v_reset}. The adjoint "
                f"jump assumes a reset to 0."
            )
        if neuron.relative_reset:
            warnings.warn(
                f"{owner} uses relative_reset=True; EventProp's gradients assume an absolute "
                f"reset (mlGeNN's EventProp default_params set relative_reset=False).",
                UserWarning,
                stacklevel=4,
            )
        if neuron.tau_refrac is not None:
            warnings.warn(
                f"{owner} has tau_refrac={neuron.tau_refrac}; EventProp's gradients ignore "
                f"refractory periods (mlGeNN's examples use tau_refrac=None).",
                UserWarning,
                stacklevel=4,
            )
        alpha = neuron.alpha(dt)
        return Layer(size=size, kind="lif", tau_m=neuron.tau_mem, alpha=alpha,
                     neuron_scale=np.float32(1.0) - alpha if neuron.scale_i else np.float32(1.0),
                     v_thresh=np.float32(neuron.v_thresh), readout=readout,
                     relative_reset=neuron.relative_reset)
    if isinstance(neuron, LeakyIntegrate):
        if readout not in VOLTAGE_READOUTS:
            raise ConfigurationError(
                f"{owner} readout must be 'sum_var', 'avg_var', 'avg_var_exp_weight', "
                f"'max_var' or 'var' (per-timestep loss) for a LeakyIntegrate "
                f"output; got {type(neuron.readout).__name__ if neuron.readout else None}."
            )
        alpha = neuron.alpha(dt)
        return Layer(size=size, kind="li", tau_m=neuron.tau_mem, alpha=alpha,
                     neuron_scale=np.float32(1.0) - alpha if neuron.scale_i else np.float32(1.0),
                     readout=readout)
    raise ConfigurationError(
        f"{owner} neuron must be LeakyIntegrateFire (hidden, or first_spike_time output) or "
        f"LeakyIntegrate (voltage readout output); got {type(neuron).__name__}."
    )


def _conn(conn: Any, pre: int, post: int, target: Layer, backend: Any, dt: float) -> Conn:
    synapse = conn.synapse
    mask = backend.get_weight_mask(conn)
    if getattr(synapse, "heterogeneous", False):
        raise ConfigurationError(
            f"EventPropCompiler connection {conn.name!r} Exponential tau must be one number "
            f"for EventProp training; got per-neuron values. Per-neuron synapse time constants "
            f"work with InferenceCompiler."
        )
    delays = backend.get_delays(conn)
    if isinstance(synapse, Exponential):
        beta = synapse.exp_decay(dt)
        scale = synapse.i_scale(dt) if synapse.scale_i else np.float32(1.0)
        return Conn(pre, post, "exponential", synapse.tau, beta, scale, mask, delays)
    if isinstance(synapse, Delta) and target.kind == "li":
        return Conn(pre, post, "delta", 0.0, np.float32(0.0), np.float32(1.0), mask, delays)
    raise ConfigurationError(
        f"EventPropCompiler connection {conn.name!r} synapse must be Exponential (or Delta into "
        f"a LeakyIntegrate output); got {type(synapse).__name__} into a {target.kind.upper()} "
        f"population. Spike times driven through Delta synapses do not depend smoothly on "
        f"the weights, so EventProp has no gradient for them."
    )
