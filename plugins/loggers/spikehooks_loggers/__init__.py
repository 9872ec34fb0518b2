"""spikehooks-loggers: training runs in CSV files, TensorBoard and MLflow.

Three callbacks, registered by name in ``spikehooks.callbacks``:

- ``csv_logger`` (:class:`CSVLogger`): one row per epoch;
- ``tensorboard`` (:class:`TensorBoardLogger`): scalars, weight histograms,
  spike rasters and rates (extra ``tensorboard``);
- ``mlflow`` (:class:`MLflowLogger`): parameters, metrics, checkpoint and
  figures (extra ``mlflow``).

All of them log on rank 0 only, continue a resumed run without a repeated
or missing epoch, and turn a failing write into a warning: training goes on.
"""

from __future__ import annotations

from ._base import LoggerBase
from .csv_logger import CSVLogger
from .mlflow_logger import MLflowLogger
from .tensorboard_logger import TensorBoardLogger

__all__ = ["CSVLogger", "LoggerBase", "MLflowLogger", "TensorBoardLogger"]
