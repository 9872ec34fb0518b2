"""``gather=True``: collect every rank's recorded examples on rank 0, in global order.

Each recorded entry carries a sort key ``(batch, rank, position)``:
``batch`` counts the batches of the run, and within a batch entries are
ordered as one process at the global batch size would hold them: with
``shard=True`` by rank, then position (the global batch is split in rank
order); with each rank passing ``slice(rank, None, num_ranks)`` of the data
(mlGeNN's way), by global example index.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def batch_keys(run: Any, seq: int, local_positions: np.ndarray,
               examples: np.ndarray) -> list[tuple[int, int, int]]:
    """Sort keys of the entries recorded in one batch (see the module notes).

    ``local_positions`` are the entries' rows in this rank's batch,
    ``examples`` their global example indices.
    """
    if run.shard or run.num_ranks == 1:
        return [(seq, int(run.rank), int(p)) for p in local_positions]
    return [(seq, 0, int(g)) for g in examples]


def gather_sorted(comm: Any, keys: list[tuple[int, int, int]], entries: list[Any],
                  examples: list[int]) -> tuple[list[Any], list[int]] | None:
    """Gather ``(keys, entries, examples)`` on rank 0; return them merged in key order there.

    Returns
    -------
    (entries, global example indices) on rank 0, None on the other ranks.
    """
    parts = comm.gather((keys, entries, examples), 0)
    if parts is None:
        return None
    merged = [(k, e, x) for ks, es, xs in parts for k, e, x in zip(ks, es, xs, strict=True)]
    merged.sort(key=lambda item: item[0])
    return [e for _, e, _ in merged], [int(x) for _, _, x in merged]


__all__ = ["batch_keys", "gather_sorted"]
