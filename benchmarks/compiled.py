"""The default (compiled) backend against the NumPy backend, side by side in one run.

Workloads (issue 14):

- inference: 784-128-10 (IF input, LIF, LI sum_var), 100 steps, dt 1, uniform
  inputs, at batch 1 (on ``--inference-examples-b1`` examples, default 128)
  and batch 32 (1,024 examples);
- training: EventProp on Yin-Yang (5-100-3 LIF, first_spike_time,
  RelativeMeanSquareError), dt 0.1, 300 steps, at batch 1 (on 64 examples)
  and batch 32 (512 examples); one epoch of ``train`` per sample.

Both backends at their defaults (NumPy: ``accumulation="sequential"``, its
default), single-threaded: BLAS pinned to one thread and the compiled
backend given ``num_threads=1``.  The two run in alternation after one
warm-up each (which also compiles or loads the kernels), so both see the
same machine load; ``ratio`` is the median wall time of the default backend
over the NumPy backend's, ``cpu_ratio`` the same with process CPU time.

Also measured: the compiled backend's speed-up from 1 to 2 threads at batch
32; the first-call JIT time (a fresh process with an empty kernel cache)
against a second process that loads the cache; and the distance to the
arithmetic limit: the inference run's event-driven multiply-adds (spikes x
fan-out) divided by this machine's single-core float32 multiply-add rate,
against the measured time.

Run: ``python benchmarks/compiled.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks import training as training_bench
from benchmarks._common import machine_info, make_parser, pin_blas_threads, run_as_script
from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import EventPropCompiler
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

SIZES = (784, 128, 10)
STEPS = 100
NUMPY = ("numpy", {})


def compiled_spec(threads: int) -> tuple[str, dict]:
    return ("compiled", {"num_threads": threads})


def inference_net(backend: Any, batch: int, num: int):
    """Return (compiled network, input, output, x, y) of the 784-128-10 run."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), SIZES[0])
        Layer(Dense(Normal(0.0, 0.05)), LeakyIntegrateFire(), SIZES[1])
        out = Layer(Dense(Normal(0.0, 0.1)), LeakyIntegrate(readout="sum_var"), SIZES[2])
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, (num, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[2], num)
    compiler = InferenceCompiler(STEPS, batch_size=batch, backend=backend)
    return compiler.compile(network), inp, out, x, y


def training_net(backend: Any, batch: int, num: int):
    """Return (compiled network, input, output, x, y) of the Yin-Yang EventProp run."""
    original = EventPropCompiler.__init__

    def with_backend(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["backend"] = backend
        original(self, *args, **kwargs)

    EventPropCompiler.__init__ = with_backend  # type: ignore[method-assign]
    try:
        return training_bench._yin_yang(batch, num)
    finally:
        EventPropCompiler.__init__ = original  # type: ignore[method-assign]


def _clocks(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def side_by_side(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, Any]:
    """Time each run ``repeats`` times in alternation, after one warm-up each."""
    for fn in runs.values():
        fn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            samples[name].append(_clocks(fn))
    return {name: {"wall_median_s": statistics.median(w for w, _ in s),
                   "cpu_median_s": statistics.median(c for _, c in s),
                   "wall_samples_s": [w for w, _ in s]} for name, s in samples.items()}


def _inference_runner(backend: Any, batch: int, num: int) -> tuple[Callable[[], object], Any]:
    compiled, inp, out, x, y = inference_net(backend, batch, num)
    compiled.__enter__()
    return (lambda: compiled.evaluate({inp: x}, {out: y}, callbacks=[])), compiled


def _training_runner(backend: Any, batch: int, num: int) -> tuple[Callable[[], object], Any]:
    compiled, inp, out, x, y = training_net(backend, batch, num)
    compiled.__enter__()
    state = compiled.state_dict()

    def run() -> None:
        # Every sample trains the same epoch from the same weights.
        compiled.load_state_dict(state)
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])

    return run, compiled


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def ratio_case(kind: str, batch: int, num: int, repeats: int) -> dict[str, Any]:
    """Default (compiled, 1 thread) against NumPy on the same examples."""
    runner = _inference_runner if kind == "inference" else _training_runner
    default_fn, default_net = runner(compiled_spec(1), batch, num)
    numpy_fn, numpy_net = runner(NUMPY, batch, num)
    load_before = load_average()
    timed = side_by_side({"default": default_fn, "numpy": numpy_fn}, repeats)
    result = {"kind": kind, "batch_size": batch, "examples": num, "repeats": repeats,
              "load_average": {"before": load_before, "after": load_average()},
              "timed": timed,
              "ratio": timed["default"]["wall_median_s"] / timed["numpy"]["wall_median_s"],
              "cpu_ratio": timed["default"]["cpu_median_s"] / timed["numpy"]["cpu_median_s"]}
    if kind == "training":
        same = [np.max(np.abs(default_net.backend.get_learnable_state()[key] - value))
                for key, value in numpy_net.backend.get_learnable_state().items()]
        result["max_weight_difference"] = float(max(same))
    return result


def thread_speedup(kind: str, num: int, repeats: int) -> dict[str, Any]:
    """Compiled backend at batch 32: 1 thread against 2 threads."""
    runner = _inference_runner if kind == "inference" else _training_runner
    one, _ = runner(compiled_spec(1), 32, num)
    two, _ = runner(compiled_spec(2), 32, num)
    load_before = load_average()
    timed = side_by_side({"1": one, "2": two}, repeats)
    return {"kind": kind, "batch_size": 32, "examples": num,
            "speedup": timed["1"]["wall_median_s"] / timed["2"]["wall_median_s"],
            "load_average": {"before": load_before, "after": load_average()},
            "timed": timed}


def event_macs(num: int) -> int:
    """Spikes x fan-out of the inference run on ``num`` examples."""
    compiled, inp, out, x, _ = inference_net(compiled_spec(1), 32, num)
    hidden = compiled.network.populations[1]
    total = 0
    with compiled:
        backend = compiled.backend
        for start in range(0, num, 32):
            counts = [0, 0]

            def count(t: int, counts: list = counts) -> None:
                k = backend.num_examples_in_batch
                counts[0] += int(backend.get_spike_mask(inp)[:k].sum())
                counts[1] += int(backend.get_spike_mask(hidden)[:k].sum())

            backend.reset()
            compiled.set_input({inp: x[start:start + 32]})
            # Step by step (a step observer) to count every step's spikes.
            backend.add_step_observer(count)
            backend.run(STEPS)
            backend.remove_step_observer(count)
            total += counts[0] * SIZES[1] + counts[1] * SIZES[2]
    return total


def fma_rate() -> dict[str, float]:
    """Measured single-core float32 multiply-add rates (per second, best of 7 samples).

    ``axpy``: ``y += a * x`` over an L1-resident vector, the delivery loop's
    pattern, compiled with numba; ``sgemm``: a 512x512 float32 matrix product
    on one BLAS thread (near the core's peak).
    """
    from numba import njit

    @njit(cache=False)
    def axpy(y: np.ndarray, x: np.ndarray, repeats: int) -> None:
        for _ in range(repeats):
            for j in range(y.shape[0]):
                y[j] = y[j] + x[j] * np.float32(1.0000001)

    y, x = np.zeros(2048, np.float32), np.ones(2048, np.float32)
    axpy(y, x, 1)
    a = np.ones((512, 512), np.float32)
    a @ a
    # The machine is shared: the fastest of several samples is the core's rate.
    axpy_times, sgemm_times = [], []
    for _ in range(7):
        start = time.perf_counter()
        axpy(y, x, 5000)
        axpy_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(3):
            a @ a
        sgemm_times.append(time.perf_counter() - start)
    axpy_rate = 2048 * 5000 / min(axpy_times)
    sgemm_rate = 3 * 512 ** 3 / min(sgemm_times)
    return {"axpy_macs_per_s": axpy_rate, "sgemm_macs_per_s": sgemm_rate}


_JIT_CODE = """
import time, numpy as np
from benchmarks.compiled import inference_net, compiled_spec
start = time.perf_counter()
net, inp, out, x, y = inference_net(compiled_spec(1), 1, 1)
with net:
    net.evaluate({inp: x}, {out: y}, callbacks=[])
print(time.perf_counter() - start)
"""


def jit_times() -> dict[str, float]:
    """First call in a process with an empty kernel cache, then in one that loads it."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS="2")
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", _JIT_CODE], cwd=root, env=env,
                                 capture_output=True, text=True, check=True)
            times.append(float(out.stdout.split()[-1]))
    return {"first_process_s": times[0], "second_process_s": times[1]}


def _numba_version() -> str | None:
    try:
        import numba
    except ImportError:  # reported, not required
        return None
    return str(numba.__version__)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--inference-examples-b1", type=int, default=128)
    args = parser.parse_args(argv)
    quick = args.quick
    repeats = 1 if quick else 5
    n_inf_b1 = 16 if quick else args.inference_examples_b1
    n_inf_b32 = 64 if quick else 1024
    n_tr_b1 = 8 if quick else 64
    n_tr_b32 = 64 if quick else 512
    with pin_blas_threads(1) as blas:
        ratios = [
            ratio_case("inference", 1, n_inf_b1, repeats),
            ratio_case("inference", 32, n_inf_b32, repeats),
            ratio_case("training", 1, n_tr_b1, repeats),
            ratio_case("training", 32, n_tr_b32, repeats),
        ]
        threads = [thread_speedup("inference", n_inf_b32, repeats),
                   thread_speedup("training", n_tr_b32, repeats)]
        macs = event_macs(n_inf_b32)
        rates = fma_rate()
    b32 = ratios[1]["timed"]["default"]
    limit_s = macs / rates["axpy_macs_per_s"]
    bars = {"inference_b1": 0.12, "inference_b32": 0.3, "training_b1": 0.03,
            "training_b32": 0.09}
    summary = {}
    for case in ratios:
        name = f"{case['kind']}_b{case['batch_size']}"
        summary[name] = {"ratio": round(case["ratio"], 4),
                         "cpu_ratio": round(case["cpu_ratio"], 4),
                         "bar": bars[name], "met": case["ratio"] <= bars[name],
                         "load_average": case["load_average"]}
    for case in threads:
        summary[f"{case['kind']}_b32_speedup_1_to_2_threads"] = {
            "speedup": round(case["speedup"], 3), "load_average": case["load_average"]}
    summary["inference_b32_measured_over_arithmetic_limit"] = round(
        b32["wall_median_s"] / limit_s, 2)
    return {
        "summary": summary,
        "quick": quick,
        "blas": blas,
        "machine": machine_info(),
        "ratios": ratios,
        "bars": bars,
        "numba": _numba_version(),
        "thread_speedup": threads,
        "jit": jit_times(),
        "arithmetic_limit": {
            "event_macs": macs, "examples": n_inf_b32, **rates,
            "limit_s_at_axpy_rate": limit_s,
            "limit_s_at_sgemm_rate": macs / rates["sgemm_macs_per_s"],
            "measured_wall_s_batch32": b32["wall_median_s"],
            "measured_over_limit": b32["wall_median_s"] / limit_s,
        },
    }


if __name__ == "__main__":
    run_as_script(main)
