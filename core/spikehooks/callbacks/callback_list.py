"""The dispatcher: calls callbacks and global plugins during a run.

A :class:`CallbackList` is built once per ``train``/``evaluate``.  It

1. resolves names (``"batch_progress_bar"``, ``("spike_recorder", {...})``)
   through the registry,
2. registers every callback object and every loaded global plugin with a
   pluggy ``PluginManager``, so pluggy validates names and signatures,
3. calls ``set_params`` once, then ``set_first`` on the first callback of
   each ``first_of_type_key``, then ``before_run()`` on the objects the
   callbacks share through ``run.share``,
4. precomputes for every hook one fast callable, an attribute of the same
   name (``callback_list.on_batch_end(batch, metrics)``), that calls the
   implementations in the order the user listed the callbacks
   (``tryfirst``/``trylast`` honoured, global plugins after callbacks),
   leaving out what each callback's ``skipped_hooks()`` names,
5. holds the folders the callbacks claimed (``spikehooks.folders``) until
   :meth:`close`, which the runtime calls when the run ends.

Global plugins are validated once per process, when they are loaded; their
implementations are reused by every run.  It also owns the callbacks'
identity and state (:meth:`CallbackList.state_dict`).
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pluggy

from .. import folders
from ..errors import (
    CallbackError,
    CallbackValidationError,
    ConfigurationError,
    DuplicateKeyError,
    NonFiniteError,
    SpikehooksError,
)
from ..plugins import registry
from . import _hookcall, callback_state, hookspecs
from ._callback_validation import (
    PROJECT,
    CallbackPluginManager,
    check_not_wrapper,
    check_set_params,
    describe,
    is_callback,
    validation_error,
)
from .callback import LIFECYCLE_METHODS
from .run_context import RunContext


class CallbackList:
    """Calls the lifecycle hooks of a list of callbacks and the global plugins.

    Parameters
    ----------
    callbacks : sequence of Callback, str or (str, dict)
        Callback objects, registered names, or ``(name, kwargs)`` pairs.
    mode : {"train", "validate", "test"}
        Which loop this list serves.
    compiled_network : object, optional
        Passed to ``set_params`` as ``compiled_network``.
    backend : Backend, optional
        Passed to ``set_params`` as ``backend``.
    num_batches, num_epochs : int, optional
        Passed to ``set_params``.
    global_plugins : bool
        Also call the global plugins (``spikehooks.plugins`` group).
    **params
        Further keywords for ``set_params``.

    Attributes
    ----------
    callbacks : list
        The callback objects, names resolved, in the user's order.
    run : RunContext
        Passed to hooks that take ``run``.
    data : dict
        The ``data`` dictionary handed to ``set_params``.
    on_test_begin, ..., on_timestep_end : callable
        One fast callable per hook, taking the hook's documented positional
        arguments (e.g. ``on_batch_end(batch, metrics)``).
    """

    # One fast callable per hook, set by _build_hooks.
    on_test_begin: Callable[[], None]
    on_test_end: Callable[[Any], None]
    on_train_begin: Callable[[], None]
    on_train_end: Callable[[Any], None]
    on_epoch_begin: Callable[[int], None]
    on_epoch_end: Callable[[int, Any], None]
    on_validation_end: Callable[[int, Any], None]
    on_batch_begin: Callable[[int], None]
    on_batch_end: Callable[[int, Any], None]
    on_timestep_begin: Callable[[int], None]
    on_timestep_end: Callable[[int], None]

    def __init__(
        self,
        callbacks: Iterable[Any] = (),
        *,
        mode: str = "test",
        compiled_network: Any = None,
        backend: Any = None,
        num_batches: int | None = None,
        num_epochs: int | None = None,
        global_plugins: bool = True,
        **params: Any,
    ):
        if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
            raise ConfigurationError(
                f"callbacks must be a list of callback objects or names; got "
                f"{type(callbacks).__name__} {callbacks!r}. Wrap it in a list, e.g. "
                f"callbacks=[...], or pass callbacks=[] for none."
            )
        self.callbacks: list[Any] = [
            registry.create("callbacks", spec) for spec in callbacks
        ]
        self.data: dict[Any, Any] = {}
        self.run = RunContext(
            mode=mode,
            compiled_network=compiled_network,
            backend=backend,
            data=self.data,
            batch_size=getattr(backend, "batch_size", None),
            num_batches=num_batches,
            num_epochs=num_epochs,
            rank=int(params.get("rank", 0)),
            num_ranks=int(params.get("num_ranks", 1)),
            communicator=params.get("communicator"),
            shard=bool(params.get("shard", False)),
            _callbacks=self,
        )
        for callback in self.callbacks:
            if isinstance(callback, type):
                raise CallbackValidationError(
                    f"callbacks must hold callback objects; got the class "
                    f"{callback.__qualname__}. Instantiate it: {callback.__qualname__}(...).",
                    plugin=callback,
                )
            if not is_callback(callback):
                raise CallbackValidationError(
                    f"callbacks must hold callback objects (with on_* hooks) or registered "
                    f"names; got {type(callback).__name__} {callback!r}. Pass e.g. "
                    f"'batch_progress_bar' or an instance of a Callback subclass.",
                    plugin=callback,
                )
            check_set_params(callback)
            _check_run_mode(callback, mode)
        self._check_keys()

        plugins: list[Any] = []
        if global_plugins:
            from ..plugins.global_plugins import load_global_plugins

            plugins = load_global_plugins()
        # Validate every implementation before any set_params has side effects
        # (a recorder may open a file there).
        impls = self._collect_impls(self.callbacks, plugins)
        attached = [_hookcall.attached(callback) for callback in self.callbacks]
        # Folders claimed in set_params (spikehooks.folders) are held until close();
        # a refused run releases what the callbacks before the refusal claimed.
        # Callbacks get a snapshot: none may add, remove or reorder the run's callbacks.
        self._claims: list[folders.FolderClaim] = []
        snapshot = tuple(self.callbacks)
        with folders.collect_claims(self._claims):
            try:
                for callback in self.callbacks:
                    if hasattr(callback, "set_params"):
                        try:
                            callback.set_params(
                                data=self.data,
                                compiled_network=compiled_network,
                                backend=backend,
                                num_batches=num_batches,
                                num_epochs=num_epochs,
                                mode=mode,
                                run=self.run,
                                callbacks=snapshot,
                                **params,
                            )
                        except SpikehooksError:
                            raise  # a deliberate refusal, which names its callback already
                        except Exception as exc:
                            raise _callback_error(callback, "set_params", exc, {}) from exc
                self._set_first()
                if any(_hookcall.attached(c) != before
                       for c, before in zip(self.callbacks, attached, strict=True)):
                    # Older style: set_params set hooks as instance attributes; find them.
                    impls = self._collect_impls(self.callbacks, plugins)
                for shared in list(self.run.shared.values()):
                    before_run = getattr(shared, "before_run", None)
                    if before_run is not None:
                        before_run()
            except BaseException:
                folders.release_all(self._claims)
                raise
        self._build_callers(impls)

    # ------------------------------------------------------------- building
    def _check_keys(self) -> None:
        owners: dict[Any, Any] = {}
        for callback in self.callbacks:
            key = getattr(callback, "key", None)
            if key is None:
                continue
            if key in owners:
                raise DuplicateKeyError(
                    f"callback keys must be unique; got key {key!r} on both "
                    f"{owners[key]!r} and {callback!r}. Give each callback its own key=.",
                    plugin=callback,
                )
            owners[key] = callback

    def _collect_impls(self, callbacks: Sequence[Any],
                       plugins: Sequence[Any]) -> dict[str, list[Any]]:
        """Validate the callbacks' hook methods; return hook -> implementations in call order.

        ``plugins`` are loaded global plugins, validated when loaded: their
        implementations are reused, not registered again.
        """
        order: dict[int, int] = {}
        found: dict[str, list[Any]] = {hook: [] for hook in LIFECYCLE_METHODS}
        if callbacks:
            # (No callbacks, e.g. callbacks=[]: nothing to validate, and no plugin manager
            # to build on every train()/evaluate() call.)
            found = self._validated_impls(callbacks, order)
        for index, plugin in enumerate(plugins, start=len(callbacks)):
            order[id(plugin.module)] = index
            for hook, impl in plugin.impls:
                found[hook].append(impl)

        impls: dict[str, list[Any]] = {}
        for hook, hook_impls in found.items():
            for impl in hook_impls:
                check_not_wrapper(impl, hook)
            impls[hook] = sorted(
                hook_impls,
                key=lambda impl: (
                    0 if impl.tryfirst else 2 if impl.trylast else 1,
                    order[id(impl.plugin)],
                ),
            )
        return impls

    @staticmethod
    def _validated_impls(callbacks: Sequence[Any], order: dict[int, int]) -> dict[str, list[Any]]:
        """Register ``callbacks`` with pluggy (which validates them); hook -> implementations.

        ``order`` receives each callback's position by its id.
        """
        pm = CallbackPluginManager(PROJECT)
        pm.add_hookspecs(hookspecs)
        for index, callback in enumerate(callbacks):
            try:
                pm.register(callback, name=f"{index}:{describe(callback)}")
                pm.check_pending()
            except pluggy.PluginValidationError as exc:
                raise validation_error(callback, exc) from exc
            except ValueError as exc:
                raise CallbackValidationError(
                    f"callbacks must not repeat an object; got {describe(callback)} "
                    f"{callback!r} twice. Create a second instance instead.",
                    plugin=callback,
                ) from exc
            order[id(callback)] = index
        return {hook: list(getattr(pm.hook, hook).get_hookimpls()) for hook in LIFECYCLE_METHODS}

    def _build_callers(self, impls: dict[str, list[Any]]) -> None:
        """Set one fast callable per hook, without the hooks callbacks skip this run."""
        skipped = {
            id(callback): frozenset(callback.skipped_hooks())
            for callback in self.callbacks
            if callable(getattr(callback, "skipped_hooks", None))
        }
        self._impl_owner: dict[Any, tuple[Any, str]] = {}
        for hook, hook_impls in impls.items():
            functions = []
            for impl in hook_impls:
                if hook in skipped.get(id(impl.plugin), ()):
                    continue
                fn = _hookcall.adapt(impl.function, impl.argnames, hook, self.run)
                self._impl_owner[_hookcall.code_of(impl.function)] = (impl.plugin, hook)
                functions.append(fn)
            setattr(self, hook, _hookcall.chain(functions, len(LIFECYCLE_METHODS[hook])))

    def _set_first(self) -> None:
        seen: set[Any] = set()
        for callback in self.callbacks:
            key = getattr(callback, "first_of_type_key", None)
            if key is None or key in seen:
                continue
            seen.add(key)
            set_first = getattr(callback, "set_first", None)
            if set_first is not None:
                set_first()

    # ------------------------------------------------------------- queries
    @property
    def has_timestep_hooks(self) -> bool:
        """True when any callback or plugin implements a timestep hook."""
        return not (
            _hookcall.is_noop(self.on_timestep_begin) and _hookcall.is_noop(self.on_timestep_end)
        )

    def implements(self, hook: str) -> bool:
        """Return True when at least one callback or plugin implements ``hook``."""
        return not _hookcall.is_noop(getattr(self, hook))

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Return ``{name: state}`` of every callback with ``state_dict()``/``load_state_dict()``.

        Names are stable across runs built from the same callback list:
        ``"Class[key]"``, or ``"Class#n"`` for the n-th keyless callback of a
        class (see :func:`spikehooks.callbacks.callback_state.callback_ids`).
        """
        return callback_state.state_dict(self.callbacks)

    def load_state_dict(self, state: dict[str, Any], *, source: str = "The state") -> None:
        """Give each stateful callback its entry of ``state`` (what :meth:`state_dict` returned).

        A stateful callback without an entry starts afresh and entries of
        callbacks not in this list are ignored, each with a warning naming
        them and ``source``.
        """
        callback_state.load_state_dict(self.callbacks, state, source=source)

    # ----------------------------------------------------------------- data
    def get_data(self) -> dict[Any, Any]:
        """Collect ``get_data()`` of every callback into the ``cb_data`` dict.

        A callback whose key is None is stored under its index in the list,
        with a warning.

        Raises
        ------
        CallbackError
            A callback's ``get_data`` raised (or did not return ``(key,
            data)``); the error's ``cb_data`` holds every other callback's data.
        """
        cb_data, failure = self._collect()
        if failure is not None:
            callback, exc = failure
            raise _callback_error(callback, "get_data", exc, cb_data) from exc
        return cb_data

    def _collect(self) -> tuple[dict[Any, Any], tuple[Any, Exception] | None]:
        """Return the data of every callback whose ``get_data`` works, and the first failure."""
        cb_data: dict[Any, Any] = {}
        owners: dict[Any, Any] = {}
        failure: tuple[Any, Exception] | None = None
        for index, callback in enumerate(self.callbacks):
            get_data = getattr(callback, "get_data", None)
            if get_data is None or _is_base_get_data(callback):
                continue
            try:
                key, value = get_data()
            except Exception as exc:  # one broken callback must not cost the others' data
                failure = failure or (callback, exc)
                continue
            if key is None:
                warnings.warn(
                    f"{type(callback).__qualname__} has no key; its data is stored under "
                    f"its index {index} in the callback list. Pass key=... to name it.",
                    UserWarning,
                    stacklevel=3,
                )
                key = index
            if key in owners:
                raise DuplicateKeyError(
                    f"callback keys must be unique; got key {key!r} from both "
                    f"{owners[key]!r} and {callback!r}. Give each callback its own key=.",
                    plugin=callback,
                )
            owners[key] = callback
            cb_data[key] = value
        return cb_data, failure

    def close(self) -> None:
        """Release the folders the callbacks claimed in ``set_params``; idempotent.

        The runtime calls it when the run ends, however it ends.
        """
        folders.release_all(self._claims)

    # --------------------------------------------------------------- errors
    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Turn an exception raised inside a hook into :class:`CallbackError`.

        The error names the callback's class and the hook, chains the original
        exception and carries ``cb_data`` collected so far.  A
        ``KeyboardInterrupt`` passes through with ``cb_data`` attached as an
        attribute.  Other exceptions not raised by a callback pass through
        untouched.
        """
        try:
            yield
        except CallbackError:
            raise
        except KeyboardInterrupt as exc:
            # Ctrl-C (or a hung plugin interrupted by hand): keep what was recorded.
            exc.cb_data = self._data_or_empty()  # type: ignore[attr-defined]
            raise
        except NonFiniteError as exc:
            exc.cb_data = self._data_or_empty()
            raise
        except Exception as exc:
            owner = self._owner_in_traceback(exc)
            if owner is None:
                raise
            plugin, hook = owner
            raise _callback_error(plugin, hook, exc, self._data_or_empty()) from exc

    def _data_or_empty(self) -> dict[Any, Any]:
        """The data of every callback whose ``get_data`` works (the others are left out)."""
        try:
            return self._collect()[0]
        except Exception:  # duplicate keys: nothing can be keyed safely
            return {}

    def _owner_in_traceback(self, exc: BaseException) -> tuple[Any, str] | None:
        tb = exc.__traceback__
        while tb is not None:
            owner = self._impl_owner.get(tb.tb_frame.f_code)
            if owner is not None:
                return owner
            tb = tb.tb_next
        return None

    def __repr__(self) -> str:
        names = ", ".join(type(c).__name__ for c in self.callbacks)
        return f"CallbackList([{names}], mode={self.run.mode!r})"


#: Where a callback list of each mode comes from, for messages.
_LIST_OF_MODE = {"train": "the callbacks of train()",
                 "validate": "the validation_callbacks of train()",
                 "test": "the callbacks of evaluate()"}


def _check_run_mode(callback: Any, mode: str) -> None:
    """Refuse a callback that declares it cannot act in a ``mode`` run (``run_modes``)."""
    modes = getattr(callback, "run_modes", None)
    if modes is None or mode in modes:
        return
    where = " or ".join(_LIST_OF_MODE.get(m, m) for m in modes)
    raise ConfigurationError(
        f"{describe(callback)} cannot act in {_LIST_OF_MODE.get(mode, mode + ' runs')}: it "
        f"only works in {where} (run_modes={tuple(modes)!r}). Use it in {where}; to react "
        f"to validation metrics from there, monitor a 'val_' metric."
    )


def _callback_error(callback: Any, method: str, exc: BaseException,
                    cb_data: dict[Any, Any]) -> CallbackError:
    """Return the CallbackError naming ``callback``'s class, ``method`` and key."""
    key = None if inspect.ismodule(callback) else getattr(callback, "key", None)
    whose = "" if inspect.ismodule(callback) else f" The callback's key is {key!r};"
    return CallbackError(
        f"{describe(callback)}.{method} raised {type(exc).__name__}: {exc}.{whose} the data "
        f"recorded so far is in this error's cb_data.",
        callback=callback, hook=method, key=key, cb_data=cb_data,
    )


def _is_base_get_data(callback: Any) -> bool:
    from .callback import Callback

    return isinstance(callback, Callback) and type(callback).get_data is Callback.get_data


__all__ = ["CallbackList"]
