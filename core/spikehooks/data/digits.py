"""scikit-learn's embedded handwritten digits, split for training and testing.

The 1797 8x8 grey-scale images ship inside scikit-learn (nothing is
downloaded), which spikehooks needs only for this loader: install it with
``pip install "spikehooks[datasets]"``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..checks import make_rng, real
from ..errors import MissingDependencyError

#: Features per example: 8x8 pixels, flattened in C order.
NUM_FEATURES = 64
#: Number of classes (digits 0-9).
NUM_CLASSES = 10
#: Largest raw pixel value of the data set (4x4 blocks of a 32x32 bitmap).
_MAX_PIXEL = 16.0


class DigitsSplit(NamedTuple):
    """A seeded, stratified train/test split of the digits.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray of float32, shape (n, 64)
        Pixel intensities in ``[0, 1]`` (8x8 images flattened in C order).
    y_train, y_test : numpy.ndarray of int64, shape (n,)
        Digit labels 0-9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(test_fraction: float = 0.2, seed: int | np.random.Generator | None = 0
                ) -> DigitsSplit:
    """Load scikit-learn's digits and split them, stratified by class.

    Parameters
    ----------
    test_fraction : float, default 0.2
        Fraction of each class put in the test set, in ``(0, 1)``.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the split and of the order of examples; ``None`` draws
        fresh entropy.

    Returns
    -------
    DigitsSplit
        ``(x_train, y_train, x_test, y_test)``: float32 ``(n, 64)`` in
        ``[0, 1]`` and int64 ``(n,)``, in a seeded random order.  For the
        latency encoders, which expect 8-bit intensities, pass
        ``(x * 255).astype(np.uint8)``.

    Raises
    ------
    MissingDependencyError
        scikit-learn is not installed; the message gives the install line
        (an ImportError subclass).
    ConfigurationError
        ``test_fraction`` outside ``(0, 1)`` or a bad seed.
    """
    where = "load_digits"
    test_fraction = real(
        test_fraction, where, "test_fraction", "a number in (0, 1)",
        "Pass e.g. test_fraction=0.2.", lambda v: 0.0 < v < 1.0,
    )
    rng = make_rng(seed, where)
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as exc:
        raise MissingDependencyError(
            "spikehooks.data.load_digits needs scikit-learn, which is not installed. "
            'Install the optional extra with: pip install "spikehooks[datasets]"'
        ) from exc
    bunch = sklearn_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float64) / _MAX_PIXEL).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_parts, test_parts = [], []
    for label in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(y == label))
        num_test = int(round(test_fraction * len(members)))
        test_parts.append(members[:num_test])
        train_parts.append(members[num_test:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return DigitsSplit(x[train], y[train], x[test], y[test])


__all__ = ["NUM_CLASSES", "NUM_FEATURES", "DigitsSplit", "load_digits"]
