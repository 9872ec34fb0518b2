"""Per-timestep cost of the callback dispatcher.

Compares, in one process, for k = 0, 1, 3 and 10 callbacks implementing
``on_timestep_end``:

- ``dispatcher``: ``CallbackList.on_timestep_end(t)``, as the runtime calls it;
- ``plain_loop``: ``for f in bound_methods: f(t)``, the practical floor;
- ``pluggy``: ``pm.hook.on_timestep_end(timestep=t, run=ctx)``, pluggy's own path.

Also checks the zero-hook promise end to end: a run whose callbacks
implement no timestep hook costs the same as a run with no callbacks.

Run: ``python benchmarks/dispatch.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pluggy

from benchmarks._common import make_parser
from spikehooks import Callback, CallbackList
from spikehooks.callbacks import hookspecs
from spikehooks.callbacks._callback_validation import CallbackPluginManager


class Tick(Callback):
    """A minimal timestep callback: one attribute update per call."""

    def __init__(self) -> None:
        self.count = 0

    def on_timestep_end(self, timestep: int) -> None:
        self.count += 1


class BatchOnly(Callback):
    """Implements only a batch hook: must add no per-timestep cost."""

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        pass


def _per_call_ns(stmt, number: int, repeats: int) -> tuple[float, list[float]]:
    samples = [t / number * 1e9 for t in timeit.repeat(stmt, number=number, repeat=repeats)]
    return statistics.median(samples), samples


def measure_dispatch(k: int, number: int, repeats: int) -> dict[str, Any]:
    """Return ns per timestep for the three call paths with ``k`` callbacks."""
    callbacks = [Tick() for _ in range(k)]
    cbl = CallbackList(callbacks, global_plugins=False)
    dispatch = cbl.on_timestep_end
    bound = [cb.on_timestep_end for cb in callbacks]

    pm = CallbackPluginManager("spikehooks")
    pm.add_hookspecs(hookspecs)
    for i, cb in enumerate(callbacks):
        pm.register(cb, name=str(i))
    hook = pm.hook.on_timestep_end
    ctx = cbl.run

    def run_dispatcher() -> None:
        for t in range(100):
            dispatch(t)

    def run_plain() -> None:
        for t in range(100):
            for f in bound:
                f(t)

    def run_pluggy() -> None:
        for t in range(100):
            hook(timestep=t, run=ctx)

    result: dict[str, Any] = {"callbacks": k}
    for label, fn in (("dispatcher", run_dispatcher), ("plain_loop", run_plain),
                      ("pluggy", run_pluggy)):
        median, _ = _per_call_ns(fn, number, repeats)
        result[f"{label}_ns_per_timestep"] = round(median / 100, 1)
    plain = result["plain_loop_ns_per_timestep"]
    result["dispatcher_vs_plain_loop"] = round(result["dispatcher_ns_per_timestep"] / plain, 3)
    result["pluggy_vs_plain_loop"] = round(result["pluggy_ns_per_timestep"] / plain, 3)
    result["uses_per_timestep_call"] = cbl.has_timestep_hooks
    return result


def measure_runtime_zero_hooks(repeats: int) -> dict[str, Any] | None:
    """Time evaluate() with no callbacks against callbacks with no timestep hook."""
    try:
        import numpy as np

        from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
        from spikehooks.connectivity import Dense
        from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 100)
        hid = Layer(Dense(rng.normal(0, 0.1, (100, 50))), LeakyIntegrateFire(), 50)
        out = Layer(Dense(rng.normal(0, 0.1, (50, 10))), LeakyIntegrate(readout="sum_var"), 10)
    del hid
    compiled = InferenceCompiler(evaluate_timesteps=100, batch_size=32).compile(network)
    x = rng.uniform(0, 1, (256, 100)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    timings: dict[str, list[float]] = {"no_callbacks": [], "batch_hook_only": []}
    with compiled:
        for _ in range(repeats):
            for label, cbs in (("no_callbacks", []), ("batch_hook_only", [BatchOnly()])):
                start = timeit.default_timer()
                compiled.evaluate({inp: x}, {out: y}, callbacks=cbs)
                timings[label].append(timeit.default_timer() - start)
    med = {k: statistics.median(v) for k, v in timings.items()}
    return {
        "examples": 256,
        "timesteps": 100,
        "no_callbacks_s": round(med["no_callbacks"], 4),
        "batch_hook_only_s": round(med["batch_hook_only"], 4),
        "ratio": round(med["batch_hook_only"] / med["no_callbacks"], 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the dispatch benchmark and return its JSON-able result."""
    parser = make_parser(__doc__.split("\n")[0])
    args = parser.parse_args(argv)
    number, repeats = (200, 5) if args.quick else (2000, 9)
    result: dict[str, Any] = {
        "benchmark": "dispatch",
        "unit": "ns per timestep (median of repeats)",
        "repeats": repeats,
        "pluggy_version": pluggy.__version__,
        "cases": [measure_dispatch(k, number, repeats) for k in (0, 1, 3, 10)],
        "target": "dispatcher within 1.3x of plain loop for k >= 1; no per-timestep call for k = 0",
    }
    result["runtime_zero_timestep_hooks"] = measure_runtime_zero_hooks(3 if args.quick else 7)
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
