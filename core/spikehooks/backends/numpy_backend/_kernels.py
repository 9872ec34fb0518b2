"""Per-step closures of neuron updates, readouts and spike recording, float32 throughout.

Every builder returns a function ``fn(t)`` (``t``: timestep within the
batch) closing over the arrays it touches, so the hot loop does no attribute
lookups and no allocation that could be hoisted (packing spike bits and
sequential delivery's spike indices need fresh arrays each step).  The rules mirror GeNN's
code for mlGeNN's models; see ``docs/runtime.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

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
from ._state import PopulationState

StepFn = Callable[[int], None]

_add, _mul, _sub = np.add, np.multiply, np.subtract
_copyto, _ge = np.copyto, np.greater_equal


# ------------------------------------------------------------------ readouts
def _readout_fns(pst: PopulationState, num_timesteps: int,
                 dt: float) -> tuple[StepFn | None, StepFn | None]:
    """Return (after the V update, after the reset) closures of the readout."""
    readout = pst.population.neuron.readout
    if readout is None or not readout.accumulates:
        return None, None
    V, acc = pst.vars["V"], pst.vars[readout.var_name]
    if isinstance(readout, SumVar):
        return (lambda t: _add(acc, V, out=acc)), None
    if isinstance(readout, MaxVar):
        return (lambda t: np.maximum(acc, V, out=acc)), None
    if isinstance(readout, AvgVar):
        scale, tmp = np.float32(1.0 / num_timesteps), np.empty_like(V)

        def average(t: int) -> None:
            _mul(V, scale, out=tmp)
            _add(acc, tmp, out=acc)

        return average, None
    if isinstance(readout, AvgVarExpWeight):
        weighted = np.empty_like(V)

        def exp_average(t: int) -> None:
            # mlGeNN: VAvg += exp(-(t_ms / (T dt))) * (1 / T) * V, t_ms the step's start.
            weight = np.float32(np.exp(-t / num_timesteps)) * np.float32(1.0 / num_timesteps)
            _mul(V, weight, out=weighted)
            _add(acc, weighted, out=acc)

        return exp_average, None
    spikes = pst.spikes
    if isinstance(readout, SpikeCount):
        return None, (lambda t: _add(acc, spikes, out=acc))
    if isinstance(readout, FirstSpikeTime):
        def first_spike(t: int) -> None:
            np.maximum(acc, -(np.float32(t) * np.float32(dt)), out=acc, where=spikes)

        return None, first_spike
    raise TypeError(f"the numpy backend has no kernel for readout {type(readout).__name__}")


# ------------------------------------------------------------------- neurons
def _param(pst: PopulationState, user: str) -> Any:
    """A parameter as the kernel reads it: a float32 scalar, or the live per-neuron
    variable (batch, n) when it was given per neuron."""
    neuron = pst.population.neuron
    genn_name = neuron.heterogeneous().get(user)
    return np.float32(getattr(neuron, user)) if genn_name is None else pst.vars[genn_name]


def _integrate_fire_input(pst: PopulationState, dt: float) -> StepFn:
    neuron = pst.population.neuron
    V, inp, spikes = pst.vars["V"], pst.vars["Input"], pst.spikes
    thresh, reset = _param(pst, "v_thresh"), _param(pst, "v_reset")
    frames, frame_steps = neuron.input_frames, neuron.input_frame_timesteps
    data = pst.input  # (frames, batch, n), filled in place by set_input

    def update(t: int) -> None:
        if frames > 1:
            _copyto(inp, data[min(t // frame_steps, frames - 1)])
        _add(V, inp, out=V)
        _ge(V, thresh, out=spikes)
        _copyto(V, reset, where=spikes)

    return update


def _poisson_input(pst: PopulationState, dt: float, rng: np.random.Generator) -> StepFn:
    neuron = pst.population.neuron
    spikes = pst.spikes
    frames, frame_steps = neuron.input_frames, neuron.input_frame_timesteps
    uniform = np.empty(spikes.shape, dtype=np.float32)
    random, land = rng.random, np.logical_and
    limit, positive = pst.input  # each (frames, batch, n), filled in place by set_input

    def update(t: int) -> None:
        frame = min(t // frame_steps, frames - 1)
        random(dtype=np.float32, out=uniform)
        _ge(uniform, limit[frame], out=spikes)
        land(spikes, positive[frame], out=spikes)

    return update


def _spike_input(pst: PopulationState, dt: float) -> StepFn:
    flat_spikes = pst.spikes.reshape(-1)
    current = np.empty(flat_spikes.shape, dtype=np.float32)
    take, le, f32 = np.take, np.less_equal, np.float32

    def update(t: int) -> None:
        # Looked up each step: set_input replaces these arrays (their size
        # varies with the batch's spike count).
        times, pointer = pst.input
        take(times, pointer, out=current)
        le(current, f32(t) * f32(dt), out=flat_spikes)
        _add(pointer, flat_spikes, out=pointer, casting="unsafe")

    return update


def _integrate_fire(pst: PopulationState, dt: float, after_v: Any, after_reset: Any) -> StepFn:
    V, isyn, spikes = pst.vars["V"], pst.isyn, pst.spikes
    thresh, reset = _param(pst, "v_thresh"), _param(pst, "v_reset")

    def update(t: int) -> None:
        _add(V, isyn, out=V)
        if after_v is not None:
            after_v(t)
        _ge(V, thresh, out=spikes)
        _copyto(V, reset, where=spikes)
        if after_reset is not None:
            after_reset(t)

    return update


def _frame_copy(pst: PopulationState) -> Any:
    """Return ``fn(t)`` showing the current frame of time-varying input in ``Input``
    (None for static input, which set_input already wrote there)."""
    neuron = pst.population.neuron
    frames, frame_steps = neuron.input_frames, neuron.input_frame_timesteps
    inp, data = pst.vars["Input"], pst.input
    if frames == 1:
        return None
    return lambda t: _copyto(inp, data[min(t // frame_steps, frames - 1)])


def _binary_spike_input(pst: PopulationState) -> StepFn:
    inp, spikes, copy = pst.vars["Input"], pst.spikes, _frame_copy(pst)
    gt = np.greater

    def update(t: int) -> None:
        if copy is not None:
            copy(t)
        gt(inp, 0.0, out=spikes)

    return update


def _leaky_integrate_fire_input(pst: PopulationState, dt: float) -> StepFn:
    copy = _frame_copy(pst)
    lif = _leaky_integrate_fire(pst, dt, None, None, current_source=pst.vars["Input"])
    if copy is None:
        return lif

    def update(t: int) -> None:
        copy(t)
        lif(t)

    return update


def _adaptive_lif(pst: PopulationState, dt: float, after_v: Any, after_reset: Any) -> StepFn:
    neuron: AdaptiveLeakyIntegrateFire = pst.population.neuron
    V, A, isyn, spikes = pst.vars["V"], pst.vars["A"], pst.isyn, pst.spikes
    hetero = neuron.heterogeneous()

    def const(user: str, decay: bool = False) -> Any:
        if user in hetero:
            return pst.vars[neuron.param_vars[user]]
        value = getattr(neuron, user)
        return np.float32(np.exp(-dt / value)) if decay else np.float32(value)

    alpha, rho = const("tau_mem", True), const("tau_adapt", True)
    thresh, reset, beta = const("v_thresh"), const("v_reset"), const("beta")
    relative = neuron.relative_reset
    level, drop = np.empty_like(V), np.empty_like(V)
    refractory = neuron.tau_refrac is not None
    if refractory:
        refrac, tau_refrac = pst.vars["RefracTime"], const("tau_refrac")
        dt32, always = np.float32(dt), neuron.integrate_during_refrac
        busy, free = np.empty_like(spikes), np.empty_like(spikes)
    gt, le, land, lnot = np.greater, np.less_equal, np.logical_and, np.logical_not

    def update(t: int) -> None:
        if refractory:
            gt(refrac, 0.0, out=busy)
            if always:
                _mul(V, alpha, out=V)
                _add(V, isyn, out=V)
            else:
                lnot(busy, out=free)
                _mul(V, alpha, out=V, where=free)
                _add(V, isyn, out=V, where=free)
            _mul(A, rho, out=A)
            _sub(refrac, dt32, out=refrac, where=busy)
        else:
            _mul(V, alpha, out=V)
            _add(V, isyn, out=V)
            _mul(A, rho, out=A)
        if after_v is not None:
            after_v(t)
        # GeNN's threshold: V >= (Vthresh + (Beta * A)), in float32.
        _mul(beta, A, out=level)
        _add(thresh, level, out=level)
        _ge(V, level, out=spikes)
        if refractory:
            le(refrac, 0.0, out=free)
            land(spikes, free, out=spikes)
        if relative:
            _sub(thresh, reset, out=drop)
            _sub(V, drop, out=V, where=spikes)
        else:
            _copyto(V, reset, where=spikes)
        _add(A, np.float32(1.0), out=A, where=spikes)
        if refractory:
            _copyto(refrac, tau_refrac, where=spikes)
        if after_reset is not None:
            after_reset(t)

    return update


def _leaky_integrate_fire(pst: PopulationState, dt: float, after_v: Any,
                          after_reset: Any, current_source: Any = None) -> StepFn:
    neuron: LeakyIntegrateFire = pst.population.neuron
    V, spikes = pst.vars["V"], pst.spikes
    isyn = pst.isyn if current_source is None else current_source
    hetero = neuron.heterogeneous()
    alpha = pst.vars["Alpha"] if "tau_mem" in hetero else neuron.alpha(dt)
    thresh, reset = _param(pst, "v_thresh"), _param(pst, "v_reset")
    # Per-neuron variables may be edited between steps (GeNN semantics), so the
    # constants derived from them are recomputed every step into these buffers.
    one_minus_alpha: Any = np.empty_like(V) if "tau_mem" in hetero else np.float32(1.0) - alpha
    drop: Any = np.empty_like(V) if hetero.keys() & {"v_thresh", "v_reset"} else thresh - reset
    derive_alpha, derive_drop = "tau_mem" in hetero, isinstance(drop, np.ndarray)
    relative, scale_i = neuron.relative_reset, neuron.scale_i
    scaled = np.empty_like(V)
    refractory = neuron.tau_refrac is not None
    if refractory:
        refrac = pst.vars["RefracTime"]
        tau_refrac, dt32 = _param(pst, "tau_refrac"), np.float32(dt)
        busy, free = np.empty_like(spikes), np.empty_like(spikes)
        always = neuron.integrate_during_refrac
    gt, le, land, lnot = np.greater, np.less_equal, np.logical_and, np.logical_not

    def update(t: int) -> None:
        current = isyn
        if derive_alpha and scale_i:
            _sub(np.float32(1.0), alpha, out=one_minus_alpha)
        if derive_drop and relative:
            _sub(thresh, reset, out=drop)
        if scale_i:
            _mul(isyn, one_minus_alpha, out=scaled)
            current = scaled
        if refractory:
            gt(refrac, 0.0, out=busy)
            if always:
                _mul(V, alpha, out=V)
                _add(V, current, out=V)
            else:
                lnot(busy, out=free)
                _mul(V, alpha, out=V, where=free)
                _add(V, current, out=V, where=free)
            _sub(refrac, dt32, out=refrac, where=busy)
        else:
            _mul(V, alpha, out=V)
            _add(V, current, out=V)
        if after_v is not None:
            after_v(t)
        _ge(V, thresh, out=spikes)
        if refractory:
            le(refrac, 0.0, out=free)
            land(spikes, free, out=spikes)
        if relative:
            _sub(V, drop, out=V, where=spikes)
        else:
            _copyto(V, reset, where=spikes)
        if refractory:
            _copyto(refrac, tau_refrac, where=spikes)
        if after_reset is not None:
            after_reset(t)

    return update


def _leaky_integrate(pst: PopulationState, dt: float, after_v: Any) -> StepFn:
    neuron: LeakyIntegrate = pst.population.neuron
    V, isyn, bias = pst.vars["V"], pst.isyn, pst.bias
    derive_alpha = "tau_mem" in neuron.heterogeneous()
    alpha = pst.vars["Alpha"] if derive_alpha else neuron.alpha(dt)
    one_minus_alpha: Any = np.empty_like(V) if derive_alpha else np.float32(1.0) - alpha
    has_bias, scale_i = bool(np.any(bias != 0.0)), neuron.scale_i
    scaled = np.empty_like(V)

    def update(t: int) -> None:
        if derive_alpha and scale_i:
            _sub(np.float32(1.0), alpha, out=one_minus_alpha)
        _mul(V, alpha, out=V)
        if scale_i:
            _mul(isyn, one_minus_alpha, out=scaled)
            _add(V, scaled, out=V)
        else:
            _add(V, isyn, out=V)
        if has_bias or pst.bias_trained:
            _add(V, bias, out=V)
        if after_v is not None:
            after_v(t)

    return update


def build_neuron_update(pst: PopulationState, dt: float, num_timesteps: int,
                        rng: np.random.Generator) -> StepFn:
    """Return ``fn(t)``: the neuron update of one population (threshold and reset included)."""
    neuron = pst.population.neuron
    if isinstance(neuron, IntegrateFireInput):
        return _integrate_fire_input(pst, dt)
    if isinstance(neuron, BinarySpikeInput):
        return _binary_spike_input(pst)
    if isinstance(neuron, LeakyIntegrateFireInput):
        return _leaky_integrate_fire_input(pst, dt)
    if isinstance(neuron, SpikeInput):
        return _spike_input(pst, dt)
    if isinstance(neuron, PoissonInput):
        return _poisson_input(pst, dt, rng)
    after_v, after_reset = _readout_fns(pst, num_timesteps, dt)
    if isinstance(neuron, LeakyIntegrateFire):
        return _leaky_integrate_fire(pst, dt, after_v, after_reset)
    if isinstance(neuron, AdaptiveLeakyIntegrateFire):
        return _adaptive_lif(pst, dt, after_v, after_reset)
    if isinstance(neuron, IntegrateFire):
        return _integrate_fire(pst, dt, after_v, after_reset)
    if isinstance(neuron, LeakyIntegrate):
        return _leaky_integrate(pst, dt, after_v)
    raise TypeError(f"the numpy backend has no kernel for neuron model {type(neuron).__name__}")


def build_record(pst: PopulationState) -> StepFn:
    """Return ``fn(t)`` packing the step's spikes into row ``t % rec_steps`` of the buffer."""
    spikes, record = pst.spikes, pst.record
    rows = record.shape[0]
    as_bytes = record.view(np.uint8)
    num_bytes = -(-spikes.shape[1] // 8)
    packbits = np.packbits

    def record_spikes(t: int) -> None:
        as_bytes[t % rows, :, :num_bytes] = packbits(spikes, axis=1, bitorder="little")

    return record_spikes


def build_spike_copy(pst: PopulationState) -> StepFn:
    """Return ``fn(t)`` copying the step's spikes to the float buffer read by delivery."""
    spikes, spikes_f = pst.spikes, pst.spikes_f
    return lambda t: _copyto(spikes_f, spikes)


__all__ = [
    "build_neuron_update",
    "build_record",
    "build_spike_copy",
]
