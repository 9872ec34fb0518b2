"""Central differences through the exact reference, and the check of a gradient against them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def perturbed_weight_sets(ws: list[np.ndarray], entries: dict[int, list[tuple[int, int]]],
                          eps: float) -> list[list[np.ndarray]]:
    """Float64 copies of ``ws``, each with one entry moved by ``+eps`` then ``-eps``.

    In the order of ``entries`` (connection -> weight indices), two sets per entry.
    """
    sets = []
    for conn, ents in entries.items():
        for entry in ents:
            for sign in (1.0, -1.0):
                w = [np.array(x, dtype=np.float64) for x in ws]
                w[conn][entry] += sign * eps
                sets.append(w)
    return sets


def assert_gradients_match(gradients: list[np.ndarray],
                           entries: dict[int, list[tuple[int, int]]], slopes: np.ndarray,
                           stable: np.ndarray, min_cosine: Callable[[int], float],
                           max_ratio: float) -> None:
    """Compare each connection's gradient entries with the reference slopes.

    Only entries whose spike count did not change under the perturbation
    (``stable``) count, and at least 80 % of each connection's must be
    stable.  Per connection the cosine must exceed ``min_cosine(conn)`` and
    the norm ratio lie strictly within ``(1 / max_ratio, max_ratio)``.
    """
    start = 0
    for conn, ents in entries.items():
        keep = stable[start:start + len(ents)]
        ref = slopes[start:start + len(ents)][keep]
        start += len(ents)
        got = np.array([gradients[conn][e] for e in ents])[keep]
        assert keep.sum() >= 0.8 * len(ents)
        cosine = got @ ref / (np.linalg.norm(got) * np.linalg.norm(ref))
        ratio = np.linalg.norm(got) / np.linalg.norm(ref)
        assert cosine > min_cosine(conn), (conn, cosine)
        assert 1.0 / max_ratio < ratio < max_ratio, (conn, ratio)
