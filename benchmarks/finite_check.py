"""Cost of the end-of-batch finiteness check of training (loss, gradients, weights).

For the two training tasks of ``benchmarks/training.py`` (digits 64-128-10,
Yin-Yang 5-100-3) at batch sizes 1 and 32, two figures, BLAS pinned to one
thread:

``check_s`` / ``batch_s``
    the median time of the check alone (``before_update`` and
    ``after_update`` on the network's real gradient and weight arrays), and
    the median time of one training batch (``train()`` over a few batches,
    divided by their number).  ``overhead`` is their ratio: what the check
    adds to a batch.
``train_ratio``
    the median time of the same ``train()`` with the check and with it
    replaced by a no-op, interleaved; noisier on a busy machine, it should
    agree with ``1 + overhead`` within the noise.

Run: ``python benchmarks/finite_check.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import (
    machine_info,
    make_parser,
    median_time,
    pin_blas_threads,
    run_as_script,
)
from benchmarks.training import _digits, _yin_yang
from spikehooks.compilers import compiled_training_network as _compiled
from spikehooks.training import FiniteGuard


class _NoCheck(FiniteGuard):
    def before_update(self, *args: Any) -> None:
        pass

    def after_update(self, *args: Any) -> None:
        pass


def measure(task: str, batch: int, quick: bool) -> dict[str, Any]:
    """Return the figures of one task and batch size (see the module docstring)."""
    batches = 2 if quick else 8
    num = batch * batches
    compiled, inp, out, x, y = (_yin_yang if task == "yin_yang" else _digits)(batch, num)
    repeats = 3 if quick else 7
    with compiled:
        def train() -> None:
            compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[], shuffle=False)

        with_check, without = [], []
        for _ in range(repeats):  # interleaved, so load hits both alike
            with_check.append(median_time(train, 1, warmup=0).median_s)
            _compiled.FiniteGuard = _NoCheck  # type: ignore[misc]
            try:
                without.append(median_time(train, 1, warmup=0).median_s)
            finally:
                _compiled.FiniteGuard = FiniteGuard  # type: ignore[misc]
        conns = compiled.network.connections
        weights = [compiled.backend.get_weight(c) for c in conns]
        grads = [np.asarray(w, dtype=np.float64) for w in weights]
        guard = FiniteGuard("raise", [c.name for c in conns], "out")

        def check() -> None:
            guard.before_update(0, 0, 0.5, grads, weights)
            guard.after_update(0, 0, weights)

        check_s = median_time(check, repeats, number=200).median_s
    batch_s = float(np.median(with_check)) / batches
    return {
        "task": task,
        "batch_size": batch,
        "batches_timed": batches,
        "check_s": check_s,
        "batch_s": batch_s,
        "overhead": check_s / batch_s,
        "train_ratio": float(np.median(with_check) / np.median(without)),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and return its JSON-able result."""
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    with pin_blas_threads(1) as blas:
        results = [measure(task, batch, args.quick)
                   for task in ("digits", "yin_yang") for batch in (1, 32)]
    return {"quick": args.quick, "blas": blas, "machine": machine_info(), "results": results}


if __name__ == "__main__":
    run_as_script(main)
