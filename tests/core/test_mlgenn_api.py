"""Every name mlGeNN 2.4.0's packages export exists in spikehooks, or is refused by name.

``MLGENN_EXPORTS`` lists the names mlGeNN 2.4.0 exports from each package's
``__init__`` (a list of facts about that release, kept here so the test runs
without mlGeNN).  Each must either resolve in the matching spikehooks module
to an object of the same kind (a subclass of the same base class, a
subpackage, a type), or raise :class:`UnsupportedFeatureError` naming the
mlGeNN name and what to use instead, and be listed in
``docs/porting-from-mlgenn.md``.
"""

from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path

import pytest

import spikehooks
from spikehooks.errors import UnsupportedFeatureError

MLGENN_EXPORTS = {
    "ml_genn": ["Connection", "InputLayer", "Layer", "Network", "Population",
                "SequentialNetwork", "callbacks", "communicators", "compilers", "connectivity",
                "initializers", "losses", "metrics", "neurons", "optimisers", "readouts",
                "serialisers", "synapses", "utils"],
    "ml_genn.callbacks": ["BatchProgressBar", "Callback", "Checkpoint", "ConnVarRecorder",
                          "CustomUpdateOnBatchBegin", "CustomUpdateOnBatchEnd",
                          "CustomUpdateOnEpochBegin", "CustomUpdateOnEpochEnd",
                          "CustomUpdateOnTimestepBegin", "CustomUpdateOnTimestepEnd",
                          "OptimiserParamSchedule", "SpikeRecorder", "VarRecorder",
                          "default_callbacks"],
    "ml_genn.communicators": ["Communicator", "MPI"],
    "ml_genn.compilers": ["CompiledFewSpikeNetwork", "CompiledInferenceNetwork",
                          "CompiledNetwork", "CompiledTrainingNetwork", "Compiler",
                          "EPropCompiler", "EventPropCompiler", "FewSpikeCompiler",
                          "InferenceCompiler"],
    "ml_genn.connectivity": ["AvgPool2D", "AvgPoolConv2D", "AvgPoolDense2D", "Connectivity",
                             "Conv2D", "Conv2DTranspose", "Dense", "FixedProbability",
                             "OneToOne", "default_connectivity"],
    "ml_genn.initializers": ["Initializer", "Normal", "Uniform", "Wrapper",
                             "default_initializers"],
    "ml_genn.losses": ["Loss", "MeanSquareError", "RelativeMeanSquareError",
                       "SparseCategoricalCrossentropy", "default_losses"],
    "ml_genn.metrics": ["MeanSquareError", "Metric", "MetricType", "MetricsType",
                        "SparseCategoricalAccuracy", "default_metrics"],
    "ml_genn.neurons": ["AdaptiveLeakyIntegrateFire", "BinarySpikeInput", "FewSpikeRelu",
                        "FewSpikeReluInput", "Input", "IntegrateFire", "IntegrateFireInput",
                        "LeakyIntegrate", "LeakyIntegrateFire", "LeakyIntegrateFireInput",
                        "Neuron", "PoissonInput", "SpikeInput", "default_neurons"],
    "ml_genn.optimisers": ["Adam", "Optimiser", "default_optimisers"],
    "ml_genn.readouts": ["AvgVar", "AvgVarExpWeight", "FirstSpikeTime", "MaxVar", "Readout",
                         "SpikeCount", "SumVar", "Var", "default_readouts"],
    "ml_genn.serialisers": ["Numpy", "Serialiser", "default_serialisers"],
    "ml_genn.synapses": ["Delta", "Exponential", "Synapse", "default_synapses"],
}

#: The base class every class of a module derives from, as in mlGeNN.
BASES = {
    "ml_genn.communicators": "Communicator", "ml_genn.compilers": None,
    "ml_genn.connectivity": "Connectivity", "ml_genn.initializers": "Initializer",
    "ml_genn.losses": "Loss", "ml_genn.metrics": "Metric", "ml_genn.neurons": "Neuron",
    "ml_genn.optimisers": "Optimiser", "ml_genn.readouts": "Readout",
    "ml_genn.serialisers": "Serialiser", "ml_genn.synapses": "Synapse",
    "ml_genn.callbacks": "Callback",
}

NAMES = [(module, name) for module, names in MLGENN_EXPORTS.items() for name in names]
DOC = (Path(__file__).parents[2] / "docs" / "porting-from-mlgenn.md").read_text()


def _resolve(module: str, name: str):
    target = importlib.import_module("spikehooks" + module[len("ml_genn"):])
    return target, getattr(target, name)


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m}.{n}" for m, n in NAMES])
def test_every_mlgenn_export_exists_with_its_kind_or_is_refused_and_documented(module, name):
    try:
        target, obj = _resolve(module, name)
    except UnsupportedFeatureError as exc:
        message = str(exc)
        assert f"mlGeNN's {name}" in message and "not supported" in message
        # Says what to use instead, and the docs list it.
        assert any(word in message for word in ("use", "Use", "install", "write", "with"))
        assert f"`{name}`" in DOC or f".{name}`" in DOC or f"`ml_genn.{name}`" in DOC, name
        return
    if module == "ml_genn" and name[0].islower():
        assert isinstance(obj, types.ModuleType) and obj.__name__ == f"spikehooks.{name}"
        return
    if name in ("MetricType", "MetricsType"):
        assert isinstance(obj, types.UnionType) and spikehooks.metrics.Metric in obj.__args__ \
            or spikehooks.metrics.Metric in getattr(obj.__args__[1], "__args__", ())
        return
    assert inspect.isclass(obj), (module, name, obj)
    base = BASES.get(module)
    if base is not None:
        base_class = getattr(target, base)
        assert issubclass(obj, base_class), (name, base)


def test_refusals_name_the_mlgenn_feature_on_import_and_attribute_access():
    with pytest.raises(UnsupportedFeatureError, match="mlGeNN's CustomUpdateOnBatchEnd.*"
                                                      "write a Callback"):
        exec("from spikehooks.callbacks import CustomUpdateOnBatchEnd", {})
    # Python imports the parent package first: the refusal names mlGeNN's utils package.
    with pytest.raises(UnsupportedFeatureError, match=r"mlGeNN's ml_genn\.utils\).*"
                                                      r"use spikehooks\.data"):
        importlib.import_module("spikehooks.utils.data")
    with pytest.raises(UnsupportedFeatureError, match="registry.names\\('neurons'\\)"):
        spikehooks.neurons.default_neurons  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'NotAnMlGeNNName'"):
        spikehooks.neurons.NotAnMlGeNNName  # noqa: B018


def test_plugin_callbacks_resolve_where_mlgenn_exports_them():
    from spikehooks.callbacks import Checkpoint as CallbacksCheckpoint
    from spikehooks.callbacks import SpikeRecorder as CallbacksSpikeRecorder
    from spikehooks_checkpoint import Checkpoint
    from spikehooks_recorders import ConnVarRecorder, SpikeRecorder, VarRecorder
    from spikehooks_schedules import OptimiserParamSchedule

    assert CallbacksCheckpoint is Checkpoint and CallbacksSpikeRecorder is SpikeRecorder
    for cls in (VarRecorder, ConnVarRecorder, OptimiserParamSchedule):
        assert getattr(spikehooks.callbacks, cls.__name__) is cls
        assert getattr(spikehooks, cls.__name__) is cls


def test_a_missing_plugin_distribution_is_named(monkeypatch):
    from spikehooks.errors import UnknownNameError
    from spikehooks.plugins import registry

    def unknown(kind, name):
        raise UnknownNameError(f"no {kind} named {name!r}", kind=kind, name=name, known=[])

    monkeypatch.setattr(registry, "resolve", unknown)
    with pytest.raises(UnsupportedFeatureError, match="needs the spikehooks-recorders "
                                                      "distribution, which is not installed; "
                                                      "install it and import it as `from "
                                                      "spikehooks_recorders import "
                                                      "VarRecorder`"):
        spikehooks.callbacks.VarRecorder  # noqa: B018
