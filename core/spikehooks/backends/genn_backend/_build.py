"""Turn a :class:`~._plan.Plan` into a built and loaded pygenn model.

The generated code goes to ``<cache_dir>/<cache key>``; GeNN skips code
generation when the model's own hash matches what it finds there and
``make`` then has nothing to compile, so a second run of the same model
does not rebuild.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigurationError
from ...neurons import SpikeInput
from ._models import ModelSpec
from ._plan import Plan

#: Name of the GeNN model; its code lands in ``<build folder>/<name>_CODE``.
MODEL_NAME = "spikehooks"


@dataclass
class BuiltModel:
    """A loaded pygenn model and its groups.

    Attributes
    ----------
    model : pygenn.GeNNModel
    neuron_groups : dict of Population to pygenn.NeuronGroup
    synapse_groups : dict of Connection to pygenn.SynapseGroup
    build_dir : pathlib.Path
        Folder of this model's build (``<cache_dir>/<cache key>``).
    build_seconds, load_seconds : float
        Wall time of code generation plus compilation, and of loading.
    """

    model: Any
    neuron_groups: dict = field(default_factory=dict)
    synapse_groups: dict = field(default_factory=dict)
    build_dir: Path = Path()
    build_seconds: float = 0.0
    load_seconds: float = 0.0


def _var_list(pygenn: Any, spec: ModelSpec) -> list[tuple[str, str, Any]]:
    return [(v.name, v.type, getattr(pygenn.VarAccess, v.access)) for v in spec.vars]


def _neuron_model(pygenn: Any, spec: ModelSpec) -> Any:
    return pygenn.create_neuron_model(
        spec.class_name, params=list(spec.params), vars=_var_list(pygenn, spec),
        sim_code=spec.sim_code, threshold_condition_code=spec.threshold_code,
        reset_code=spec.reset_code, extra_global_params=list(spec.egps) or None)


def _initial_values(spec: ModelSpec) -> dict[str, Any]:
    return {v.name: v.initial for v in spec.vars}


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what child processes print to standard error while the block runs.

    GeNN runs ``make``, which prints its folder messages on standard output;
    they would mix with the program's own output (a benchmark's JSON, say).
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` across processes while the block runs.

    Two processes compiling the same model would otherwise write the same
    files at once.  Uses ``flock`` (Linux, macOS); elsewhere it locks nothing.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_settings(pygenn: Any, plan: Plan) -> None:
    """Raise :class:`ConfigurationError` for a GeNN backend or preference pygenn lacks."""
    modules = pygenn.genn_model.backend_modules
    if plan.genn_backend not in modules:
        raise ConfigurationError(
            f"GeNNBackend genn_backend must be one of the backends this pygenn was built with "
            f"{sorted(modules)}; got {plan.genn_backend!r}. Rebuild pygenn with that backend "
            f"(CUDA needs CUDA_PATH set at build time) or pick one of those."
        )
    preferences = modules[plan.genn_backend].Preferences()
    # GeNNModel's own keywords (time_precision, the log levels) are accepted
    # beside the backend's preferences, as mlGeNN's **genn_kwargs pass both.
    model_keywords = set(inspect.signature(pygenn.GeNNModel).parameters) - {
        "precision", "model_name", "backend", "preference_kwargs"}
    unknown = sorted(k for k in plan.preferences
                     if k not in model_keywords and not hasattr(preferences, k))
    if unknown:
        known = sorted(model_keywords
                       | {k for k in dir(preferences) if not k.startswith("_")})
        raise ConfigurationError(
            f"GeNNBackend genn_preferences must name GeNNModel keywords or preferences of "
            f"GeNN's {plan.genn_backend} backend {known}; got {unknown}. Remove or correct them."
        )


def build_model(pygenn: Any, plan: Plan, *, build_dir: Path, num_recording_timesteps: int,
                spike_capacity: dict[Any, int]) -> BuiltModel:
    """Build (or reuse) and load the GeNN model of ``plan``.

    Parameters
    ----------
    pygenn : module
        The imported pygenn.
    plan : Plan
        What to build.
    build_dir : pathlib.Path
        Folder for this model's generated code and library.
    num_recording_timesteps : int
        Capacity of the spike recording buffers in timesteps.
    spike_capacity : dict of Population to int
        Size of the ``SpikeTimes`` array of each :class:`SpikeInput` population
        (its ``max_spikes``).
    """
    check_settings(pygenn, plan)
    model = pygenn.GeNNModel("float", MODEL_NAME, backend=plan.genn_backend, **plan.preferences)
    model.dt = plan.dt
    model.batch_size = plan.batch_size
    if plan.uses_rng:
        # GeNN seeds from the clock when the seed is 0; keep every rng_seed reproducible.
        model.seed = plan.rng_seed % 0xFFFFFFFF + 1
    built = BuiltModel(model, build_dir=build_dir)
    for pp in plan.populations:
        pop = pp.population
        ng = model.add_neuron_population(
            pp.genn_name, pop.num_neurons, _neuron_model(pygenn, pp.spec),
            pp.spec.params, _initial_values(pp.spec))
        if pop.record_spikes:
            ng.spike_recording_enabled = True
        if isinstance(pop.neuron, SpikeInput):
            ng.extra_global_params["SpikeTimes"].set_init_values(
                np.zeros(spike_capacity[pop], dtype=np.float32))
        built.neuron_groups[pop] = ng
    weight_updates: dict[str, Any] = {}
    for cp in plan.connections:
        conn = cp.connection
        wu = cp.weight_update
        if wu.class_name not in weight_updates:
            weight_updates[wu.class_name] = pygenn.create_weight_update_model(
                wu.class_name, vars=_var_list(pygenn, wu), pre_spike_syn_code=wu.sim_code)
        psm = pygenn.create_postsynaptic_model(
            cp.psm.class_name, params=list(cp.psm.params), vars=_var_list(pygenn, cp.psm) or None,
            sim_code=cp.psm.sim_code)
        if cp.matrix_type == "SPARSE":
            pre, post = cp.synapse_indices()
            values = {"g": cp.weight[pre, post]}
            if cp.dendritic:
                values["d"] = cp.delays[pre, post]  # type: ignore[index]
        else:
            values = {"g": cp.weight.reshape(-1)}
            if cp.dendritic:
                values["d"] = cp.delays.reshape(-1)  # type: ignore[union-attr]
        sg = model.add_synapse_population(
            cp.genn_name, cp.matrix_type, built.neuron_groups[conn.source],
            built.neuron_groups[conn.target],
            pygenn.init_weight_update(weight_updates[wu.class_name], {}, values),
            pygenn.init_postsynaptic(psm, cp.psm.params, _initial_values(cp.psm)))
        if cp.matrix_type == "SPARSE":
            sg.set_sparse_connections(pre, post)
        if cp.axonal_delay:
            sg.axonal_delay_steps = cp.axonal_delay
        elif cp.dendritic:
            # Slot d of the ring is read d steps later; d = max_delay_steps needs one more slot.
            sg.max_dendritic_delay_timesteps = cp.max_delay_steps + 1
        built.synapse_groups[conn] = sg
    build_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(build_dir):
        start = time.perf_counter()
        with _stdout_to_stderr():
            model.build(str(build_dir))
        built.build_seconds = time.perf_counter() - start
        start = time.perf_counter()
        model.load(num_recording_timesteps=num_recording_timesteps)
        built.load_seconds = time.perf_counter() - start
    return built


__all__ = ["MODEL_NAME", "BuiltModel", "build_model"]
