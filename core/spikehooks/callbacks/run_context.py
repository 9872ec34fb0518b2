"""The context of one ``train``/``evaluate`` run, passed to hooks as ``run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunContext:
    """What a hook may want to know about the run it is called in.

    Attributes
    ----------
    mode : {"train", "validate", "test"}
        Which loop is running.
    compiled_network : object or None
        The compiled network being run.
    backend : spikehooks.backends.Backend or None
        The backend simulating it (the only interface plugins may use).
    data : dict
        The ``cb_data`` dictionary callbacks store their data in.
    num_batches : int or None
        Batches per epoch (or in the data set, for inference).
    num_epochs : int or None
        Epochs of this run (1 for inference).
    epoch : int or None
        The current epoch (None for plain inference).
    """

    mode: str = "test"
    compiled_network: Any = None
    backend: Any = None
    data: dict = field(default_factory=dict)
    num_batches: int | None = None
    num_epochs: int | None = None
    epoch: int | None = None


__all__ = ["RunContext"]
