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
    layers = [_layer(pop, backend, dt) for pop in pops]
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
        taus = [np.broadcast_to(c.tau_s, (lay.size,)) for c in incoming]
        if any(not np.array_equal(taus[0], tau) for tau in taus[1:]):
            shown = [float(t[0]) if np.all(t == t[0]) else "per-neuron" for t in taus]
            raise ConfigurationError(
                f"EventPropCompiler connections into {pop.name!r} must share one synapse "
                f"time constant (per target neuron); got {shown}. Use the same Exponential "
                f"tau."
            )
    return Graph(layers, conns, num_steps, dt), pops


def _shown(value: Any) -> Any:
    """A parameter for a message: the number, or a note that it is given per neuron."""
    return value if isinstance(value, (int, float)) else "<per-neuron>"


def _per_neuron(pop: Any, backend: Any, user: str) -> np.ndarray | None:
    """The float32 values of per-neuron parameter ``user`` as the backend drew them
    (shape (n,)), or None when it is one number."""
    genn = pop.neuron.heterogeneous().get(user)
    if genn is None:
        return None
    return np.array(backend.get_var(pop, genn)[0], dtype=np.float32)


def _membrane(pop: Any, backend: Any, dt: float) -> dict[str, Any]:
    """``tau_m`` (ms), ``alpha`` and ``neuron_scale`` of a LIF or LI layer.

    Per neuron (``tau_mem`` an array or initializer) they are arrays of shape
    (n,): ``alpha`` is the backend's float32 ``Alpha`` variable, so training's
    forward pass is the backend's own; ``tau_m`` is the user's array in
    float64, or recovered from ``Alpha`` for an initializer's draws.
    """
    neuron = pop.neuron
    alpha = _per_neuron(pop, backend, "tau_mem")
    if alpha is None:
        alpha = neuron.alpha(dt)
        tau_m: Any = neuron.tau_mem
    elif isinstance(neuron.tau_mem, np.ndarray):
        tau_m = neuron.tau_mem.reshape(-1).astype(np.float64)
    else:
        tau_m = -dt / np.log(alpha.astype(np.float64))
    scale = np.float32(1.0) - alpha if neuron.scale_i else np.float32(1.0)
    return {"tau_m": tau_m, "alpha": alpha, "neuron_scale": scale}


def _layer(pop: Any, backend: Any, dt: float) -> Layer:
    neuron = pop.neuron
    size = pop.num_neurons
    if neuron.is_input:
        return Layer(size=size, kind="input")
    readout = None if neuron.readout is None else _READOUT_NAMES.get(type(neuron.readout))
    owner = f"EventPropCompiler population {pop.name!r}"
    if isinstance(neuron, LeakyIntegrateFire):
        if neuron.readout is not None and readout != "first_spike_time":
            raise ConfigurationError(
                f"{owner} readout must be 'first_spike_time' for a LeakyIntegrateFire output; "
                f"got {type(neuron.readout).__name__}. Use LeakyIntegrate for voltage readouts."
            )
        reset = _per_neuron(pop, backend, "v_reset")
        if np.any(neuron.v_reset != 0.0 if reset is None else reset != 0.0):
            got = (neuron.v_reset if reset is None
                   else f"per-neuron values in [{reset.min():g}, {reset.max():g}]")
            raise ConfigurationError(
                f"{owner} v_reset must be 0 for EventProp; got {got}. The adjoint "
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
                f"{owner} has tau_refrac={_shown(neuron.tau_refrac)}; EventProp's gradients ignore "
                f"refractory periods (mlGeNN's examples use tau_refrac=None).",
                UserWarning,
                stacklevel=4,
            )
        thresh = _per_neuron(pop, backend, "v_thresh")
        return Layer(size=size, kind="lif", **_membrane(pop, backend, dt),
                     v_thresh=np.float32(neuron.v_thresh) if thresh is None else thresh,
                     readout=readout, relative_reset=neuron.relative_reset)
    if isinstance(neuron, LeakyIntegrate):
        if readout not in VOLTAGE_READOUTS:
            raise ConfigurationError(
                f"{owner} readout must be 'sum_var', 'avg_var', 'avg_var_exp_weight', "
                f"'max_var' or 'var' (per-timestep loss) for a LeakyIntegrate "
                f"output; got {type(neuron.readout).__name__ if neuron.readout else None}."
            )
        return Layer(size=size, kind="li", **_membrane(pop, backend, dt), readout=readout)
    raise ConfigurationError(
        f"{owner} neuron must be LeakyIntegrateFire (hidden, or first_spike_time output) or "
        f"LeakyIntegrate (voltage readout output); got {type(neuron).__name__}."
    )


def _conn(conn: Any, pre: int, post: int, target: Layer, backend: Any, dt: float) -> Conn:
    synapse = conn.synapse
    mask = backend.get_weight_mask(conn)
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
