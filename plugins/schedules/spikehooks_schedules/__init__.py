"""spikehooks-schedules: optimiser-parameter schedules and early stopping.

Every callback here offers ``state_dict()``/``load_state_dict()``, so a
:class:`spikehooks_checkpoint.Checkpoint` saves and restores its state.
"""

from __future__ import annotations

from .plateau import EarlyStopping, ReduceOnPlateau
from .schedules import CosineAnnealing, ExponentialDecay, OptimiserParamSchedule, StepDecay

__all__ = [
    "CosineAnnealing",
    "EarlyStopping",
    "ExponentialDecay",
    "OptimiserParamSchedule",
    "ReduceOnPlateau",
    "StepDecay",
]
