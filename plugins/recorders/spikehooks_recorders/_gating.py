"""When to record (epochs, phases) and how much memory a recording may take."""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

PHASES = ("train", "validate", "test")

#: Environment variable holding the total memory budget of all recorders of a run.
BUDGET_ENV = "SPIKEHOOKS_RECORDING_BUDGET"

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
}


def parse_bytes(value: Any, what: str) -> int | None:
    """Turn ``2_000_000``, ``"2GB"``, ``"1.5 GiB"`` or None into a byte count.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB,
    MiB, GiB, TiB) powers of 1024.
    """
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
            and value >= 0:
        return int(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        if match and match.group(2).lower() in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise ConfigurationError(
        f"{what} must be a byte count such as 500_000_000, '2GB' or '512MiB'; got {value!r}. "
        f"Use a number followed by B, kB, MB, GB, KiB, MiB or GiB."
    )


def format_bytes(n: float) -> str:
    """Return ``n`` bytes as a short human string (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def env_budget() -> int | None:
    """Return the total budget from ``SPIKEHOOKS_RECORDING_BUDGET`` (None if unset)."""
    raw = os.environ.get(BUDGET_ENV)
    if raw is None or not raw.strip():
        return None
    return parse_bytes(raw, f"environment variable {BUDGET_ENV}")


class Gate:
    """Decides per run and per epoch whether a recorder records.

    Parameters
    ----------
    epochs : None, int, iterable of int, or callable epoch -> bool
        Epochs (0-based) to record in.  Applies where the run has an epoch
        (training and validation); plain ``evaluate`` has none and always
        passes.
    phase : None, str or iterable of str
        ``"train"``, ``"validate"``, ``"test"``, or several of them.
    owner : str
        For messages.
    """

    def __init__(self, epochs: Any, phase: Any, owner: str):
        self._pred: Callable[[int], bool] | None
        if epochs is None:
            self._pred = None
        elif callable(epochs):
            self._pred = lambda e: bool(epochs(e))
        elif isinstance(epochs, numbers.Integral) and not isinstance(epochs, bool):
            target = int(epochs)
            self._pred = lambda e: e == target
        elif isinstance(epochs, Iterable) and not isinstance(epochs, (str, bytes)):
            chosen = list(epochs)
            if not all(isinstance(e, numbers.Integral) and not isinstance(e, bool)
                       for e in chosen):
                raise ConfigurationError(
                    f"{owner} epochs must hold ints; got {epochs!r}. Pass e.g. epochs=[0, 9]."
                )
            wanted = frozenset(int(e) for e in chosen)
            self._pred = wanted.__contains__
        else:
            raise ConfigurationError(
                f"{owner} epochs must be an int, an iterable of ints or a callable "
                f"epoch -> bool; got {epochs!r}. Pass e.g. epochs=lambda e: e % 10 == 0."
            )
        if phase is None:
            self.phases = frozenset(PHASES)
        else:
            phases = {phase} if isinstance(phase, str) else set(phase)
            unknown = phases - set(PHASES)
            if unknown or not phases:
                raise ConfigurationError(
                    f"{owner} phase must be one or more of {', '.join(PHASES)}; got {phase!r}. "
                    f"Pass e.g. phase='test' or phase={{'train', 'validate'}}."
                )
            self.phases = frozenset(phases)

    def phase_ok(self, mode: str | None) -> bool:
        """Return whether a run in ``mode`` records at all."""
        return mode is None or mode in self.phases

    def epoch_ok(self, epoch: int | None) -> bool:
        """Return whether ``epoch`` (None outside training) is recorded."""
        return epoch is None or self._pred is None or self._pred(epoch)

    def count_epochs(self, num_epochs: int | None) -> int:
        """Return how many of ``num_epochs`` epochs are recorded (1 if unknown)."""
        if num_epochs is None or self._pred is None:
            return max(num_epochs or 1, 1)
        return sum(1 for e in range(num_epochs) if self._pred(e))

