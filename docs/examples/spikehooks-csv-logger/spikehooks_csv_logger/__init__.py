"""A named callback that appends one CSV row of metrics per epoch (or per inference)."""

from __future__ import annotations

import csv
from pathlib import Path

from spikehooks import Callback


class CSVLogger(Callback):
    """Write ``phase, epoch, <metric columns>`` rows to ``path``.

    One row per training epoch, per validation pass of ``train`` (phase
    ``validate``, the epoch it followed) and per ``evaluate`` (phase
    ``test``, no epoch).

    Parameters
    ----------
    path : str or Path
        The CSV file; created with a header on first use, appended to after.
    key : hashable
        Key of the rows in ``cb_data`` (a list of dicts, one per row).
    """

    def __init__(self, path="metrics.csv", key="csv_logger"):
        self.path = Path(path)
        self.key = key

    def set_params(self, data, mode="test", **kwargs):
        self._mode = mode
        self._rows = data.setdefault(self.key, [])

    def on_epoch_end(self, epoch, metrics):
        self._write(epoch, metrics)

    def on_test_end(self, metrics):
        # Inside train(), each validation pass already wrote its row at on_epoch_end.
        if self._mode == "test":
            self._write(None, metrics)

    def get_data(self):
        return self.key, self._rows

    def _write(self, epoch, metrics):
        row = {"phase": self._mode, "epoch": "" if epoch is None else epoch}
        for population, metric in metrics.items():
            name = getattr(population, "name", population)
            row[f"{name}/{type(metric).__name__}"] = f"{metric.result:.6f}"
        new_file = not self.path.exists()
        with self.path.open("a", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        self._rows.append(row)
