"""Schedules that set an optimiser parameter (the learning rate ``alpha`` by default).

:class:`OptimiserParamSchedule` is mlGeNN's callback: ``param = func(epoch,
current)`` at the start of every epoch.  The ready-made schedules compute
the value in closed form from the parameter's value at set-up (``initial``)
and the training progress in epochs, so they give the same value however
often they are applied and resume exactly from a checkpoint.

With ``per_batch=True`` they are applied before every batch too, with a
fractional progress ``epoch + batch / num_batches``: the same curve, in finer
steps.  Their arguments are always in epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from spikehooks import Callback
from spikehooks.checks import positive_real
from spikehooks.errors import ConfigurationError

from ._optimisers import optimisers_with, set_param


def _positive(value: Any, owner: str, name: str, *, allow_zero: bool = False) -> float:
    return positive_real(value, owner, name,
                         f"Pass a float, e.g. {name}={0.0 if allow_zero else 0.5}.",
                         allow_zero=allow_zero)


class OptimiserParamSchedule(Callback):
    """Set an optimiser parameter from a function at the start of every epoch.

    Parameters
    ----------
    param_name : str
        A name in the optimiser's ``param_names``, e.g. ``"alpha"``.
    func : callable ``(epoch: int, current: float) -> float``
        Called at every ``on_epoch_begin`` (epoch 0 included) for every
        optimiser of the compiled network; its result becomes the parameter.

    Examples
    --------
    Halve the learning rate every 10 epochs:

    >>> schedule = OptimiserParamSchedule(
    ...     "alpha", lambda epoch, alpha: alpha * 0.5 if epoch and epoch % 10 == 0 else alpha)
    """

    # Acts on the training loop (epochs, the optimiser): useless anywhere else.
    run_modes = ("train",)

    def __init__(self, param_name: str, func: Callable[[int, float], float]):
        if not callable(func):
            raise ConfigurationError(
                f"OptimiserParamSchedule func must be callable (epoch, current) -> value; "
                f"got {type(func).__name__}. Pass e.g. lambda epoch, alpha: alpha * 0.9."
            )
        self.param_name = param_name
        self.func = func
        self._optimisers: list[Any] = []

    def set_params(self, compiled_network: Any = None, **kwargs: Any) -> None:
        self._optimisers = optimisers_with(
            compiled_network, self.param_name, type(self).__name__
        )

    def on_epoch_begin(self, epoch: int) -> None:
        for optimiser in self._optimisers:
            current = getattr(optimiser, self.param_name)
            set_param(optimiser, self.param_name, self.func(epoch, current),
                      type(self).__name__, f"epoch {epoch}")

    def __repr__(self) -> str:
        return f"OptimiserParamSchedule({self.param_name!r}, {self.func!r})"


class _ClosedFormSchedule(Callback):
    """A schedule ``value(progress, initial)``, applied per epoch or per batch."""

    # Acts on the training loop (epochs, the optimiser): useless anywhere else.
    run_modes = ("train",)

    def __init__(self, param: str, per_batch: bool):
        if not isinstance(per_batch, bool):
            raise ConfigurationError(
                f"{type(self).__name__} per_batch must be True or False; got {per_batch!r}. "
                f"Pass per_batch=True to update before every batch."
            )
        self.param = param
        self.per_batch = per_batch
        self._optimisers: list[Any] = []
        self._initial: list[float] = []
        self._num_batches = 1
        self._epoch = 0

    def value(self, progress: float, initial: float) -> float:
        """Return the parameter's value after ``progress`` epochs, from ``initial``."""
        raise NotImplementedError

    def set_params(self, compiled_network: Any = None, num_batches: Any = None,
                   **kwargs: Any) -> None:
        self._optimisers = optimisers_with(compiled_network, self.param, type(self).__name__)
        self._initial = [float(getattr(o, self.param)) for o in self._optimisers]
        self._num_batches = max(int(num_batches or 1), 1)

    def skipped_hooks(self) -> tuple[str, ...]:
        """Per epoch (the default), the schedule needs no batch hook."""
        return () if self.per_batch else ("on_batch_begin",)

    def _apply(self, progress: float, when: str) -> None:
        for optimiser, initial in zip(self._optimisers, self._initial, strict=True):
            set_param(optimiser, self.param, self.value(progress, initial),
                      type(self).__name__, when)

    def on_epoch_begin(self, epoch: int) -> None:
        self._epoch = epoch
        self._apply(float(epoch), f"epoch {epoch}")

    def on_batch_begin(self, batch: int) -> None:
        """With ``per_batch=True``: set the parameter for the fraction of the epoch done."""
        self._apply(self._epoch + batch / self._num_batches,
                    f"epoch {self._epoch}, batch {batch}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def state_dict(self) -> dict[str, Any]:
        """Return the initial values the schedule decays from."""
        return {"initial": list(self._initial)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._initial = [float(v) for v in state["initial"]]


class StepDecay(_ClosedFormSchedule):
    """Multiply the parameter by ``gamma`` every ``step_size`` epochs.

    ``value = initial * gamma ** floor(progress / step_size)``.

    Parameters
    ----------
    step_size : float
        Epochs between two decays (> 0).
    gamma : float
        Factor applied at each decay (> 0).
    param : str
        Optimiser parameter, default ``"alpha"``.
    per_batch : bool
        Also apply before every batch (fractional progress).
    """

    def __init__(self, step_size: float, gamma: float, *, param: str = "alpha",
                 per_batch: bool = False):
        super().__init__(param, per_batch)
        self.step_size = _positive(step_size, "StepDecay", "step_size")
        self.gamma = _positive(gamma, "StepDecay", "gamma")

    def value(self, progress: float, initial: float) -> float:
        return initial * self.gamma ** math.floor(progress / self.step_size)


class ExponentialDecay(_ClosedFormSchedule):
    """Multiply the parameter by ``gamma`` per epoch: ``initial * gamma ** progress``.

    Parameters
    ----------
    gamma : float
        Factor per epoch (> 0).
    param : str
        Optimiser parameter, default ``"alpha"``.
    per_batch : bool
        Also apply before every batch (a smooth decay within epochs).
    """

    def __init__(self, gamma: float, *, param: str = "alpha", per_batch: bool = False):
        super().__init__(param, per_batch)
        self.gamma = _positive(gamma, "ExponentialDecay", "gamma")

    def value(self, progress: float, initial: float) -> float:
        return initial * self.gamma ** progress


class CosineAnnealing(_ClosedFormSchedule):
    """Linear warm-up, then a half cosine from ``initial`` down to ``min_value``.

    For ``progress < warmup_epochs``:
    ``value = initial * (progress + 1) / (warmup_epochs + 1)``; then with
    ``t = progress - warmup_epochs`` and ``T = total_epochs - warmup_epochs``:
    ``value = min_value + (initial - min_value) * (1 + cos(pi * min(t, T) / T)) / 2``,
    which stays at ``min_value`` from ``total_epochs`` on.

    Parameters
    ----------
    total_epochs : float
        Epochs until ``min_value`` is reached (> ``warmup_epochs``).
    warmup_epochs : float
        Epochs of linear warm-up (>= 0).
    min_value : float
        Final value (>= 0).
    param : str
        Optimiser parameter, default ``"alpha"``.
    per_batch : bool
        Also apply before every batch (a smooth curve within epochs).
    """

    def __init__(self, total_epochs: float, *, warmup_epochs: float = 0, min_value: float = 0.0,
                 param: str = "alpha", per_batch: bool = False):
        super().__init__(param, per_batch)
        self.total_epochs = _positive(total_epochs, "CosineAnnealing", "total_epochs")
        self.warmup_epochs = _positive(
            warmup_epochs, "CosineAnnealing", "warmup_epochs", allow_zero=True
        )
        self.min_value = _positive(min_value, "CosineAnnealing", "min_value", allow_zero=True)
        if self.warmup_epochs >= self.total_epochs:
            raise ConfigurationError(
                f"CosineAnnealing warmup_epochs must be < total_epochs; got "
                f"{warmup_epochs!r} >= {total_epochs!r}. Shorten the warm-up."
            )

    def value(self, progress: float, initial: float) -> float:
        if progress < self.warmup_epochs:
            return initial * (progress + 1) / (self.warmup_epochs + 1)
        span = self.total_epochs - self.warmup_epochs
        t = min(progress - self.warmup_epochs, span)
        return self.min_value + (initial - self.min_value) * (1 + math.cos(math.pi * t / span)) / 2


__all__ = ["CosineAnnealing", "ExponentialDecay", "OptimiserParamSchedule", "StepDecay"]
