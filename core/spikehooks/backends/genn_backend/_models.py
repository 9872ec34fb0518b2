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
                dt: float, num_timesteps: int) -> ModelSpec:
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
    """
    name = type(neuron).__name__
    if isinstance(neuron, (BinarySpikeInput, LeakyIntegrateFireInput, AdaptiveLeakyIntegrateFire)):
        raise ConfigurationError(
            f"neuron model of the genn backend must be one of IntegrateFireInput, SpikeInput, "
            f"PoissonInput, IntegrateFire, LeakyIntegrateFire, LeakyIntegrate; got {name}. "
            f"Use backend='numpy', which simulates mlGeNN's {name}."
        )
    hetero = neuron.heterogeneous()
    if hetero:
        raise ConfigurationError(
            f"{name} {', '.join(sorted(hetero))} must be one number on the genn backend; got "
            f"per-neuron values (mlGeNN's heterogeneous parameters). Evaluate with "
            f"backend='numpy', which simulates them as per-neuron variables."
        )
    if isinstance(neuron, IntegrateFireInput):
        return ModelSpec(
            "SpikehooksIntegrateFireInput",
            params={"Vthresh": _f32(neuron.v_thresh), "Vreset": _f32(neuron.v_reset)},
            vars=[VarSpec("V", "scalar", READ_WRITE, initial_v),
                  VarSpec("Input", "scalar", READ_ONLY_DUPLICATE, 0.0)],
            sim_code="V += Input;\n", threshold_code="V >= Vthresh", reset_code="V = Vreset;\n")
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
        return _lif(neuron, initial_v, dt, r_vars, r_params, after_v, after_reset)
    if isinstance(neuron, IntegrateFire):
        return ModelSpec(
            "SpikehooksIntegrateFire",
            params={"Vthresh": _f32(neuron.v_thresh), "Vreset": _f32(neuron.v_reset),
                    **r_params},
            vars=[VarSpec("V", "scalar", READ_WRITE, initial_v), *r_vars],
            sim_code="V += Isyn;\n" + after_v, threshold_code="V >= Vthresh",
            reset_code="V = Vreset;\n" + after_reset)
    if isinstance(neuron, LeakyIntegrate):
        return _li(neuron, initial_v, bias, dt, r_vars, r_params, after_v)
    raise TypeError(f"the genn backend has no code for neuron model {name}")


def _leak(neuron: Any, dt: float) -> tuple[dict[str, float], str]:
    """Return the leak constants and the expression of the injected current."""
    alpha = neuron.alpha(dt)
    if neuron.scale_i:
        return ({"Alpha": float(alpha), "OneMinusAlpha": float(np.float32(1.0) - alpha)},
                "Isyn * OneMinusAlpha")
    return {"Alpha": float(alpha)}, "Isyn"


def _lif(neuron: LeakyIntegrateFire, initial_v: np.ndarray | None, dt: float, r_vars: list,
         r_params: dict, after_v: str, after_reset: str) -> ModelSpec:
    leak, current = _leak(neuron, dt)
    params = {"Vthresh": _f32(neuron.v_thresh), "Vreset": _f32(neuron.v_reset),
              "VDrop": float(np.float32(neuron.v_thresh) - np.float32(neuron.v_reset)),
              **leak, **r_params}
    variables = [VarSpec("V", "scalar", READ_WRITE, initial_v)]
    integrate = "V = (Alpha * V) + current;\n"
    sim = f"const scalar current = {current};\n"
    threshold = "V >= Vthresh"
    reset = "V -= VDrop;\n" if neuron.relative_reset else "V = Vreset;\n"
    if neuron.tau_refrac is not None:
        params["TauRefrac"] = _f32(neuron.tau_refrac)
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
        dt: float, r_vars: list, r_params: dict, after_v: str) -> ModelSpec:
    leak, current = _leak(neuron, dt)
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
        if synapse.heterogeneous:
            raise ConfigurationError(
                "Exponential tau must be one number on the genn backend; got per-neuron "
                "values. Evaluate with backend='numpy', which simulates them."
            )
        params = {"ExpDecay": float(synapse.exp_decay(dt))}
        inject = "injectCurrent(inSyn);\n"
        if synapse.scale_i:
            params["IScale"] = float(synapse.i_scale(dt))
            inject = "injectCurrent(inSyn * IScale);\n"
        return ModelSpec("SpikehooksExponential", params=params,
                         sim_code=inject + "inSyn *= ExpDecay;\n")
    raise TypeError(f"the genn backend has no code for synapse model {type(synapse).__name__}")


#: The weight update model shared by every connection: add ``g`` on each presynaptic spike.
WEIGHT_UPDATE = ModelSpec("SpikehooksStaticPulse",
                          vars=[VarSpec("g", "scalar", READ_ONLY, 0.0, reset=False)],
                          sim_code="addToPost(g);\n")


__all__ = ["WEIGHT_UPDATE", "ModelSpec", "VarSpec", "neuron_spec", "postsynaptic_spec"]
