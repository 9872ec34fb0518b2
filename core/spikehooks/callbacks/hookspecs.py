"""Hook specifications: one per lifecycle method.

Callbacks implement these by defining methods of the same name (no decorator
needed); global plugins implement them as module-level functions marked with
``@spikehooks.hookimpl``.  An implementation may take any subset of a hook's
arguments, by name.  Every hook also offers ``run`` (a
:class:`spikehooks.RunContext`) that mlGeNN-style callbacks can ignore.

Hooks nest, in this order for a training run::

    on_train_begin
        on_epoch_begin            (per epoch)
            on_batch_begin        (per batch)
                on_timestep_begin (per timestep)
                on_timestep_end
            on_batch_end
        on_epoch_end
        (validation pass: the validation callbacks' epoch hooks, below)
        on_validation_end         (only when the run validates)
    on_train_end

for inference (``evaluate``, ``predict``)::

    on_test_begin
        on_batch_begin
            on_timestep_begin
            on_timestep_end
        on_batch_end
    on_test_end

and, as in mlGeNN 2.4.0, for the validation callbacks of a ``train`` that
validates (their own callback list, mode ``"validate"``)::

    on_test_begin                 (once, after the training callbacks' on_train_begin)
        on_epoch_begin            (per validation pass, after the epoch's on_epoch_end)
            on_batch_begin
                on_timestep_begin
                on_timestep_end
            on_batch_end
        on_epoch_end              (with this pass's validation metrics)
    on_test_end                   (once, after the training callbacks' on_train_end)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .run_context import RunContext

#: Version of the hook API.  A plugin may declare the version it needs with a
#: module attribute ``SPIKEHOOKS_HOOK_API = "1"``; a different major is refused.
HOOK_API_VERSION = "1"

hookspec = pluggy.HookspecMarker("spikehooks")
hookimpl = pluggy.HookimplMarker("spikehooks")

# ---------------------------------------------------------------- inference


@hookspec
def on_test_begin(run: RunContext) -> None:
    """Called once at the start of inference, before the first batch.

    :param run: the run's context (mode ``"test"`` or ``"validate"``).

    Called after ``set_params`` on every callback.  The validation callbacks
    of ``train`` get it once, right after the training callbacks'
    ``on_train_begin`` and before the first epoch (mlGeNN's order); each
    validation pass is then framed by their ``on_epoch_begin``/``on_epoch_end``.
    """


@hookspec
def on_test_end(metrics: dict[Any, Any], run: RunContext) -> None:
    """Called once at the end of inference, after the last batch.

    :param metrics: the metrics over the whole data set, keyed by output
        population (each a :class:`spikehooks.metrics.Metric` with ``.result``).
    :param run: the run's context.

    The validation callbacks of ``train`` get it once, after the training
    callbacks' ``on_train_end``, with the metrics of the last validation
    pass (the object ``train`` returns as its validation metrics).  It is
    not called when training ends with an exception.
    """


# ------------------------------------------------------------------ training


@hookspec
def on_train_begin(run: RunContext) -> None:
    """Called once at the start of training, before the first epoch.

    :param run: the run's context (mode ``"train"``).
    """


@hookspec
def on_train_end(metrics: dict[Any, Any], run: RunContext) -> None:
    """Called once at the end of training, also when a callback stopped it.

    :param metrics: the training metrics of the last epoch run.
    :param run: the run's context.
    """


@hookspec
def on_epoch_begin(epoch: int, run: RunContext) -> None:
    """Called at the start of every training epoch, and of every validation pass.

    :param epoch: the epoch number, counting from ``start_epoch``.
    :param run: the run's context (``run.mode`` tells training from validation).

    Metrics are reset just before this hook.  Nested inside
    ``on_train_begin``/``on_train_end``; contains the epoch's batch hooks.
    The validation callbacks of ``train`` get it before each validation
    pass, with the epoch just trained (mlGeNN's order), nested inside their
    ``on_test_begin``/``on_test_end``.
    """


@hookspec
def on_epoch_end(epoch: int, metrics: dict[Any, Any], run: RunContext) -> None:
    """Called at the end of every training epoch (before its validation), and of
    every validation pass.

    :param epoch: the epoch number.
    :param metrics: the training metrics accumulated over this epoch; for the
        validation callbacks, the metrics of this validation pass alone.
    :param run: the run's context (``run.mode`` tells training from validation).

    This is mlGeNN's order: the epoch's validation (if any) runs after this
    hook, with the validation callbacks, whose own ``on_epoch_end`` ends
    the pass; ``on_validation_end`` then brings its metrics back to the
    training callbacks.
    """


@hookspec
def on_validation_end(epoch: int, metrics: dict[Any, Any], run: RunContext) -> None:
    """Called on the training callbacks after each epoch's validation.

    :param epoch: the epoch just validated.
    :param metrics: the validation metrics of this epoch, keyed by output
        population (also in ``run.validation_metrics``).
    :param run: the run's context (mode ``"train"``).

    Only called when ``train`` validates (``validation_split`` or
    ``validation_x``).  Not in mlGeNN: it is where a callback that watches a
    validation metric (a checkpoint keeping the best epoch, early stopping,
    reduce-on-plateau) acts, so the epoch's state it saves or changes is
    final.
    """


# ------------------------------------------------------------------- batches


@hookspec
def on_batch_begin(batch: int, run: RunContext) -> None:
    """Called at the start of every batch, after the network state was reset.

    :param batch: the batch number within the epoch (or data set), from 0.
    :param run: the run's context; ``run.example_indices`` holds the
        data-set index of every real example in this batch.
    """


@hookspec
def on_batch_end(batch: int, metrics: dict[Any, Any], run: RunContext) -> None:
    """Called at the end of every batch, after the metrics were updated.

    :param batch: the batch number.
    :param metrics: the metrics accumulated so far in this epoch or run.
    :param run: the run's context.
    """


# ----------------------------------------------------------------- timesteps


@hookspec
def on_timestep_begin(timestep: int, run: RunContext) -> None:
    """Called before every simulation step.

    :param timestep: the step within the batch, from 0 (multiply by
        ``run.backend.dt`` for ms).
    :param run: the run's context.

    When no callback implements either timestep hook the runtime makes no
    per-timestep call at all.
    """


@hookspec
def on_timestep_end(timestep: int, run: RunContext) -> None:
    """Called after every simulation step, once its spikes are recorded.

    :param timestep: the step just simulated, from 0 within the batch.
    :param run: the run's context.
    """


__all__ = ["HOOK_API_VERSION", "hookimpl", "hookspec"]
