"""Module paths of spikehooks 0.1 that moved, kept working as aliases.

spikehooks 0.1 kept the callback machinery and the registry flat in the
package root.  They now live in :mod:`spikehooks.callbacks` and
:mod:`spikehooks.plugins`.  Importing an old path (``import
spikehooks.registry``, ``from spikehooks.monitor import Monitor``, or an entry
point ``spikehooks.progress:BatchProgressBar`` written by an older install)
returns the module at its new path: the same object, not a copy, so
monkeypatching and ``isinstance`` behave as before.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

#: Old dotted path -> new dotted path.
MOVED_MODULES = {
    "spikehooks.callback": "spikehooks.callbacks.callback",
    "spikehooks.callback_list": "spikehooks.callbacks.callback_list",
    "spikehooks.hookspecs": "spikehooks.callbacks.hookspecs",
    "spikehooks.run_context": "spikehooks.callbacks.run_context",
    "spikehooks.monitor": "spikehooks.callbacks.monitor",
    "spikehooks.progress": "spikehooks.callbacks.progress",
    "spikehooks.registry": "spikehooks.plugins.registry",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import an old path by importing the new one and binding it under the old name."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds for the name
        # after exec_module, so the caller gets the moved module itself.
        sys.modules[module.__name__] = importlib.import_module(MOVED_MODULES[module.__name__])


def install() -> None:
    """Add the alias finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
