"""Checking callbacks and plugins before a run: names, signatures, ``set_params``.

pluggy validates hook implementations when they are registered; these
helpers make it treat every ``on_*`` method of a callback object as an
implementation (no decorator needed) and turn its errors into messages
that name the class, the method and the expected signature.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import pluggy

from ..errors import CallbackValidationError
from .callback import LIFECYCLE_METHODS, Callback

PROJECT = "spikehooks"


class CallbackPluginManager(pluggy.PluginManager):
    """A PluginManager that treats every ``on_*`` method of an object as an implementation.

    Modules (global plugins) still need ``@hookimpl``; callback objects need
    no decorator, but a decorator's options (``tryfirst``...) are honoured.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if inspect.ismodule(plugin):
            return super().parse_hookimpl_opts(plugin, name)
        if not name.startswith("on_"):
            return None
        method = getattr(plugin, name, None)
        if not inspect.isroutine(method):
            return None
        opts = getattr(method, PROJECT + "_impl", None)
        return dict(opts) if isinstance(opts, dict) else {}


def signature_text(hook: str) -> str:
    """Return the expected ``def on_x(self, ...)`` line of a hook, for messages."""
    args = ", ".join(("self",) + LIFECYCLE_METHODS[hook])
    return f"def {hook}({args})"


def describe(plugin: Any) -> str:
    """Name a callback (its class) or a global plugin (its module), for messages."""
    if inspect.ismodule(plugin):
        return f"plugin module {plugin.__name__}"
    return type(plugin).__qualname__


def check_set_params(callback: Any) -> None:
    """Refuse a ``set_params`` without ``**kwargs``: new keywords would break it."""
    set_params = getattr(callback, "set_params", None)
    if set_params is None:
        return
    try:
        params = inspect.signature(set_params).parameters.values()
    except (TypeError, ValueError):
        return
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        name = type(callback).__qualname__
        raise CallbackValidationError(
            f"{name}.set_params must accept unknown keywords; got "
            f"set_params{inspect.signature(set_params)}. Add a trailing **kwargs, e.g. "
            f"def set_params(self, data, **kwargs).",
            plugin=callback,
        )


def check_not_wrapper(impl: Any, hook: str) -> None:
    """Refuse a pluggy hook wrapper: spikehooks calls plain implementations only."""
    if impl.hookwrapper or impl.wrapper:
        raise CallbackValidationError(
            f"{describe(impl.plugin)}.{hook} is a hook wrapper; spikehooks hooks "
            f"do not support wrapper=True or hookwrapper=True. Use a plain "
            f"implementation ({signature_text(hook)}).",
            plugin=impl.plugin,
        )


def validation_error(plugin: Any, exc: pluggy.PluginValidationError) -> CallbackValidationError:
    """Turn pluggy's validation error into one naming the class, method and expected signature."""
    described = describe(plugin)
    unknown = [
        name
        for name in dir(plugin)
        if name.startswith("on_") and name not in LIFECYCLE_METHODS
        and inspect.isroutine(getattr(plugin, name, None))
    ]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, list(LIFECYCLE_METHODS), n=1)
        expected = signature_text(close[0]) if close else ", ".join(LIFECYCLE_METHODS)
        return CallbackValidationError(
            f"{described}.{name} is not a spikehooks hook; expected one of the lifecycle "
            f"methods, closest: {expected}. Rename the method (methods starting with "
            f"'on_' are reserved for hooks).",
            plugin=plugin,
        )
    hook = next((h for h in LIFECYCLE_METHODS if f"hook {h!r}" in str(exc)), None)
    if hook is not None:
        got = inspect.signature(getattr(plugin, hook))
        return CallbackValidationError(
            f"{described}.{hook} has arguments the hook does not offer; got "
            f"{hook}{got}, expected {signature_text(hook)} (optionally with run). "
            f"Rename the arguments to match.",
            plugin=plugin,
        )
    return CallbackValidationError(f"{described} is not a valid plugin: {exc}", plugin=plugin)


def is_callback(obj: Any) -> bool:
    """A Callback, or any object offering a hook, ``set_params`` or ``get_data``."""
    return isinstance(obj, Callback) or any(
        callable(getattr(obj, name, None))
        for name in (*LIFECYCLE_METHODS, "set_params", "get_data")
    )
