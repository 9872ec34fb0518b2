"""GeNN model descriptions of spikehooks' neuron and synapse models, as plain data.

Each function returns a :class:`ModelSpec`: the GeNNCode strings, parameter
values and variables of one GeNN custom model.  Nothing here imports pygenn,
so the description can be hashed (to key the build cache) and tested without
it; :mod:`._build` turns specs into pygenn models.

The code follows the step rules of the NumPy backend (``docs/runtime.md``):
constants are rounded to float32 once on the host, and each statement does
the same float32 operations in the same order, so both backends agree bit for
bit on a fan-in of one spike per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ConfigurationError
from ...neurons import (
    AdaptiveLeakyIntegrateFire,
    BinarySpikeInput,
    IntegrateFire,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    LeakyIntegrateFireInput,
    PoissonInput,
    SpikeInput,
)
from ...readouts import AvgVar, AvgVarExpWeight, FirstSpikeTime, MaxVar, SpikeCount, SumVar
from ...synapses import Delta, Exponential

#: Variable access modes, by the name of pygenn's ``VarAccess`` member.
READ_WRITE = "READ_WRITE"
READ_ONLY = "READ_ONLY"
READ_ONLY_DUPLICATE = "READ_ONLY_DUPLICATE"


@dataclass
class VarSpec:
    """One state variable of a GeNN model.

    Attributes
    ----------
    name : str
        GeNN name (``"V"``).
    type : str
        GeNN type (``"scalar"`` is float32 here, or ``"uint32_t"``).
    access : str
        Name of a ``pygenn.VarAccess`` member.
    initial : float or numpy.ndarray, shape (n,)
        Value at load and after each reset.
    reset : bool
        Whether :meth:`GeNNBackend.reset` restores ``initial`` between batches,
        as the NumPy backend does for every state variable (not for
        constants, nor for the spike-time pointers ``set_input`` writes).
    """

    name: str
    type: str
    access: str
    initial: Any
    reset: bool = True


@dataclass
class ModelSpec:
    """A GeNN custom model: code, parameters, variables, extra global parameters.

    Attributes
    ----------
    class_name : str
        Name given to pygenn's ``create_*_model``.
    params : dict of str to float
        Parameter values (float32 numbers; pygenn bakes them into the code).
    vars : list of VarSpec
    sim_code, threshold_code, reset_code : str or None
        GeNNCode strings (neurons use all three, postsynaptic models only
        ``sim_code``).
    egps : list of (str, str)
        Extra global parameters, name and GeNN type.
    """

    class_name: str
    params: dict[str, float] = field(default_factory=dict)
    vars: list[VarSpec] = field(default_factory=list)
    sim_code: str | None = None
    threshold_code: str | None = None
    reset_code: str | None = None
    egps: list[tuple[str, str]] = field(default_factory=list)

    def signature(self) -> tuple:
        """Everything that shapes the generated code (not initial values), for hashing."""
        return (self.class_name, sorted((k, float(v)) for k, v in self.params.items()),
                [(v.name, v.type, v.access) for v in self.vars], self.sim_code,
                self.threshold_code, self.reset_code, list(self.egps))


def _f32(value: float) -> float:
    """Round ``value`` to float32 and return it as a Python float (exact)."""
    return float(np.float32(value))


def _value(neuron: Any, user: str) -> float:
    """Parameter ``user`` as a float32 constant; 0.0 (a placeholder that
    :func:`_constants_to_vars` replaces by a variable) when given per neuron."""
    if user in neuron.heterogeneous():
        return 0.0
    return _f32(getattr(neuron, user))


# ------------------------------------------------------------------ readouts
def _readout(neuron: Any, num_timesteps: int) -> tuple[list[VarSpec], dict, str, str]:
    """Return (variables, params, code after the V update, code after the reset)."""
    readout = getattr(neuron, "readout", None)
    if readout is None or not readout.accumulates:
        return [], {}, "", ""
    var = [VarSpec(readout.var_name, "scalar", READ_WRITE, _f32(readout.initial))]
    if isinstance(readout, SumVar):
        return var, {}, "VSum += V;\n", ""
    if isinstance(readout, MaxVar):
        return var, {}, "if (V > VMax) {\n    VMax = V;\n}\n", ""
    if isinstance(readout, AvgVar):
        return var, {"AvgScale": _f32(1.0 / num_timesteps)}, "VAvg += V * AvgScale;\n", ""
    if isinstance(readout, AvgVarExpWeight):
        return (var, {"AvgScale": _f32(1.0 / num_timesteps)},
                f"VAvg += exp(-(t / (dt * {num_timesteps}))) * AvgScale * V;\n", "")
    if isinstance(readout, SpikeCount):
        return var, {}, "", "Scount += 1.0;\n"
    if isinstance(readout, FirstSpikeTime):
        return var, {}, "", "TFirstSpike = fmax(TFirstSpike, -t);\n"
    raise TypeError(f"the genn backend has no code for readout {type(readout).__name__}")


# ------------------------------------------------------------------- neurons
def neuron_spec(neuron: Any, initial_v: np.ndarray | None, bias: np.ndarray | None,
                dt: float, num_timesteps: int,
                per_neuron: dict[str, np.ndarray] | None = None) -> ModelSpec:
    """Return the GeNN model of ``neuron``.

    Parameters
    ----------
    neuron : Neuron
        One of spikehooks' neuron models.
    initial_v : numpy.ndarray of float32, shape (n,), or None
        Initial ``V`` (None for models without it).
    bias : numpy.ndarray of float32, shape (n,), or None
        Per-neuron bias of :class:`LeakyIntegrate`.
    dt : float
        Step in ms (the leak constants depend on it).
    num_timesteps : int
        Timesteps per batch (the ``avg_var`` readout divides by it).
    per_neuron : dict of str to numpy.ndarray of float32, shape (n,), optional
        Values of the parameters given per neuron, by GeNN variable name
        (``"Vthresh"``, ``"Alpha"`` = ``exp(-dt / tau_mem)``...), as
        :meth:`Neuron.param_values` draws them.  Such a parameter becomes a
        GeNN variable of that name instead of a constant baked into the code,
        as in mlGeNN.
    """
    name = type(neuron).__name__
    if isinstance(neuron, (BinarySpikeInput, LeakyIntegrateFireInput, AdaptiveLeakyIntegrateFire)):
        raise ConfigurationError(
            f"neuron model of the genn backend must be one of IntegrateFireInput, SpikeInput, "
            f"PoissonInput, IntegrateFire, LeakyIntegrateFire, LeakyIntegrate; got {name}. "
            f"Use backend='numpy', which simulates mlGeNN's {name}."
        )
    per_neuron = dict(per_neuron or {})
    missing = sorted(set(neuron.heterogeneous().values()) - set(per_neuron))
    if missing:
        raise ConfigurationError(
            f"{name} per-neuron parameters {missing} must come with their drawn values; got "
            f"none. Build GeNN models through make_plan, which draws them."
        )
    if isinstance(neuron, IntegrateFireInput):
        return _constants_to_vars(ModelSpec(
            "SpikehooksIntegrateFireInput",
            params={"Vthresh": _value(neuron, "v_thresh"), "Vreset": _value(neuron, "v_reset")},
            vars=[VarSpec("V", "scalar", READ_WRITE, initial_v),
                  VarSpec("Input", "scalar", READ_ONLY_DUPLICATE, 0.0)],
            sim_code="V += Input;\n", threshold_code="V >= Vthresh", reset_code="V = Vreset;\n"),
            per_neuron)
    if isinstance(neuron, PoissonInput):
        # Input is the rate in spikes per ms; fire with probability 1 - exp(-rate * dt).
        return ModelSpec(
            "SpikehooksPoissonInput",
            vars=[VarSpec("Input", "scalar", READ_ONLY_DUPLICATE, 0.0)],
            sim_code="",
            threshold_code="Input > 0.0 && gennrand_uniform() >= exp(-Input * dt)")
    if isinstance(neuron, SpikeInput):
        # Each neuron walks its own slice [StartSpike, EndSpike) of SpikeTimes.
        return ModelSpec(
            "SpikehooksSpikeInput",
            vars=[VarSpec("StartSpike", "uint32_t", READ_WRITE, 0, reset=False),
                  VarSpec("EndSpike", "uint32_t", READ_ONLY_DUPLICATE, 0, reset=False)],
            sim_code="",
            threshold_code="StartSpike != EndSpike && t >= SpikeTimes[StartSpike]",
            reset_code="StartSpike++;\n", egps=[("SpikeTimes", "scalar*")])
    r_vars, r_params, after_v, after_reset = _readout(neuron, num_timesteps)
    if isinstance(neuron, LeakyIntegrateFire):
        spec = _lif(neuron, initial_v, dt, r_vars, r_params, after_v, after_reset, per_neuron)
    elif isinstance(neuron, IntegrateFire):
        spec = ModelSpec(
            "SpikehooksIntegrateFire",
            params={"Vthresh": _value(neuron, "v_thresh"), "Vreset": _value(neuron, "v_reset"),
                    **r_params},
            vars=[VarSpec("V", "scalar", READ_WRITE, initial_v), *r_vars],
            sim_code="V += Isyn;\n" + after_v, threshold_code="V >= Vthresh",
            reset_code="V = Vreset;\n" + after_reset)
    elif isinstance(neuron, LeakyIntegrate):
        spec = _li(neuron, initial_v, bias, dt, r_vars, r_params, after_v, per_neuron)
    else:
        raise TypeError(f"the genn backend has no code for neuron model {name}")
    return _constants_to_vars(spec, per_neuron)


def _constants_to_vars(spec: ModelSpec, per_neuron: dict[str, np.ndarray]) -> ModelSpec:
    """Turn the constants given per neuron into read-only variables of the same name.

    The code refers to them by name either way.  They are duplicated per
    batch entry and restored by every reset, as the NumPy backend holds and
    resets them, so a callback's edit lasts until the next batch on both.
    """
    for genn_name, values in per_neuron.items():
        spec.params.pop(genn_name, None)
        spec.vars.append(VarSpec(genn_name, "scalar", READ_ONLY_DUPLICATE,
                                 np.asarray(values, dtype=np.float32)))
    return spec


def _leak(neuron: Any, dt: float, per_neuron: dict[str, np.ndarray]) -> tuple[dict, str]:
    """Return the leak constants and the expression of the injected current."""
    if "Alpha" in per_neuron:
        # 1 - Alpha in float32 every step, as the NumPy backend derives it
        # from the live variable.
        return {}, "Isyn * (1.0 - Alpha)" if neuron.scale_i else "Isyn"
    alpha = neuron.alpha(dt)
    if neuron.scale_i:
        return ({"Alpha": float(alpha), "OneMinusAlpha": float(np.float32(1.0) - alpha)},
                "Isyn * OneMinusAlpha")
    return {"Alpha": float(alpha)}, "Isyn"


def _lif(neuron: LeakyIntegrateFire, initial_v: np.ndarray | None, dt: float, r_vars: list,
         r_params: dict, after_v: str, after_reset: str,
         per_neuron: dict[str, np.ndarray]) -> ModelSpec:
    leak, current = _leak(neuron, dt, per_neuron)
    params = {"Vthresh": _value(neuron, "v_thresh"), "Vreset": _value(neuron, "v_reset"),
              **leak, **r_params}
    variables = [VarSpec("V", "scalar", READ_WRITE, initial_v)]
    integrate = "V = (Alpha * V) + current;\n"
    sim = f"const scalar current = {current};\n"
    threshold = "V >= Vthresh"
    if not neuron.relative_reset:
        reset = "V = Vreset;\n"
    elif per_neuron.keys() & {"Vthresh", "Vreset"}:
        reset = "V -= (Vthresh - Vreset);\n"
    else:
        params["VDrop"] = float(np.float32(neuron.v_thresh) - np.float32(neuron.v_reset))
        reset = "V -= VDrop;\n"
    if neuron.tau_refrac is not None:
        params["TauRefrac"] = _value(neuron, "tau_refrac")
        variables.append(VarSpec("RefracTime", "scalar", READ_WRITE, 0.0))
        during = integrate if neuron.integrate_during_refrac else ""
        sim += ("if (RefracTime > 0.0) {\n" + _indent(during) + "    RefracTime -= dt;\n"
                "}\nelse {\n" + _indent(integrate) + "}\n")
        threshold += " && RefracTime <= 0.0"
        reset += "RefracTime = TauRefrac;\n"
    else:
        sim += integrate
    return ModelSpec("SpikehooksLeakyIntegrateFire", params=params, vars=variables + r_vars,
                     sim_code=sim + after_v, threshold_code=threshold,
                     reset_code=reset + after_reset)


def _li(neuron: LeakyIntegrate, initial_v: np.ndarray | None, bias: np.ndarray | None,
        dt: float, r_vars: list, r_params: dict, after_v: str,
        per_neuron: dict[str, np.ndarray]) -> ModelSpec:
    leak, current = _leak(neuron, dt, per_neuron)
    variables = [VarSpec("V", "scalar", READ_WRITE, initial_v)]
    sim = f"V = (Alpha * V) + {current};\n"
    # Adding a zero bias changes nothing but costs a read per neuron and step.
    if bias is not None and np.any(bias != 0.0):
        variables.append(VarSpec("Bias", "scalar", READ_ONLY, bias, reset=False))
        sim += "V += Bias;\n"
    return ModelSpec("SpikehooksLeakyIntegrate", params={**leak, **r_params},
                     vars=variables + r_vars, sim_code=sim + after_v)


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" for line in code.splitlines())


# ------------------------------------------------------------------ synapses
def postsynaptic_spec(synapse: Any, dt: float) -> ModelSpec:
    """Return the GeNN postsynaptic model of ``synapse`` (how ``inSyn`` becomes ``Isyn``)."""
    if isinstance(synapse, Delta):
        return ModelSpec("SpikehooksDelta", sim_code="injectCurrent(inSyn);\ninSyn = 0.0;\n")
    if isinstance(synapse, Exponential):
        constants = {"ExpDecay": synapse.exp_decay(dt)}
        inject = "injectCurrent(inSyn);\n"
        if synapse.scale_i:
            constants["IScale"] = synapse.i_scale(dt)
            inject = "injectCurrent(inSyn * IScale);\n"
        spec = ModelSpec("SpikehooksExponential", sim_code=inject + "inSyn *= ExpDecay;\n")
        for genn_name, value in constants.items():
            if synapse.heterogeneous:
                # tau per target neuron: a read-only variable of the postsynaptic
                # model (one value per target neuron in GeNN), as in mlGeNN.
                spec.vars.append(VarSpec(genn_name, "scalar", READ_ONLY,
                                         np.asarray(value, dtype=np.float32), reset=False))
            else:
                spec.params[genn_name] = float(value)
        return spec
    raise TypeError(f"the genn backend has no code for synapse model {type(synapse).__name__}")


#: The weight update model of connections without per-synapse delays: add ``g`` on each
#: presynaptic spike (a constant delay is GeNN's axonal delay of the synapse group).
WEIGHT_UPDATE = ModelSpec("SpikehooksStaticPulse",
                          vars=[VarSpec("g", "scalar", READ_ONLY, 0.0, reset=False)],
                          sim_code="addToPost(g);\n")


def delay_type(max_delay_steps: int) -> str:
    """GeNN type of per-synapse delays up to ``max_delay_steps`` (the smallest that holds it)."""
    return "uint8_t" if max_delay_steps < 256 else "uint16_t"


def delayed_weight_update(max_delay_steps: int) -> ModelSpec:
    """The weight update model of per-synapse delays: ``g`` reaches the target ``d`` steps late.

    GeNN's dendritic delay: ``addToPostDelay(g, d)`` adds into a ring of
    ``max_delay_steps + 1`` slots per target neuron that the postsynaptic
    model empties one slot per step, as in mlGeNN.
    """
    return ModelSpec("SpikehooksStaticPulseDelay",
                     vars=[VarSpec("g", "scalar", READ_ONLY, 0.0, reset=False),
                           VarSpec("d", delay_type(max_delay_steps), READ_ONLY, 0, reset=False)],
                     sim_code="addToPostDelay(g, d);\n")


__all__ = ["WEIGHT_UPDATE", "ModelSpec", "VarSpec", "delay_type", "delayed_weight_update",
           "neuron_spec", "postsynaptic_spec"]
