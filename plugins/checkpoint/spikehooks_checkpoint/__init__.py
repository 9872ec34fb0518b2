"""spikehooks-checkpoint: atomic, verified, resumable checkpoints.

``Checkpoint`` saves the weights, the optimiser and RNG state and the state
of every callback that offers ``state_dict()``, so ``train(...,
resume_from="latest")`` continues a run bit for bit.
"""

from __future__ import annotations

from spikehooks.errors import CheckpointError

from .checkpoint import Checkpoint, callback_ids

__all__ = ["Checkpoint", "CheckpointError", "callback_ids"]
