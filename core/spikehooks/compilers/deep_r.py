"""Deep R's callbacks for :class:`~spikehooks.compilers.EPropCompiler` (mlGeNN's ``deep_r``).

The rewiring itself is :class:`spikehooks.training._deep_r.DeepR`, run by the
e-prop training loop right after each optimiser step.  This module holds
what the training loop adds to a run's callbacks, as mlGeNN adds them to its
base callbacks: the start-of-epoch initialisation of the signs, and one
:class:`RewiringRecord` per entry of ``deep_r_record_rewirings``.
"""

from __future__ import annotations

from typing import Any

from ..callbacks.callback import Callback
from ..training._deep_r import DeepR, RewiredConnection


class RewiringRecord(Callback):
    """Record, after every training batch, how many synapses Deep R rewired.

    Created by :class:`~spikehooks.compilers.EPropCompiler` for each
    ``deep_r_record_rewirings={connection: key}`` entry; ``cb_data[key]``
    is a list with one ``(num_rewirings, num_failed_rewirings)`` tuple of
    ints per batch: the synapses made dormant (and as many activated), and
    the random row choices rejected because the row was full.

    Parameters
    ----------
    rewired : RewiredConnection
        The connection's Deep R state (``compiled_net.deep_r.by_connection(c)``).
    key : hashable, optional
        Key of the data in ``cb_data``.
    """

    def __init__(self, rewired: RewiredConnection, key: Any = None):
        self.rewired = rewired
        self.key = key
        self._data: list[tuple[int, int]] = []

    def set_params(self, **kwargs: Any) -> None:
        self._data = []   # a fresh list per run

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        self._data.append((int(self.rewired.num_rewirings),
                           int(self.rewired.num_failed_rewirings)))

    def get_data(self) -> tuple[Any, list[tuple[int, int]]]:
        return self.key, self._data


class DeepRInit(Callback):
    """mlGeNN's ``DeepRInit`` base callback: set the signs when an epoch numbered 0 begins."""

    def __init__(self, deep_r: DeepR):
        self.deep_r = deep_r

    def on_epoch_begin(self, epoch: int) -> None:
        self.deep_r.on_epoch_begin(epoch)


def deep_r_callbacks(deep_r: DeepR, records: dict[Any, Any], callbacks: Any) -> list[Any]:
    """``callbacks`` with Deep R's in front: the initialisation, then one record per key.

    mlGeNN puts them among its base callbacks, ahead of the user's; the
    user's list itself is checked as usual by the training loop.
    """
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        return callbacks   # the training loop refuses it, naming what arrived
    added: list[Any] = [DeepRInit(deep_r)]
    added += [RewiringRecord(deep_r.by_connection(conn), key) for conn, key in records.items()]
    return [*added, *callbacks]


__all__ = ["DeepRInit", "RewiringRecord", "deep_r_callbacks"]
