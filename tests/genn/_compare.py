"""Run one network on both backends with recorders, and compare what came back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _genn_helpers import compiler


def run(backend: str, make_network: Callable[[], Any], x: Any, timesteps: int, cache: Path,
        make_callbacks: Callable[[Any], list], outputs: list[str], rng_seed: int = 5,
        **compiler_kwargs: Any) -> tuple[dict, dict, Any]:
    """Predict ``x`` (given to the population named ``"inp"``) on ``backend``.

    Returns
    -------
    readouts : dict of str to numpy.ndarray
        The readouts of ``outputs``, by population name.
    cb_data : dict
        What the callbacks of ``make_callbacks(network)`` recorded.
    backend : Backend
        The compiled network's backend.
    """
    network = make_network()
    compiled = compiler(backend, timesteps, cache, rng_seed=rng_seed,
                        **compiler_kwargs).compile(network)
    pops = [network.get_population(name) for name in outputs]
    with compiled:
        y_pred, cb_data = compiled.predict({network.get_population("inp"): x}, pops,
                                           callbacks=make_callbacks(network))
    return {pop.name: value for pop, value in y_pred.items()}, cb_data, compiled.backend


def assert_same(expected: Any, got: Any, where: str) -> None:
    """Assert equal dtypes, shapes and bits, through nested sequences."""
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == expected.dtype and got.shape == expected.shape, where
        np.testing.assert_array_equal(got, expected, err_msg=where)
        return
    # Lists, tuples and the recorders' own sequences (SpikeList...): same type, same items.
    assert type(got) is type(expected) and len(got) == len(expected), where
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert_same(e, g, f"{where}[{i}]")
