"""Two networks training at once in two threads of one process learn what they learn alone.

The compiled backward sweep reuses work arrays between batches; they must
belong to one thread, or two runs overwrite each other's gradients.
"""

from __future__ import annotations

import threading

import numpy as np
from test_train_loop import _compiled, _data


def _train(seed: int, results: dict, key: str, start: threading.Barrier | None = None) -> None:
    net, inp, out = _compiled(batch_size=8, seed=seed)
    x, y = _data(48, seed=seed)
    if start is not None:
        start.wait()
    with net:
        net.train({inp: x}, {out: y}, num_epochs=3, callbacks=[])
        results[key] = [np.array(w) for w in net.backend.get_learnable_state().values()]


def test_two_threads_train_as_two_runs_alone():
    alone: dict = {}
    _train(0, alone, "a")
    _train(1, alone, "b")
    together: dict = {}
    start = threading.Barrier(2)
    threads = [threading.Thread(target=_train, args=(seed, together, key, start))
               for seed, key in ((0, "a"), (1, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in "ab":
        assert len(together[key]) == len(alone[key])
        for got, expected in zip(together[key], alone[key], strict=True):
            np.testing.assert_array_equal(got, expected)
