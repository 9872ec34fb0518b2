"""``"batch_progress_bar"``: the default callback, a tqdm progress bar per epoch."""

from __future__ import annotations

from typing import Any

from .callback import Callback


def format_metrics(metrics: dict[Any, Any]) -> dict[str, str]:
    """Return ``{label: "0.9375"}`` for each metric, for a progress-bar postfix.

    With one output population the label is the metric's name; with several
    it is ``"<population name>/<metric name>"``.
    """
    labelled: dict[str, str] = {}
    for population, metric in metrics.items():
        name = getattr(metric, "name", None) or type(metric).__name__
        label = name if len(metrics) == 1 else f"{getattr(population, 'name', population)}/{name}"
        result = getattr(metric, "result", metric)
        try:
            labelled[label] = f"{float(result):.4f}"
        except (TypeError, ValueError):
            labelled[label] = str(result)
    return labelled


class BatchProgressBar(Callback):
    """Show a progress bar over the batches of each epoch (or of inference).

    Uses ``tqdm.auto`` (a widget in notebooks, text in terminals).  The
    description reads ``Epoch N`` during training, ``Validation (epoch N)``
    during the validation pass after epoch N, and ``Inference`` in
    ``evaluate``/``predict``; the postfix shows the current metrics.  As in
    mlGeNN, one bar is created per run (at ``on_train_begin`` or
    ``on_test_begin``), reset at every epoch (for the validation callbacks of
    ``train``: every validation pass) and closed when the run ends, so
    training shows two bars, training above validation.

    Parameters
    ----------
    disable : bool or None
        ``True`` hides the bar; ``None`` (default) hides it when the output
        is not a terminal, as tqdm does.  In a data-parallel run the bar
        shows on rank 0 only (its metrics are global).
    **tqdm_kwargs
        Passed to ``tqdm`` (e.g. ``leave=False``, ``file=sys.stdout``).
    """

    def __init__(self, disable: bool | None = None, **tqdm_kwargs: Any):
        self.disable = disable
        self.tqdm_kwargs = tqdm_kwargs
        self._bar: Any = None
        self._num_batches: int | None = None
        self._mode = "test"
        self._rank = 0

    def set_params(self, num_batches: int | None = None, mode: str = "test", rank: int = 0,
                   **kwargs: Any) -> None:
        self._num_batches = num_batches
        self._mode = mode
        self._rank = rank

    def _open(self, description: str) -> None:
        if self._rank != 0:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self._num_batches, desc=description, disable=self.disable, **self.tqdm_kwargs
            )
        else:
            # A new epoch or pass starts without the metrics of the last one.
            self._bar.set_postfix_str("", refresh=False)
            self._bar.set_description(description, refresh=False)
            self._bar.reset(total=self._num_batches)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_test_begin(self) -> None:
        self._open("Validation" if self._mode == "validate" else "Inference")

    def on_test_end(self, metrics: dict[Any, Any]) -> None:
        self._close()

    def on_train_begin(self) -> None:
        # Made here, before the validation bar, so the training bar is the upper one.
        self._open("Training")

    def on_epoch_begin(self, epoch: int) -> None:
        self._open(f"Validation (epoch {epoch})" if self._mode == "validate"
                   else f"Epoch {epoch}")

    def on_train_end(self, metrics: dict[Any, Any]) -> None:
        self._close()

    def on_batch_end(self, batch: int, metrics: dict[Any, Any]) -> None:
        if self._bar is None:
            return
        # The postfix first, so the redraw of update() shows this batch's metrics.
        if metrics:
            self._bar.set_postfix(format_metrics(metrics), refresh=False)
        self._bar.update(1)

    def __repr__(self) -> str:
        return f"BatchProgressBar(disable={self.disable!r})"


__all__ = ["BatchProgressBar", "format_metrics"]
