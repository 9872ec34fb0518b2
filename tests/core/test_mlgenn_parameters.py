"""Every parameter of mlGeNN 2.4.0's public classes and methods, checked against ours.

``test_mlgenn_api.py`` checks the *names* mlGeNN exports; this file checks
their *parameters*.  ``MLGENN_PARAMETERS`` lists, per mlGeNN name, the
parameters that release has, in its positional order, with its defaults,
written as a Python parameter list (a record of facts about the release,
kept here so the test runs without mlGeNN).  For each, spikehooks must:

- take every parameter, at mlGeNN's position (scripts pass them positionally);
- have mlGeNN's default, or one that means the same (``EQUIVALENT``), or a
  documented difference (``DIFFERENT_DEFAULTS``, listed in the porting page);
- or refuse a non-default value with an error naming mlGeNN's parameter
  and what to use instead (``REFUSED``, each checked by calling).

Removing a parameter, moving it, or changing its default fails here.
Methods mlGeNN uses only to build GeNN models (``get_model``,
``get_readout(genn_pop, ...)`` of neurons and readouts, ``add_to_neuron``,
callbacks' hooks) are not part of the porting promise and are not listed.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from spikehooks.errors import ConfigurationError

MLGENN_PARAMETERS: dict[str, str] = {
    "callbacks.Checkpoint": "serialiser='numpy', epoch_interval=1",
    "callbacks.ConnVarRecorder": (
        "conn, genn_var, key=None, example_filter=None, src_neuron_filter=None, "
        "trg_neuron_filter=None"),
    "callbacks.OptimiserParamSchedule": "param_name, func",
    "callbacks.BatchProgressBar": "",
    "callbacks.SpikeRecorder": (
        "pop, key=None, example_filter=None, neuron_filter=None, record_counts=False"),
    "callbacks.VarRecorder": (
        "pop, var=None, key=None, example_filter=None, neuron_filter=None, "
        "genn_var=None"),
    "communicators.MPI.barrier": "",
    "communicators.MPI.broadcast": "data, root",
    "communicators.MPI.reduce_sum": "value",
    "communicators.MPI": "",
    "compilers.CompiledNetwork.set_input": "inputs",
    "compilers.CompiledNetwork.custom_update": "name",
    "compilers.CompiledNetwork.step_time": "callback_list=None",
    "compilers.CompiledNetwork.reset_time": "",
    "compilers.CompiledTrainingNetwork.set_input": "inputs",
    "compilers.CompiledTrainingNetwork.custom_update": "name",
    "compilers.CompiledTrainingNetwork.step_time": "callback_list=None",
    "compilers.CompiledTrainingNetwork.reset_time": "",
    "compilers.CompiledTrainingNetwork.train": (
        "x, y, num_epochs, start_epoch=0, shuffle=True, "
        "metrics='sparse_categorical_accuracy', callbacks=[BatchProgressBar()], "
        "validation_callbacks=[BatchProgressBar()], validation_split=0.0, "
        "validation_x=None, validation_y=None"),
    "compilers.CompiledTrainingNetwork.save_connectivity": "keys=(), serialiser='numpy'",
    "compilers.CompiledTrainingNetwork.save": "keys=(), serialiser='numpy'",
    "compilers.Compiler": (
        "supported_matrix_type, dt=1.0, batch_size=1, rng_seed=0, "
        "kernel_profiling=False, communicator=None, **genn_kwargs"),
    "compilers.Compiler.compile": "network, name=None, **kwargs",
    "compilers.EPropCompiler": (
        "example_timesteps, losses, optimiser='adam', tau_reg=500.0, c_reg=0.001, "
        "f_target=10.0, train_output_bias=True, dt=1.0, batch_size=1, rng_seed=0, "
        "kernel_profiling=False, reset_time_between_batches=True, communicator=None, "
        "deep_r_conns=[], deep_r_l1_strength=0.01, deep_r_record_rewirings={}, "
        "**genn_kwargs"),
    "compilers.EPropCompiler.compile": "network, name=None, **kwargs",
    "compilers.EventPropCompiler": (
        "example_timesteps, losses, optimiser='adam', reg_lambda_upper=0.0, "
        "reg_lambda_lower=0.0, reg_nu_upper=0.0, max_spikes=500, "
        "strict_buffer_checking=False, per_timestep_loss=False, dt=1.0, "
        "ttfs_alpha=0.01, softmax_temperature=1.0, batch_size=1, rng_seed=0, "
        "kernel_profiling=False, communicator=None, delay_optimiser=None, "
        "delay_learn_conns=[], deep_r_conns=[], deep_r_l1_strength=0.01, "
        "deep_r_record_rewirings={}, **genn_kwargs"),
    "compilers.EventPropCompiler.compile": "network, name=None, **kwargs",
    "compilers.CompiledFewSpikeNetwork.set_input": "inputs",
    "compilers.CompiledFewSpikeNetwork.custom_update": "name",
    "compilers.CompiledFewSpikeNetwork.step_time": "callback_list=None",
    "compilers.CompiledFewSpikeNetwork.reset_time": "",
    "compilers.CompiledFewSpikeNetwork.evaluate": (
        "x, y, metrics='sparse_categorical_accuracy', callbacks=[BatchProgressBar()]"),
    "compilers.CompiledFewSpikeNetwork.evaluate_batch_iter": (
        "inputs, outputs, data, num_batches=None, "
        "metrics='sparse_categorical_accuracy', callbacks=[BatchProgressBar()]"),
    "compilers.FewSpikeCompiler": (
        "k=10, dt=1.0, batch_size=1, rng_seed=0, kernel_profiling=False, "
        "prefer_in_memory_connect=True, communicator=None, **genn_kwargs"),
    "compilers.FewSpikeCompiler.compile": "network, name=None, **kwargs",
    "compilers.CompiledInferenceNetwork.set_input": "inputs",
    "compilers.CompiledInferenceNetwork.custom_update": "name",
    "compilers.CompiledInferenceNetwork.step_time": "callback_list=None",
    "compilers.CompiledInferenceNetwork.reset_time": "",
    "compilers.CompiledInferenceNetwork.evaluate": (
        "x, y, metrics='sparse_categorical_accuracy', callbacks=[BatchProgressBar()]"),
    "compilers.CompiledInferenceNetwork.predict": "x, outputs, callbacks=[BatchProgressBar()]",
    "compilers.CompiledInferenceNetwork.evaluate_batch_iter": (
        "inputs, outputs, data, num_batches=None, "
        "metrics='sparse_categorical_accuracy', callbacks=[BatchProgressBar()]"),
    "compilers.CompiledInferenceNetwork.evaluate_batch": (
        "x, y, metrics='sparse_categorical_accuracy', callbacks=[]"),
    "compilers.InferenceCompiler": (
        "evaluate_timesteps, dt=1.0, batch_size=1, rng_seed=0, kernel_profiling=False, "
        "prefer_in_memory_connect=True, reset_time_between_batches=True, "
        "reset_vars_between_batches=True, reset_in_syn_between_batches=False, "
        "communicator=None, **genn_kwargs"),
    "compilers.InferenceCompiler.compile": "network, name=None, **kwargs",
    "Connection": (
        "source, target, connectivity, synapse='delta', name=None, "
        "max_delay_steps=None, add_to_model=True"),
    "connectivity.AvgPool2D": "pool_size, flatten=False, pool_strides=None, delay=0",
    "connectivity.AvgPoolConv2D": (
        "weight, filters, pool_size, conv_size, flatten=False, pool_strides=None, "
        "conv_strides=None, conv_padding='valid', delay=0"),
    "connectivity.AvgPoolDense2D": "weight, pool_size, pool_strides=None, delay=0",
    "connectivity.Conv2D": (
        "weight, filters, conv_size, flatten=False, conv_strides=None, "
        "conv_padding='valid', delay=0"),
    "connectivity.Conv2DTranspose": (
        "weight, filters, conv_size, flatten=False, conv_strides=None, "
        "conv_padding='valid', delay=0"),
    "connectivity.Dense": "weight, delay=0",
    "connectivity.FixedProbability": "p, weight, allow_self_connections=False, delay=0",
    "connectivity.OneToOne": "weight, delay=0",
    "initializers.Normal": "mean=0.0, sd=1.0",
    "initializers.Uniform": "min=0.0, max=1.0",
    "initializers.Wrapper": "snippet, param_vals={}, egp_vals={}",
    "InputLayer": "neuron, shape=None, record_spikes=False, record_spike_events=False, name=None",
    "Layer": (
        "connectivity, neuron, shape=None, synapse='delta', record_spikes=False, "
        "record_spike_events=False, max_delay_steps=None, name=None"),
    "losses.RelativeMeanSquareError": "delta",
    "metrics.MeanSquareError.update": "y_true, y_pred, communicator",
    "metrics.MeanSquareError.reset": "",
    "metrics.MeanSquareError": "",
    "metrics.SparseCategoricalAccuracy.update": "y_true, y_pred, communicator",
    "metrics.SparseCategoricalAccuracy.reset": "",
    "metrics.SparseCategoricalAccuracy": "",
    "Network": "default_params={}",
    "Network.load": "keys=(), serialiser='numpy'",
    "neurons.AdaptiveLeakyIntegrateFire": (
        "v_thresh=1.0, v_reset=0.0, v=0.0, a=0.0, beta=0.0174, tau_mem=20.0, "
        "tau_refrac=None, tau_adapt=2000.0, relative_reset=True, "
        "integrate_during_refrac=True, readout=None"),
    "neurons.BinarySpikeInput": "signed_spikes=False, input_frames=1, input_frame_timesteps=1",
    "neurons.FewSpikeRelu": "k=10, alpha=25, readout=None",
    "neurons.FewSpikeReluInput": "k=10, alpha=25, signed_input=False",
    "neurons.IntegrateFire": "v_thresh=1.0, v_reset=0.0, v=0.0, readout=None, **kwargs",
    "neurons.IntegrateFireInput": (
        "v_thresh=1.0, v_reset=0.0, v=0.0, input_frames=1, input_frame_timesteps=1"),
    "neurons.LeakyIntegrate": "v=0.0, bias=0.0, tau_mem=20.0, scale_i=False, readout=None",
    "neurons.LeakyIntegrateFire": (
        "v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None, "
        "relative_reset=True, integrate_during_refrac=True, scale_i=False, "
        "readout=None, **kwargs"),
    "neurons.LeakyIntegrateFireInput": (
        "v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None, "
        "relative_reset=True, integrate_during_refrac=True, scale_i=False, "
        "input_frames=1, input_frame_timesteps=1"),
    "neurons.PoissonInput": "signed_spikes=False, input_frames=1, input_frame_timesteps=1",
    "neurons.SpikeInput": "max_spikes=1000000",
    "optimisers.Adam": "alpha=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08",
    "Population": (
        "neuron, shape=None, record_spikes=False, record_spike_events=False, "
        "name=None, add_to_model=True"),
    "SequentialNetwork": "default_params={}",
    "SequentialNetwork.load": "keys=(), serialiser='numpy'",
    "serialisers.Numpy.serialise": "keys, data",
    "serialisers.Numpy.deserialise": "keys",
    "serialisers.Numpy.deserialise_all": "keys",
    "serialisers.Numpy": "path=''",
    "synapses.Delta": "",
    "synapses.Exponential": "tau=5.0, scale_i=False",
}

#: mlGeNN names whose methods live on another spikehooks class.
OUR_CLASSES = {
    # InferenceCompiler.compile returns a CompiledNetwork (with mlGeNN's methods).
    "compilers.CompiledInferenceNetwork": ["compilers.CompiledNetwork"],
    # EPropCompiler.compile returns a CompiledEPropNetwork, mlGeNN's CompiledTrainingNetwork.
    "compilers.CompiledTrainingNetwork": ["compilers.CompiledTrainingNetwork",
                                          "compilers.CompiledEPropNetwork"],
}

#: mlGeNN default (as written above) -> spikehooks defaults with the same meaning.
EQUIVALENT: dict[str, list[Any]] = {
    # The callback list default: one progress bar, given by its registered name.
    "[BatchProgressBar()]": [("batch_progress_bar",)],
    # Empty containers: an immutable empty default, or None for "none given".
    "[]": [(), None],
    "{}": [None],
}

#: "name.parameter" -> (spikehooks' default, why); each is in docs/porting-from-mlgenn.md.
DIFFERENT_DEFAULTS: dict[str, tuple[Any, str]] = {
    "compilers.InferenceCompiler.reset_in_syn_between_batches": (
        True, "a full reset between batches, so results do not depend on batch size"),
    "compilers.CompiledTrainingNetwork.train.metrics": (
        None, "e-prop only: None is mlGeNN's accuracy for cross-entropy and the per-step "
              "error for mean square error, where an accuracy has no meaning"),
}

#: mlGeNN ``**kwargs`` -> the names mlGeNN reads from them (ours must take those), or None
#: where they only pass between mlGeNN's own classes and no user sets them.
KWARGS: dict[str, tuple[str, ...] | None] = {
    "compilers.Compiler.compile": (),
    "compilers.EPropCompiler.compile": (),
    "compilers.EventPropCompiler.compile": (),
    "compilers.InferenceCompiler.compile": (),
    "compilers.FewSpikeCompiler.compile": ("inputs", "outputs"),
    # Forwarded to the input mixin of the *Input subclasses (spikehooks has none).
    "neurons.IntegrateFire": None,
    "neurons.LeakyIntegrateFire": None,
}

#: "name.parameter" -> (call with a non-default value, pattern the refusal matches).
REFUSED: dict[str, tuple[Any, str]] = {
    "Population.add_to_model": (
        lambda m: m.Population(None, add_to_model=False),
        r"Population add_to_model must be True; got False\. mlGeNN .* leave add_to_model out"),
    "Connection.add_to_model": (
        lambda m: m.Connection(None, None, None, add_to_model=False),
        r"Connection add_to_model must be True; got False\. mlGeNN"),
    "compilers.Compiler.supported_matrix_type": (
        lambda m: m.compilers.Compiler(["SPARSE"]),
        r"Compiler supported_matrix_type must be None; got \['SPARSE'\]\. mlGeNN's"),
    "compilers.EventPropCompiler.deep_r_conns": (
        lambda m: m.compilers.EventPropCompiler(10, "sparse_categorical_crossentropy",
                                                deep_r_conns=["hidden"]),
        r"EventPropCompiler deep_r_conns must be empty; got \['hidden'\]\. .*EPropCompiler"),
    "compilers.EventPropCompiler.deep_r_record_rewirings": (
        lambda m: m.compilers.EventPropCompiler(10, "sparse_categorical_crossentropy",
                                                deep_r_record_rewirings={"c": "k"}),
        r"EventPropCompiler deep_r_record_rewirings must be empty; .*EPropCompiler"),
    "compilers.FewSpikeCompiler.communicator": (
        lambda m: m.compilers.FewSpikeCompiler(communicator=object()),
        r"FewSpikeCompiler communicator must be None; got object\. Data-parallel"),
    "compilers.InferenceCompiler.reset_time_between_batches": (
        lambda m: m.InferenceCompiler(10, reset_time_between_batches=False),
        r"reset_time_between_batches must be True; got False"),
}

DOC = (Path(__file__).parents[2] / "docs" / "porting-from-mlgenn.md").read_text()


def _parse(params: str) -> tuple[list[tuple[str, str | None]], str | None]:
    """``"a, b=1, **kw"`` -> ``([("a", None), ("b", "1")], "kw")``."""
    args = ast.parse(f"def f({params}): pass").body[0].args  # type: ignore[attr-defined]
    names = [a.arg for a in args.args]
    defaults = [ast.unparse(d) for d in args.defaults]
    padded: list[str | None] = [None] * (len(names) - len(defaults)) + defaults
    return list(zip(names, padded, strict=True)), args.kwarg and args.kwarg.arg


def _ours(key: str) -> list[tuple[str, Any]]:
    """The spikehooks callables standing for mlGeNN's ``key`` (class means its __init__)."""
    parts = key.split(".")
    method = parts[-1] if len(parts) > 1 and parts[-1][0].islower() else None
    owner = ".".join(parts[:-1] if method else parts)
    found = []
    for ours in OUR_CLASSES.get(owner, [owner]):
        module, _, name = ours.rpartition(".")
        cls = getattr(importlib.import_module("spikehooks" + ("." + module if module else "")),
                      name)
        found.append((ours, getattr(cls, method) if method else cls))
    return found


def _same(ml_default: str, ours: Any) -> bool:
    if ml_default in EQUIVALENT and any(ours == e and type(ours) is type(e)
                                        for e in EQUIVALENT[ml_default]):
        return True
    try:
        value = ast.literal_eval(ml_default)
    except ValueError:
        return False
    return bool(ours == value) and isinstance(ours, (bool, type(None))) == isinstance(
        value, (bool, type(None)))


@pytest.mark.parametrize("key", sorted(MLGENN_PARAMETERS))
def test_every_mlgenn_parameter_is_taken_in_mlgenns_position_with_its_default(key):
    ml_params, ml_kwargs = _parse(MLGENN_PARAMETERS[key])
    for ours_name, ours in _ours(key):
        sig = inspect.signature(ours)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)]
        by_name = {p.name: p for p in params}
        for i, (name, ml_default) in enumerate(ml_params):
            where = f"{ours_name}({name}) for mlGeNN's {key}"
            assert name in by_name, f"{where}: missing"
            assert i < len(positional) and positional[i].name == name, (
                f"{where}: mlGeNN's positional parameter {i} is {name}; ours is "
                f"{positional[i].name if i < len(positional) else 'keyword-only'}")
            default = by_name[name].default
            if ml_default is None:
                continue  # required in mlGeNN: any default of ours accepts mlGeNN's calls
            assert default is not inspect.Parameter.empty, f"{where}: ours is required"
            if _same(ml_default, default):
                continue
            different = DIFFERENT_DEFAULTS.get(f"{key}.{name}")
            assert different is not None and default == different[0], (
                f"{where}: default {default!r}, mlGeNN's {ml_default}")
            assert f"`{name}" in DOC, f"docs/porting-from-mlgenn.md must list {key}.{name}"
        # A parameter of ours mlGeNN lacks must not be required (mlGeNN's calls omit it).
        known = {name for name, _ in ml_params}
        for p in params:
            if p.name not in known and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                assert p.default is not inspect.Parameter.empty, f"{ours_name}({p.name})"
        takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
        if ml_kwargs and not takes_any:
            # mlGeNN's **genn_kwargs go to GeNN: ours take them too (see test_genn_kwargs).
            assert key in KWARGS, f"{key}: mlGeNN takes **{ml_kwargs}; say what they mean"
            for name in KWARGS[key] or ():
                assert name in by_name, f"{ours_name} must take mlGeNN's {name}="


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_a_refused_mlgenn_parameter_raises_naming_it_and_what_to_use(key):
    import spikehooks

    call, pattern = REFUSED[key]
    owner, _, name = key.rpartition(".")
    assert name in dict(_parse(MLGENN_PARAMETERS[owner])[0]), key
    with pytest.raises(ConfigurationError, match=pattern):
        call(spikehooks)
    assert f"`{name}" in DOC, f"docs/porting-from-mlgenn.md must list {key}"


def test_the_table_covers_every_exported_class_with_parameters():
    from test_mlgenn_api import MLGENN_EXPORTS

    listed = {re.sub(r"\.[a-z_]+$", "", key) for key in MLGENN_PARAMETERS}
    # Base classes and models mlGeNN builds GeNN code from take nothing a user sets.
    no_parameters = {"Callback", "Connectivity", "Initializer", "Loss", "Metric", "Neuron",
                     "Optimiser", "Readout", "Serialiser", "Synapse", "Communicator",
                     "MeanSquareError", "SparseCategoricalCrossentropy", "AvgVar",
                     "AvgVarExpWeight", "FirstSpikeTime", "MaxVar", "SpikeCount", "SumVar",
                     "Var", "Input", "MetricType", "MetricsType"}
    missing = []
    for module, names in MLGENN_EXPORTS.items():
        prefix = module[len("ml_genn."):] + "." if module != "ml_genn" else ""
        for name in names:
            if name[0].islower() or name.startswith("CustomUpdate") or name in no_parameters:
                continue
            if prefix + name not in listed:
                missing.append(prefix + name)
    assert not missing, missing


def test_removing_a_parameter_fails_this_audit(monkeypatch):
    from spikehooks import connectivity

    def without_flag(self, p, weight, delay=0):
        pass

    monkeypatch.setattr(connectivity.FixedProbability, "__init__", without_flag)
    with pytest.raises(AssertionError, match="allow_self_connections"):
        test_every_mlgenn_parameter_is_taken_in_mlgenns_position_with_its_default(
            "connectivity.FixedProbability")
