"""The :class:`Callback` base class.

A callback is any object with some of the lifecycle methods listed in
:data:`LIFECYCLE_METHODS`.  None of them exists on the base class: the
dispatcher (:class:`spikehooks.CallbackList`) inspects each callback and calls
only the methods it really defines, so an unused hook costs nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from typing import Any

from . import hookspecs


def _lifecycle_methods() -> dict[str, tuple[str, ...]]:
    """Read every hook's positional arguments off its specification in :mod:`.hookspecs`."""
    methods = {}
    for name, spec in vars(hookspecs).items():
        if getattr(spec, "spikehooks_spec", None) is None:
            continue
        args = tuple(inspect.signature(spec).parameters)
        # ``run`` is offered to every hook by name, never passed positionally.
        methods[name] = tuple(arg for arg in args if arg != "run")
    return methods


#: Lifecycle methods a callback may define -> their positional arguments, with
#: mlGeNN's names (``on_validation_end`` is spikehooks' own addition), in the
#: order of the hook specifications, from which it is derived.
LIFECYCLE_METHODS: dict[str, tuple[str, ...]] = _lifecycle_methods()


class Callback:
    """Base class for callbacks.

    Subclasses define any of the optional lifecycle methods (they do not
    override anything here; they are found by inspection):

    - ``on_test_begin()`` / ``on_test_end(metrics)``: around inference; for
      the validation callbacks of ``train``, once around the whole training.
    - ``on_train_begin()`` / ``on_train_end(metrics)``: around training.
    - ``on_epoch_begin(epoch)`` / ``on_epoch_end(epoch, metrics)``: around
      every training epoch; for the validation callbacks, around every
      validation pass, with that pass's metrics (mlGeNN's order).
    - ``on_validation_end(epoch, metrics)``: during training with validation,
      after each epoch's validation, with the validation metrics (beyond
      mlGeNN: where a callback watching ``val_`` metrics acts).
    - ``on_batch_begin(batch)`` / ``on_batch_end(batch, metrics)``.
    - ``on_timestep_begin(timestep)`` / ``on_timestep_end(timestep)``:
      ``timestep`` counts from 0 at the start of each batch, in timesteps
      (multiply by ``dt`` for ms).

    A method may also take ``run`` (a :class:`spikehooks.RunContext`) after
    its documented arguments, to see the mode, epoch and compiled network.

    A callback whose run needs only some of the hooks it defines (a
    per-timestep hook only some runs use) leaves the others out of that run
    with :meth:`skipped_hooks`, so the dispatcher builds its call tables once.

    Class attributes
    ----------------
    first_of_type_key : hashable or None
        Callbacks sharing this key share one expensive step per run (for
        example the pull of the spike recording buffers).  The dispatcher
        calls ``set_first()`` on the first callback with each key, in list
        order, so exactly one of them does the step.  ``None`` (default):
        no sharing.
    attached_hooks : tuple of str
        Older style, still supported: hooks the callback sets as instance
        attributes in ``set_params`` (the dispatcher then rebuilds its tables);
        declared so that listings show them.  Prefer methods and
        :meth:`skipped_hooks`.
    run_modes : tuple of str or None
        The runs the callback can act in, among ``"train"`` (the callbacks of
        ``train()``), ``"validate"`` (its ``validation_callbacks``) and
        ``"test"`` (``evaluate()``).  A list of another mode refuses it before
        the run, naming the list.  ``None`` (default): any run.
    """

    first_of_type_key: Any = None

    #: Hooks the callback may attach as instance attributes in ``set_params``
    #: (depending on the run), listed by ``spikehooks plugins`` with the
    #: methods it defines.
    attached_hooks: tuple[str, ...] = ()

    #: The run modes the callback can act in (None: any); checked before the run.
    run_modes: tuple[str, ...] | None = None

    def skipped_hooks(self) -> Collection[str]:
        """Return the lifecycle methods this callback defines but the current run does not need.

        Asked once per run, after every callback's ``set_params``; the
        dispatcher leaves these methods out of the run's call tables.  A run
        in which no callback has a timestep hook simulates each batch in one
        call, so a recorder that needs ``on_timestep_end`` only for some runs
        skips it in the others.  The default skips nothing.
        """
        return ()

    def set_params(self, **kwargs: Any) -> None:
        """Receive the run's parameters before the first hook.

        Called once per ``train``/``evaluate`` with keywords such as
        ``compiled_network``, ``num_batches``, ``num_epochs``, ``data``
        (the ``cb_data`` dictionary), ``mode`` (``"train"``, ``"validate"``
        or ``"test"``), ``backend`` and ``run`` (the run's
        :class:`~spikehooks.RunContext`, whose batch and validation facts
        change during the run).  Overrides must accept and ignore
        unknown keywords with a trailing ``**kwargs``.
        """

    def get_data(self) -> tuple[Any, Any]:
        """Return ``(key, data)`` to be stored in ``cb_data``.

        The base class returns ``(None, None)``, which means "nothing to
        store"; recording callbacks override it.
        """
        return None, None


__all__ = ["Callback", "LIFECYCLE_METHODS"]
