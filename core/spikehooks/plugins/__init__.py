"""Where callbacks, neurons, backends and global plugins come from.

- :mod:`spikehooks.plugins.registry`: string names resolved through the
  ``spikehooks.<kind>`` entry-point groups of every installed distribution.
- :mod:`spikehooks.plugins.global_plugins`: modules of ``@hookimpl`` functions
  (entry-point group ``spikehooks.plugins``) called on every run.

The global-plugin functions are re-exported here, so ``spikehooks.plugins``
keeps offering ``load_global_plugins()``, ``reset()`` and the rest.
"""

from __future__ import annotations

from . import registry as registry
from .global_plugins import (
    GROUP_KIND,
    FailedPlugin,
    LoadedPlugin,
    failed_global_plugins,
    hooks_of,
    load_global_plugins,
    reset,
    selected_entry_points,
    validate_plugin_module,
)

__all__ = [
    "GROUP_KIND",
    "FailedPlugin",
    "LoadedPlugin",
    "failed_global_plugins",
    "hooks_of",
    "load_global_plugins",
    "registry",
    "reset",
    "selected_entry_points",
    "validate_plugin_module",
]
