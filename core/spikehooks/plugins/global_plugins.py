"""Global plugins: modules whose ``@hookimpl`` functions run on every run.

A distribution offers a global plugin with an entry point in the group
``spikehooks.plugins`` pointing at a module.  Loading is controlled by
environment variables:

``SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD=1``
    load no global plugin (unless named in ``SPIKEHOOKS_PLUGINS``).
``SPIKEHOOKS_PLUGINS=a,b``
    load only the plugins with these entry-point names (a name that no
    installed distribution offers is reported with a warning).
``SPIKEHOOKS_STRICT_PLUGINS=1``
    a plugin that fails to import or validate raises :class:`PluginError`
    instead of being skipped with a warning.

Flags accept 1/true/yes/on and 0/false/no/off; any other value is refused
with a :class:`~spikehooks.errors.ConfigurationError` listing these.

A plugin module may declare the hook API it was written for with
``SPIKEHOOKS_HOOK_API = "1"``; a different major version is refused.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from .._env import env_flag, env_names
from ..callbacks import hookspecs
from ..callbacks.callback import LIFECYCLE_METHODS
from ..errors import PluginError
from . import registry

GROUP_KIND = "plugins"


@dataclass(frozen=True)
class LoadedPlugin:
    """A global plugin that imported and validated.

    Attributes
    ----------
    info : registry.EntryPointInfo
        Where it came from (entry point, distribution, version).
    module : module
        The imported plugin module.
    hooks : tuple of str
        The hooks it implements.
    impls : tuple of (str, pluggy.HookImpl)
        Its validated implementations, by hook: every run reuses them, so a
        plugin is validated once per process.
    """

    info: registry.EntryPointInfo
    module: ModuleType
    hooks: tuple[str, ...]
    impls: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class FailedPlugin:
    """A global plugin that was skipped, with the reason."""

    info: registry.EntryPointInfo
    reason: str


_cache: tuple[list[LoadedPlugin], list[FailedPlugin]] | None = None


def selected_entry_points() -> list[registry.EntryPointInfo]:
    """Return the global-plugin entry points the environment selects."""
    eps = registry.entry_points(GROUP_KIND)
    wanted = env_names("SPIKEHOOKS_PLUGINS")
    disabled = env_flag("SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD")
    if wanted:
        missing = sorted(set(wanted) - {ep.name for ep in eps})
        if missing:
            warnings.warn(
                f"SPIKEHOOKS_PLUGINS names {', '.join(missing)}, which no installed "
                f"distribution offers as a global plugin; installed: "
                f"{', '.join(sorted({ep.name for ep in eps})) or 'none'}. Install it or fix "
                f"the name.",
                RuntimeWarning, stacklevel=2,
            )
        return [ep for ep in eps if ep.name in wanted]
    if disabled:
        return []
    return eps


def hooks_of(module: object) -> tuple[str, ...]:
    """Return the lifecycle hooks a plugin module implements with ``@hookimpl``."""
    return tuple(
        name
        for name in LIFECYCLE_METHODS
        if getattr(getattr(module, name, None), "spikehooks_impl", None) is not None
    )


def validate_plugin_module(module: ModuleType) -> tuple[tuple[str, Any], ...]:
    """Check a plugin module's hook API version and hook implementations.

    Returns
    -------
    tuple of (str, pluggy.HookImpl)
        The module's implementations, by hook name, in hook order.

    Raises
    ------
    PluginError
        An incompatible ``SPIKEHOOKS_HOOK_API``, an ``@hookimpl`` on an
        unknown hook, or arguments the hook does not offer.
    """
    wanted = getattr(module, "SPIKEHOOKS_HOOK_API", None)
    if wanted is not None:
        major = str(wanted).split(".")[0]
        if major != hookspecs.HOOK_API_VERSION.split(".")[0]:
            raise PluginError(
                f"plugin module {module.__name__} SPIKEHOOKS_HOOK_API must be "
                f"{hookspecs.HOOK_API_VERSION}.x; got {wanted!r}. Upgrade the plugin or "
                f"install a spikehooks release with hook API {wanted}.",
                plugin=module,
            )
    pm = pluggy.PluginManager("spikehooks")
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(module)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        unknown = [
            name
            for name, obj in inspect.getmembers(module)
            if getattr(obj, "spikehooks_impl", None) is not None and name not in LIFECYCLE_METHODS
        ]
        detail = (
            f"@hookimpl on unknown hook {unknown[0]!r}" if unknown else str(exc).replace("\n", " ")
        )
        raise PluginError(
            f"plugin module {module.__name__} does not match the hook specifications: {detail}. "
            f"Hooks are: {', '.join(LIFECYCLE_METHODS)}.",
            plugin=module,
        ) from exc
    return tuple(
        (hook, impl)
        for hook in LIFECYCLE_METHODS
        for impl in getattr(pm.hook, hook).get_hookimpls()
    )


def load_global_plugins(*, refresh: bool = False) -> list[LoadedPlugin]:
    """Import and validate the selected global plugins (once per process).

    A plugin that fails is reported with one warning naming the entry point,
    distribution, version and error, and skipped; with
    ``SPIKEHOOKS_STRICT_PLUGINS=1`` a :class:`PluginError` is raised instead.
    """
    global _cache
    if _cache is None or refresh:
        loaded: list[LoadedPlugin] = []
        failed: list[FailedPlugin] = []
        strict = env_flag("SPIKEHOOKS_STRICT_PLUGINS")
        for info in selected_entry_points():
            try:
                module = info.load()
                if not isinstance(module, ModuleType):
                    raise PluginError(
                        f"a spikehooks.plugins entry point must name a module; got "
                        f"{type(module).__name__}. Point it at the module holding the "
                        f"@hookimpl functions."
                    )
                impls = validate_plugin_module(module)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                message = (
                    f"global plugin {info.describe()} was skipped: {reason}. Fix or uninstall "
                    f"{info.distribution}, or set SPIKEHOOKS_PLUGINS to the plugins you want."
                )
                if strict:
                    raise PluginError(
                        message,
                        entry_point=f"{info.name} = {info.value}",
                        distribution=f"{info.distribution} {info.version}",
                    ) from exc
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                failed.append(FailedPlugin(info, reason))
                continue
            loaded.append(LoadedPlugin(info, module, hooks_of(module), impls))
        _cache = (loaded, failed)
    return list(_cache[0])


def failed_global_plugins() -> list[FailedPlugin]:
    """Return the plugins skipped by the last :func:`load_global_plugins`."""
    if _cache is None:
        load_global_plugins()
    assert _cache is not None
    return list(_cache[1])


def reset() -> None:
    """Forget loaded plugins (tests, or after installing a plugin at run time)."""
    global _cache
    _cache = None


__all__ = [
    "FailedPlugin",
    "LoadedPlugin",
    "failed_global_plugins",
    "hooks_of",
    "load_global_plugins",
    "reset",
    "selected_entry_points",
    "validate_plugin_module",
]
