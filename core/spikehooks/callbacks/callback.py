"""The :class:`Callback` base class.

A callback is any object with some of the lifecycle methods listed in
:data:`LIFECYCLE_METHODS`.  None of them exists on the base class: the
dispatcher (:class:`spikehooks.CallbackList`) inspects each callback and calls
only the methods it really defines, so an unused hook costs nothing.
"""

from __future__ import annotations

from typing import Any

#: Lifecycle methods a callback may define, with mlGeNN's argument names
#: (``on_validation_end`` is spikehooks' own addition).
LIFECYCLE_METHODS: dict[str, tuple[str, ...]] = {
    "on_test_begin": (),
    "on_test_end": ("metrics",),
    "on_train_begin": (),
    "on_train_end": ("metrics",),
    "on_epoch_begin": ("epoch",),
    "on_epoch_end": ("epoch", "metrics"),
    "on_validation_end": ("epoch", "metrics"),
    "on_batch_begin": ("batch",),
    "on_batch_end": ("batch", "metrics"),
    "on_timestep_begin": ("timestep",),
    "on_timestep_end": ("timestep",),
}


class Callback:
    """Base class for callbacks.

    Subclasses define any of the optional lifecycle methods (they do not
    override anything here; they are found by inspection):

    - ``on_test_begin()`` / ``on_test_end(metrics)``: around inference.
    - ``on_train_begin()`` / ``on_train_end(metrics)``: around training.
    - ``on_epoch_begin(epoch)`` / ``on_epoch_end(epoch, metrics)``.
    - ``on_validation_end(epoch, metrics)``: during training with validation,
      after each epoch's validation, with the validation metrics (beyond
      mlGeNN: where a callback watching ``val_`` metrics acts).
    - ``on_batch_begin(batch)`` / ``on_batch_end(batch, metrics)``.
    - ``on_timestep_begin(timestep)`` / ``on_timestep_end(timestep)``:
      ``timestep`` counts from 0 at the start of each batch, in timesteps
      (multiply by ``dt`` for ms).

    A method may also take ``run`` (a :class:`spikehooks.RunContext`) after
    its documented arguments, to see the mode, epoch and compiled network.

    Class attributes
    ----------------
    first_of_type_key : hashable or None
        Callbacks sharing this key share one expensive step per run (for
        example the pull of the spike recording buffers).  The dispatcher
        calls ``set_first()`` on the first callback with each key, in list
        order, so exactly one of them does the step.  ``None`` (default):
        no sharing.
    attached_hooks : tuple of str
        Hooks the callback may set as instance attributes in ``set_params``
        (the dispatcher picks them up); declared so that listings show them.
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
