"""The :class:`CSVLogger` callback: one row per epoch, readable by the csv module and pandas."""

from __future__ import annotations

import csv
import os
from typing import Any

from spikehooks.errors import ConfigurationError

from . import _folders
from ._base import LoggerBase


class CSVLogger(LoggerBase):
    """Write one row per training epoch to a CSV file.

    Columns: ``epoch``, then in order of first appearance ``epoch_time_s``
    (training part of the epoch, s), ``learning_rate``, ``loss``, every
    metric (``sparse_categorical_accuracy``; ``<population>/<metric>`` with
    several outputs) and its ``val_`` twin.  ``evaluate`` adds ``test_``
    columns to the row of the last epoch the logger wrote, or a row with an
    empty ``epoch`` when it wrote none.  A column that appears later (a
    validation metric, a test metric) rewrites the file once with the wider
    header; cells a row lacks are empty.

    A training run that starts at epoch ``E`` (resumed from a checkpoint,
    or ``start_epoch=E``) keeps the rows of epochs before ``E`` and drops
    the rest, so no epoch appears twice; a run from epoch 0 starts a new
    file.  Rows are flushed as they are written.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file (its folder is created when the run starts).
    separator : str
        One character between cells (``","``; ``"\\t"`` for TSV).
    """

    def __init__(self, filename: str | os.PathLike[str] = "training.csv", separator: str = ","):
        super().__init__()
        self.filename = _folders.check_file(filename, "CSVLogger", "filename")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\"\r\n":
            raise ConfigurationError(
                f"CSVLogger separator must be one character other than a quote or newline; got "
                f"{separator!r}. Pass e.g. separator=','."
            )
        self.separator = separator
        self.owner = f"CSVLogger(filename={self.filename!r})"
        self._columns: list[str] = []
        self._rows: list[dict[str, Any]] = []

    # ------------------------------------------------------------ writing
    def open(self, mode: str, first_step: int) -> None:
        rows = self._read()
        if mode == "train":
            kept = [r for r in rows if not r.get("epoch") or int(r["epoch"]) < first_step]
        else:
            kept = rows
        self._rows = kept
        self._columns = ["epoch"] + [c for r in kept for c in r if c != "epoch"]
        self._columns = list(dict.fromkeys(self._columns))
        if kept != rows or not os.path.exists(self.filename):
            self._rewrite()

    def write_epoch(self, epoch: int, row: dict[str, float], snapshot: Any) -> None:
        self._add({"epoch": epoch, **row})

    def write_test(self, epoch: int | None, values: dict[str, float], snapshot: Any) -> None:
        target = None
        if epoch is not None:
            target = next((r for r in reversed(self._rows)
                           if str(r.get("epoch")) == str(epoch)), None)
        if target is None:
            self._add({"epoch": "", **values})
            return
        target.update(values)
        self._columns = list(dict.fromkeys(self._columns + list(values)))
        self._rewrite()

    def _add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        new = [c for c in row if c not in self._columns]
        if new:
            self._columns += new
            self._rewrite()
            return
        # The common case: the header holds every column, append one line.
        with open(self.filename, "a", newline="", encoding="utf-8") as handle:
            self._dict_writer(handle).writerow(row)

    def _dict_writer(self, handle: Any) -> csv.DictWriter:
        return csv.DictWriter(handle, fieldnames=self._columns, delimiter=self.separator,
                              restval="", lineterminator="\n")

    def _read(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.filename):
            return []
        with open(self.filename, newline="", encoding="utf-8") as handle:
            return [dict(r) for r in csv.DictReader(handle, delimiter=self.separator)]

    def _rewrite(self) -> None:
        """Write header and every row to a temporary file, then swap it in atomically."""
        folder = os.path.dirname(self.filename)
        if folder:
            _folders.make_folder(folder)
        temporary = f"{self.filename}.tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = self._dict_writer(handle)
            writer.writeheader()
            writer.writerows(self._rows)
        os.replace(temporary, self.filename)

    def __repr__(self) -> str:
        return f"CSVLogger(filename={self.filename!r}, separator={self.separator!r})"


__all__ = ["CSVLogger"]
