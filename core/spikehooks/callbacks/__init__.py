"""The callback ecosystem: the contract, the dispatcher and the hooks.

- :mod:`~spikehooks.callbacks.callback`: the :class:`Callback` base class and
  the lifecycle methods a callback may define.
- :mod:`~spikehooks.callbacks.hookspecs`: one pluggy hook specification per
  lifecycle method, and the ``hookimpl`` marker for global plugins.
- :mod:`~spikehooks.callbacks.callback_list`: :class:`CallbackList`, the
  dispatcher built once per run (with ``_hookcall`` for the fast per-hook
  callables and ``_callback_validation`` for the checks and messages).
- :mod:`~spikehooks.callbacks.run_context`: :class:`RunContext`, the facts
  about the run a hook may take as ``run``.
- :mod:`~spikehooks.callbacks.monitor`: how a callback names a watched metric.
- :mod:`~spikehooks.callbacks.progress`: ``"batch_progress_bar"``, the default
  callback.

Where callback names come from (the registry) and the global plugins live in
:mod:`spikehooks.plugins`.
"""

from __future__ import annotations

from .._mlgenn_missing import module_getattr as _mlgenn_getattr
from .callback import LIFECYCLE_METHODS, Callback
from .callback_list import CallbackList
from .hookspecs import HOOK_API_VERSION, hookimpl, hookspec
from .monitor import EpochEndWatcher, Monitor
from .progress import BatchProgressBar
from .run_context import RunContext

# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = [
    "HOOK_API_VERSION",
    "LIFECYCLE_METHODS",
    "BatchProgressBar",
    "Callback",
    "CallbackList",
    "EpochEndWatcher",
    "Monitor",
    "RunContext",
    "hookimpl",
    "hookspec",
]
