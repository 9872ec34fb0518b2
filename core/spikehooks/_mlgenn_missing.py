"""mlGeNN names spikehooks does not offer, each refused with what to use instead.

``from spikehooks.compilers import CompiledInferenceNetwork`` raises
:class:`spikehooks.errors.UnsupportedFeatureError` (an ``ImportError``) naming
the mlGeNN feature, rather than Python's bare "cannot import name".  Every
name mlGeNN 2.4.0's packages export either exists in spikehooks with the same
meaning or is listed here (``tests/core/test_mlgenn_api.py`` walks the list).

The callbacks mlGeNN exports from ``ml_genn.callbacks`` that spikehooks ships
in plugin distributions (the recorders, ``Checkpoint``,
``OptimiserParamSchedule``) resolve through their entry points, so
``from spikehooks.callbacks import SpikeRecorder`` gives the plugin's class.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from .errors import UnknownNameError, UnsupportedFeatureError

_CUSTOM_UPDATE = ("it runs a GeNN custom update, and spikehooks generates no GeNN code; write "
                  "a Callback whose hook edits state through "
                  "compiled_net.neuron_populations[pop].vars[name].view")
_CALLBACKS = {f"CustomUpdateOn{when}": _CUSTOM_UPDATE
              for when in ("BatchBegin", "BatchEnd", "EpochBegin", "EpochEnd", "TimestepBegin",
                           "TimestepEnd")}
_CALLBACKS["default_callbacks"] = (
    "names are resolved through entry points, not a module's table; list them with "
    "spikehooks.registry.names('callbacks') or `spikehooks plugins`, and add one with an "
    "entry point in the group spikehooks.callbacks")


def _default_table(kind: str) -> str:
    return (f"spikehooks resolves {kind} names through entry points, not a module's table; "
            f"list them with spikehooks.registry.names({kind!r}) or `spikehooks plugins`, and "
            f"add one with an entry point in the group spikehooks.{kind}")


#: module -> mlGeNN name -> why and what to use instead.
MISSING: dict[str, dict[str, str]] = {
    "spikehooks": {
        **_CALLBACKS,
        "utils": "mlGeNN's utils are internal helpers; use spikehooks.data for its public "
                 "data helpers and spikehooks.CallbackList for CallbackList",
    },
    "spikehooks.callbacks": dict(_CALLBACKS),
    "spikehooks.compilers": {
        "CompiledInferenceNetwork": "InferenceCompiler.compile returns a CompiledNetwork; "
                                    "use CompiledNetwork",
    },
    **{f"spikehooks.{module}": {f"default_{kind}": _default_table(kind)}
       for module, kind in (("connectivity", "connectivity"), ("initializers", "initializers"),
                            ("losses", "losses"), ("metrics", "metrics"),
                            ("neurons", "neurons"), ("optimisers", "optimisers"),
                            ("readouts", "readouts"), ("serialisers", "serialisers"),
                            ("synapses", "synapses"))},
}

#: Modules mlGeNN has that spikehooks does not: dotted name -> why and what instead.
MISSING_MODULES: dict[str, str] = {
    "spikehooks.utils": MISSING["spikehooks"]["utils"],
    # Until e-prop is built (a real module of this name then wins over the refusal).
    "spikehooks.compilers.eprop_compiler": "e-prop training is not in spikehooks yet; train "
                                           "with EventPropCompiler",
}

#: ml_genn.callbacks classes shipped by plugin distributions: name -> (entry point, dist).
PLUGIN_CALLBACKS: dict[str, tuple[str, str]] = {
    "SpikeRecorder": ("spike_recorder", "spikehooks-recorders"),
    "VarRecorder": ("var_recorder", "spikehooks-recorders"),
    "ConnVarRecorder": ("conn_var_recorder", "spikehooks-recorders"),
    "Checkpoint": ("checkpoint", "spikehooks-checkpoint"),
    "OptimiserParamSchedule": ("optimiser_param_schedule", "spikehooks-schedules"),
}


def refuse(module: str, name: str) -> Any:
    """Return what mlGeNN's ``module.name`` means in spikehooks, or raise why it is missing.

    Raises
    ------
    UnsupportedFeatureError
        mlGeNN has the name and spikehooks does not offer it (or its plugin
        distribution is not installed).
    AttributeError
        mlGeNN has no such name either.
    """
    if module in ("spikehooks", "spikehooks.callbacks") and name in PLUGIN_CALLBACKS:
        return _plugin_callback(module, name)
    reason = MISSING.get(module, {}).get(name)
    if reason is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    raise UnsupportedFeatureError(f"{module}.{name} (mlGeNN's {name}) is not supported: "
                                  f"{reason}.")


def module_getattr(module: str) -> Callable[[str], Any]:
    """The module-level ``__getattr__`` of a spikehooks module mirroring an mlGeNN one.

    A name the module lacks is looked up with :func:`refuse`: mlGeNN's names
    spikehooks does not offer raise saying what to use instead; any other
    name is a plain ``AttributeError``.  Use as
    ``__getattr__ = _mlgenn_missing.module_getattr(__name__)``.
    """
    def __getattr__(name: str) -> Any:
        return refuse(module, name)

    return __getattr__


def _plugin_callback(module: str, name: str) -> Any:
    from .plugins import registry

    entry, dist = PLUGIN_CALLBACKS[name]
    try:
        return registry.resolve("callbacks", entry)
    except UnknownNameError as exc:
        package = dist.replace("-", "_")
        raise UnsupportedFeatureError(
            f"{module}.{name} (mlGeNN's {name}) needs the {dist} distribution, which is not "
            f"installed; install it and import it as `from {package} import {name}`."
        ) from exc


class _MissingModuleFinder(importlib.abc.MetaPathFinder):
    """Refuse importing an mlGeNN module spikehooks does not have, saying what to use.

    Appended to ``sys.meta_path``, so a real module of that name always wins.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        for missing, reason in MISSING_MODULES.items():
            if fullname == missing or fullname.startswith(missing + "."):
                mlgenn = "ml_genn" + fullname[len("spikehooks"):]
                raise UnsupportedFeatureError(
                    f"{fullname} (mlGeNN's {mlgenn}) is not supported: {reason}.")
        return None


def install() -> None:
    """Add the missing-module finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MissingModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MissingModuleFinder())


__all__ = ["MISSING", "MISSING_MODULES", "PLUGIN_CALLBACKS", "install", "module_getattr", "refuse"]
