"""The fixed summation order that makes data-parallel gradients bit-exact.

Floating-point addition is not associative, so a sum over examples depends
on how the additions are grouped.  spikehooks groups every gradient sum as a
balanced binary tree over the examples of the global batch, each range
``[lo, hi)`` split at ``lo + ceil((hi - lo) / 2)``.  :func:`shard_sizes`
splits a global batch across ranks along the same tree, so each rank sums a
whole subtree and the ranks' partial sums are combined by the top of the
tree: one process and ``2**k`` ranks then add exactly the same numbers in
exactly the same order.
"""

from __future__ import annotations

import numpy as np


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def tree_sum(parts: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """Sum ``parts`` over axis 0 as the balanced tree split at ``ceil(n / 2)``.

    Each node of the tree adds its left subtree's sum and its right
    subtree's sum: the recursion ``tree_sum(parts[:m]) + tree_sum(parts[m:])``
    with ``m = ceil(n / 2)``, computed with ``n - 1`` in-place additions.

    Parameters
    ----------
    parts : numpy.ndarray, shape (n, ...)
        One entry per example (``n`` may be 0).
    overwrite : bool
        Use ``parts`` as scratch space (it is destroyed) instead of a copy.

    Returns
    -------
    numpy.ndarray, shape parts.shape[1:]
        A new array (zeros when ``n == 0``).
    """
    n = len(parts)
    if n == 0:
        return np.zeros(parts.shape[1:], parts.dtype)
    work = parts if overwrite else parts.copy()
    _reduce(work, 0, n)
    return work[0].copy()


def _reduce(work: np.ndarray, lo: int, hi: int) -> None:
    """Leave the tree sum of ``work[lo:hi]`` in ``work[lo]``."""
    if hi - lo < 2:
        return
    mid = lo + (hi - lo + 1) // 2
    _reduce(work, lo, mid)
    _reduce(work, mid, hi)
    np.add(work[lo], work[mid], out=work[lo])


def shard_sizes(num_examples: int, num_ranks: int) -> list[int]:
    """Split ``num_examples`` consecutive examples of a global batch across ranks.

    For a power-of-two ``num_ranks`` the split follows the summation tree of
    :func:`tree_sum` (ranks ``[0, R/2)`` take the first ``ceil(n/2)``
    examples, recursively), so partial sums combine exactly.  Otherwise the
    examples are spread as evenly as possible, the first ranks taking one
    more.

    Returns
    -------
    list of int
        Examples of each rank, in rank order; they sum to ``num_examples``.
    """
    if not _is_power_of_two(num_ranks):
        base, extra = divmod(num_examples, num_ranks)
        return [base + (r < extra) for r in range(num_ranks)]
    if num_ranks == 1:
        return [num_examples]
    first = (num_examples + 1) // 2
    half = num_ranks // 2
    return shard_sizes(first, half) + shard_sizes(num_examples - first, half)


def exact_across_ranks(num_ranks: int) -> bool:
    """True when ranks' partial sums combine in :func:`tree_sum`'s order (power-of-two ranks)."""
    return _is_power_of_two(num_ranks)


__all__ = ["exact_across_ranks", "shard_sizes", "tree_sum"]
