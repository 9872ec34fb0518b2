"""The end-of-batch check that training numbers stay finite.

One NaN (an exploding jump denominator, an extreme input, a learning rate
set too high) spreads to every weight within a few batches, and a run that
goes on for epochs keeps checkpointing garbage.  After each batch's backward
pass the loss and every gradient are checked before the optimiser step (so a
bad gradient leaves the weights as they were), and every weight after it.

The check costs one ``sum`` per array (no allocation): the sum of an array
is NaN or infinite when any entry is.  Only then is the array searched for
the first bad entry (a finite sum that overflows finds none and passes).
On the compiled backend a compiled loop over the entries replaces the sum
(``compiled=True``): at batch size 1 the sums' call overhead outweighed
the arithmetic.  Both pass and find exactly the same arrays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ConfigurationError, NonFiniteError, NonFiniteWarning

#: Accepted values of ``EventPropCompiler(on_non_finite=...)``.
MODES = ("raise", "warn")

_ADVICE = (
    "Lower the learning rate, look for extreme input values, or raise "
    "min_jump_denominator; EventPropCompiler(on_non_finite='warn') warns instead."
)


def check_mode(value: object) -> str:
    """Return ``value`` if it is one of :data:`MODES`, else raise ConfigurationError."""
    if value not in MODES:
        raise ConfigurationError(
            f"EventPropCompiler on_non_finite must be one of {list(MODES)}; got {value!r}. "
            f"Pass 'raise' (the default: stop at the first non-finite number) or 'warn'."
        )
    return str(value)


def first_non_finite(arrays: Sequence[np.ndarray],
                     all_finite: Callable[[np.ndarray], bool] | None = None,
                     ) -> tuple[int, tuple[int, ...]] | None:
    """Return ``(position in arrays, index)`` of the first NaN or inf entry, or None.

    ``all_finite``, when given, tells from a contiguous array's flat view
    whether every entry is finite (the compiled check); else a sum screens
    each array.
    """
    for position, array in enumerate(arrays):
        if all_finite is not None and array.flags.c_contiguous:
            if all_finite(array.reshape(-1)):
                continue
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is checked below
                total = array.sum()
            if np.isfinite(total):
                continue
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            return position, tuple(int(i) for i in bad[0])
    return None


class FiniteGuard:
    """Checks one training run's losses, gradients and weights batch by batch.

    Parameters
    ----------
    mode : {"raise", "warn"}
        ``"raise"``: :class:`NonFiniteError` at the first non-finite number.
        ``"warn"``: one :class:`NonFiniteWarning` per ``train()`` call, and
        training goes on with the numbers as they are.
    names : sequence of str
        Connection names, in the order of the gradient and weight arrays.
    output : str
        Name of the output population (named for a non-finite loss).
    compiled : bool
        Screen arrays with the compiled loop (needs numba) instead of sums.
    """

    def __init__(self, mode: str, names: Sequence[str], output: str, *,
                 compiled: bool = False):
        self.mode = mode
        self.names = list(names)
        self.output = output
        self.warned = False
        self._all_finite: Callable[[np.ndarray], bool] | None = None
        if compiled:
            from ._update_kernels import all_finite

            self._all_finite = all_finite

    def before_update(self, epoch: int, batch: int, loss: float,
                      gradients: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> None:
        """Check the weights the batch ran with, then its gradients and loss.

        The weights were checked after the last step, but a callback or a
        loaded state may have changed them since; naming them first points at
        the cause rather than at the gradients it spoilt.
        """
        found = first_non_finite(weights, self._all_finite)
        if found is not None:
            position, index = found
            self._report(epoch, batch, "weight", position, index,
                         f"connection {self.names[position]!r} weight{list(index)} was "
                         f"{weights[position][index]} before the optimiser step (set outside "
                         f"the optimiser: by a callback or a loaded state)")
            return
        found = first_non_finite(gradients, self._all_finite)
        if found is not None:
            position, index = found
            value = gradients[position][index]
            self._report(epoch, batch, "gradient", position, index,
                         f"the gradient of connection {self.names[position]!r} weight{list(index)}"
                         f" is {value}")
        elif not math.isfinite(loss):
            self._report(epoch, batch, "loss", None, None,
                         f"the loss of output {self.output!r} is {loss}")

    def after_update(self, epoch: int, batch: int, weights: Sequence[np.ndarray]) -> None:
        """Check every weight after the optimiser step."""
        found = first_non_finite(weights, self._all_finite)
        if found is not None:
            position, index = found
            value = weights[position][index]
            self._report(epoch, batch, "weight", position, index,
                         f"the optimiser step made connection {self.names[position]!r} "
                         f"weight{list(index)} {value}")

    def _report(self, epoch: int, batch: int, what: str, position: int | None,
                index: tuple[int, ...] | None, detail: str) -> None:
        if what != "weight" and self.mode == "raise":
            detail += "; the weights were not updated"
        message = (f"training produced a non-finite {what} at epoch {epoch}, batch {batch}: "
                   f"{detail}. The newest checkpoint is the last good state. {_ADVICE}")
        if self.mode == "warn":
            if not self.warned:
                self.warned = True
                warnings.warn(message + " (Warned once per train() call.)", NonFiniteWarning,
                              stacklevel=4)
            return
        raise NonFiniteError(message, epoch=epoch, batch=batch, what=what,
                             connection=None if position is None else self.names[position],
                             index=index)
