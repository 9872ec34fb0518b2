"""Inference throughput of the NumPy backend against a bare NumPy loop.

Network: ``InputLayer(IntegrateFireInput(v_thresh=5.0), 784)`` -> ``Dense``
N(0, 0.05) -> ``LeakyIntegrateFire`` 128 -> ``Dense`` N(0, 0.1) ->
``LeakyIntegrate(readout="sum_var")`` 10; 1024 examples uniform in [0, 1),
100 timesteps, dt 1.0, batch 32, no callbacks.

For each accumulation mode of the backend (``"sequential"``, the default,
bit-exact with GeNN's CPU order and independent of batch size, and
``"blas"``) the same arithmetic is written out by hand as a bare loop with
no framework, and both are timed in this process with BLAS pinned to one
thread, in alternation so that both see the same machine load (one warm-up
run each, then ``repeats`` samples each).  ``ratio`` = spikehooks median wall
time / bare median wall time (target <= 1.25); ``cpu_ratio`` the same with
process CPU time, which load from other processes disturbs less.
The bare loops' readouts are checked to equal spikehooks' bit for bit.

``conv_results``: examples per second of the convolutional digits network of
``benchmarks/conv.py`` (untrained), batch 1 and 32, both accumulation modes.

Run: ``python benchmarks/inference.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks import conv
from benchmarks._common import (
    machine_info,
    make_parser,
    pin_blas_threads,
    run_as_script,
)
from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

SIZES = (784, 128, 10)
TIMESTEPS, DT, BATCH = 100, 1.0, 32


def build(num_examples: int, accumulation: str):
    """Return (compiled network, input layer, output layer, x, y)."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), SIZES[0])
        Layer(Dense(Normal(0.0, 0.05)), LeakyIntegrateFire(), SIZES[1])
        out = Layer(Dense(Normal(0.0, 0.1)), LeakyIntegrate(readout="sum_var"), SIZES[2])
    compiler = InferenceCompiler(TIMESTEPS, batch_size=BATCH, dt=DT,
                                 backend=("numpy", {"accumulation": accumulation}))
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, (num_examples, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[2], num_examples)
    return compiler.compile(network), inp, out, x, y


def _sequential_sum(spikes, table, index, rows, out, first):
    """Bare version of the backend's sequential delivery (GeNN's order)."""
    batch, num_pre = spikes.shape
    flat = np.flatnonzero(spikes)
    if not len(flat):
        out[...] = 0.0
        return
    entry = flat // num_pre
    counts = np.bincount(entry, minlength=batch)
    starts = counts.cumsum() - counts
    depth = int(counts.max())
    used = index[:depth]
    used.fill(num_pre)
    used[np.arange(len(flat)) - starts[entry], entry] = flat - entry * num_pre
    np.take(table, used, axis=0, out=rows[:depth], mode="clip")
    np.add.reduce(rows[:depth], axis=0, out=out)


def bare_loop(x: np.ndarray, w1: np.ndarray, w2: np.ndarray, sequential: bool) -> np.ndarray:
    """The same model as plain NumPy, no framework; returns the readouts (n, 10)."""
    n_in, n_hid, n_out = SIZES
    alpha = np.float32(np.exp(-DT / 20.0))
    thresh_in, thresh = np.float32(5.0), np.float32(1.0)
    table1 = np.vstack([w1, np.zeros((1, n_hid), np.float32)])
    table2 = np.vstack([w2, np.zeros((1, n_out), np.float32)])
    index1 = np.empty((n_in, BATCH), np.intp)
    index2 = np.empty((n_hid, BATCH), np.intp)
    rows1 = np.empty((n_in, BATCH, n_hid), np.float32)
    rows2 = np.empty((n_hid, BATCH, n_out), np.float32)
    v_in = np.zeros((BATCH, n_in), np.float32)
    s_in = np.zeros((BATCH, n_in), bool)
    f_in = np.zeros((BATCH, n_in), np.float32)
    v_hid = np.zeros((BATCH, n_hid), np.float32)
    s_hid = np.zeros((BATCH, n_hid), bool)
    f_hid = np.zeros((BATCH, n_hid), np.float32)
    i_hid = np.zeros((BATCH, n_hid), np.float32)
    v_out = np.zeros((BATCH, n_out), np.float32)
    i_out = np.zeros((BATCH, n_out), np.float32)
    v_sum = np.zeros((BATCH, n_out), np.float32)
    inp = np.zeros((BATCH, n_in), np.float32)
    result = []
    for start in range(0, len(x), BATCH):
        k = min(BATCH, len(x) - start)
        inp[:k] = x[start:start + k]
        inp[k:] = 0.0
        for arr in (v_in, v_hid, v_out, v_sum, f_in, f_hid, i_hid, i_out):
            arr[...] = 0.0
        s_in[...] = False
        s_hid[...] = False
        for _ in range(TIMESTEPS):
            if sequential:
                _sequential_sum(s_in, table1, index1, rows1, i_hid, 0)
                _sequential_sum(s_hid, table2, index2, rows2, i_out, 0)
            else:
                np.matmul(f_in, w1, out=i_hid)
                np.matmul(f_hid, w2, out=i_out)
            np.add(v_in, inp, out=v_in)
            np.greater_equal(v_in, thresh_in, out=s_in)
            np.copyto(v_in, 0.0, where=s_in)
            np.copyto(f_in, s_in)
            np.multiply(v_hid, alpha, out=v_hid)
            np.add(v_hid, i_hid, out=v_hid)
            np.greater_equal(v_hid, thresh, out=s_hid)
            np.subtract(v_hid, thresh, out=v_hid, where=s_hid)
            np.copyto(f_hid, s_hid)
            np.multiply(v_out, alpha, out=v_out)
            np.add(v_out, i_out, out=v_out)
            np.add(v_sum, v_out, out=v_sum)
        result.append(v_sum[:k].copy())
    return np.concatenate(result)


def measure(accumulation: str, num_examples: int, repeats: int) -> dict[str, Any]:
    """Time spikehooks and the bare loop in alternation, so both see the same machine load."""
    compiled, inp, out, x, y = build(num_examples, accumulation)
    state = compiled.backend.get_learnable_state()
    w1, w2 = state["conn0/weight"], state["conn1/weight"]
    sequential = accumulation == "sequential"
    samples: dict[str, list[tuple[float, float]]] = {"spikehooks": [], "bare_loop": []}
    with compiled:
        runs = {
            "spikehooks": lambda: compiled.evaluate({inp: x}, {out: y}, callbacks=[]),
            "bare_loop": lambda: bare_loop(x, w1, w2, sequential),
        }
        for fn in runs.values():  # warm-up
            fn()
        for _ in range(repeats):
            for name, fn in runs.items():
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        predictions, _ = compiled.predict({inp: x}, out, callbacks=[])
    bare_readout = bare_loop(x, w1, w2, sequential)
    result: dict[str, Any] = {}
    for name, pairs in samples.items():
        wall_s = [w for w, _ in pairs]
        cpu_s = [c for _, c in pairs]
        result[name] = {"median_s": statistics.median(wall_s), "samples_s": wall_s,
                        "cpu_median_s": statistics.median(cpu_s), "cpu_samples_s": cpu_s}
        result[f"{name}_examples_per_s"] = num_examples / statistics.median(wall_s)
    ours, bare = result["spikehooks"], result["bare_loop"]
    result["ratio"] = ours["median_s"] / bare["median_s"]
    # CPU time is what a busy shared machine disturbs least (BLAS runs on this thread).
    result["cpu_ratio"] = ours["cpu_median_s"] / bare["cpu_median_s"]
    result["readouts_match_bare_loop"] = bool(np.array_equal(predictions[out], bare_readout))
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    num_examples, repeats = (128, 3) if args.quick else (1024, 5)
    with pin_blas_threads(1) as blas:
        results = {mode: measure(mode, num_examples, repeats)
                   for mode in ("sequential", "blas")}
        conv_results = conv.inference_figures(args.quick)
    return {
        "benchmark": "inference",
        "network": "IFInput 784 -> Dense -> LIF 128 -> Dense -> LI 10 (sum_var)",
        "num_examples": num_examples,
        "timesteps": TIMESTEPS,
        "batch_size": BATCH,
        "repeats": repeats,
        "blas_threads": 1,
        "blas": blas,
        "target_ratio": 1.25,
        "default_accumulation": "sequential",
        "results": results,
        "conv_network": "latency digits 8x8x1 -> Conv2D(16, 3) LIF -> AvgPool2D(2) LIF -> "
                        "Dense -> LI 10 (avg_var), 20 steps (see benchmarks/conv.py)",
        "conv_results": conv_results,
        "machine": machine_info(),
    }


if __name__ == "__main__":
    run_as_script(main)
