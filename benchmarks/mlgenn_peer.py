"""spikehooks' default backend side by side with a peer mlGeNN on GeNN's CPU backend.

Optional: it needs mlGeNN (``ml_genn``) and GeNN's ``pygenn`` installed in
the same environment as spikehooks; without them it prints a JSON note
saying why nothing was measured.

Both libraries build the same networks from the same class names, with
**the same weight arrays** passed to ``Dense`` and the same inputs:

- ``inference``: ``IntegrateFireInput(v_thresh=5.0)`` 784 -> ``Dense``
  N(0, 0.05) -> ``LeakyIntegrateFire()`` 128 -> ``Dense`` N(0, 0.1) ->
  ``LeakyIntegrate(readout="sum_var")`` 10, examples uniform in [0, 1),
  100 steps of 1 ms;
- ``yin_yang``: one training epoch of mlGeNN's EventProp Yin-Yang example
  network (``SpikeInput`` 5 -> LIF 100 -> LIF 3 with ``first_spike_time``,
  ``Exponential(5.0)``, ``RelativeMeanSquareError(1.0)``,
  ``Adam(0.003, 0.9, 0.99)``) at dt 0.1 ms, 300 steps, ``shuffle=False``.

mlGeNN runs at batch 1 (GeNN's CPU backend refuses larger batches), also
with GeNN's ``optimize_code`` for inference; spikehooks runs its default
(compiled) backend with ``num_threads=1`` at batch 1 and 32. GeNN's code
generation, compilation and loading and spikehooks' first call (numba JIT)
are timed separately (``build_s``, ``first_call_s``); the timed calls
alternate between configurations round by round, and each figure is the
median wall time in seconds, with process CPU time beside it. ``ratios``
are mlGeNN's median divided by spikehooks' (above 1: spikehooks is faster).

Run: ``python benchmarks/mlgenn_peer.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import machine_info, make_parser, pin_blas_threads, run_as_script
from spikehooks.data import generate_yin_yang_dataset

YY_DT, YY_STEPS = 0.1, 300
_NAMES = {
    "": ("InputLayer", "Layer", "SequentialNetwork"),
    "compilers": ("InferenceCompiler", "EventPropCompiler"),
    "compilers.event_prop_compiler": ("default_params",),
    "connectivity": ("Dense",),
    "neurons": ("IntegrateFireInput", "LeakyIntegrate", "LeakyIntegrateFire", "SpikeInput"),
    "losses": ("RelativeMeanSquareError",),
    "optimisers": ("Adam",),
    "synapses": ("Exponential",),
}


def _library(package: str) -> SimpleNamespace:
    """Return the classes the benchmark uses from ``ml_genn`` or ``spikehooks``."""
    names: dict[str, Any] = {}
    for sub, attrs in _NAMES.items():
        module = importlib.import_module(f"{package}.{sub}" if sub else package)
        names.update({a: getattr(module, a) for a in attrs})
    data = importlib.import_module("ml_genn.utils.data" if package == "ml_genn"
                                   else "spikehooks.data")
    names["PreprocessedSpikes"] = data.PreprocessedSpikes
    return SimpleNamespace(**names)


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    """Work in ``path`` (GeNN generates and builds its code in the working folder).

    GeNN's build (``make``) writes to file descriptor 1: it is sent to
    stderr meanwhile, so that stdout carries only the JSON result.
    """
    old = os.getcwd()
    path.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _inference(lib: SimpleNamespace, data: dict, batch: int,
               kw: dict) -> tuple[Any, Callable[[], Any]]:
    """Compile the inference network; return a call evaluating every example."""
    net = lib.SequentialNetwork()
    with net:
        inp = lib.InputLayer(lib.IntegrateFireInput(v_thresh=5.0), 784)
        lib.Layer(lib.Dense(data["w1"]), lib.LeakyIntegrateFire(), 128)
        out = lib.Layer(lib.Dense(data["w2"]), lib.LeakyIntegrate(readout="sum_var"), 10)
    compiled = lib.InferenceCompiler(evaluate_timesteps=100, batch_size=batch, **kw).compile(net)
    x, y = data["x"], data["y"]
    return compiled, lambda: compiled.evaluate({inp: x}, {out: y}, callbacks=[])


def _yin_yang(lib: SimpleNamespace, data: dict, batch: int,
              kw: dict) -> tuple[Any, Callable[[], Any]]:
    """Compile the Yin-Yang EventProp network; return a call training one epoch."""
    w1, w2 = data["yy_w1"], data["yy_w2"]
    net = lib.SequentialNetwork(lib.default_params)
    with net:
        inp = lib.InputLayer(lib.SpikeInput(max_spikes=batch * w1.shape[0]), w1.shape[0])
        lif = {"v_thresh": 1.0, "tau_mem": 20.0, "tau_refrac": None}
        lib.Layer(lib.Dense(w1), lib.LeakyIntegrateFire(**lif), 100, lib.Exponential(5.0))
        out = lib.Layer(lib.Dense(w2), lib.LeakyIntegrateFire(**lif, readout="first_spike_time"),
                        3, lib.Exponential(5.0))
    compiled = lib.EventPropCompiler(
        example_timesteps=YY_STEPS, losses=lib.RelativeMeanSquareError(1.0),
        optimiser=lib.Adam(0.003, 0.9, 0.99), batch_size=batch, softmax_temperature=0.5,
        ttfs_alpha=0.1, dt=YY_DT, **kw).compile(net)
    x = [lib.PreprocessedSpikes(np.asarray(e, np.int64), np.asarray(t, np.float32))
         for e, t in data["yy_x"]]
    y = data["yy_y"]
    return compiled, lambda: compiled.train({inp: x}, {out: y}, num_epochs=1, shuffle=False,
                                            callbacks=[])


def _data(num_inference: int, num_yin_yang: int) -> dict[str, Any]:
    """Weights and inputs shared by both libraries (seed 0)."""
    rng = np.random.default_rng(0)
    x, y = generate_yin_yang_dataset(num_yin_yang, 30.0 - 4 * YY_DT, 2 * YY_DT, seed=0)
    num_in = len(x[0].end_spikes)
    return {
        "w1": rng.normal(0, 0.05, (784, 128)).astype(np.float32),
        "w2": rng.normal(0, 0.1, (128, 10)).astype(np.float32),
        "x": rng.uniform(0, 1, (num_inference, 784)).astype(np.float32),
        "y": rng.integers(0, 10, num_inference),
        "yy_x": [(s.end_spikes, s.spike_times) for s in x], "yy_y": np.asarray(y),
        "yy_w1": rng.normal(1.5, 0.78, (num_in, 100)).astype(np.float32),
        "yy_w2": rng.normal(0.93, 0.1, (100, 3)).astype(np.float32),
    }


CONFIGS = (  # name, task, library, batch size, compiler keywords
    ("mlgenn_inference_b1", _inference, "ml_genn", 1, {}),
    ("spikehooks_inference_b1", _inference, "spikehooks", 1, None),
    ("mlgenn_optimized_inference_b1", _inference, "ml_genn", 1, {"optimize_code": True}),
    ("spikehooks_inference_b32", _inference, "spikehooks", 32, None),
    ("mlgenn_yin_yang_b1", _yin_yang, "ml_genn", 1, {}),
    ("spikehooks_yin_yang_b1", _yin_yang, "spikehooks", 1, None),
    ("spikehooks_yin_yang_b32", _yin_yang, "spikehooks", 32, None),
)
RATIOS = {
    "inference_b1": ("mlgenn_inference_b1", "spikehooks_inference_b1"),
    "inference_b32": ("mlgenn_inference_b1", "spikehooks_inference_b32"),
    "inference_b1_vs_optimized": ("mlgenn_optimized_inference_b1", "spikehooks_inference_b1"),
    "inference_b32_vs_optimized": ("mlgenn_optimized_inference_b1", "spikehooks_inference_b32"),
    "yin_yang_b1": ("mlgenn_yin_yang_b1", "spikehooks_yin_yang_b1"),
    "yin_yang_b32": ("mlgenn_yin_yang_b1", "spikehooks_yin_yang_b32"),
}


def _measure(folder: Path, data: dict, repeats: int) -> dict[str, Any]:
    """Build every configuration, then time them alternately ``repeats`` times.

    mlGeNN allows one entered compiled network at a time, so every
    configuration is entered (GeNN: build if needed, then load) and left
    around its calls, outside the timed region.
    """
    libs = {name: _library(name) for name in ("ml_genn", "spikehooks")}
    nets: dict[str, tuple[Path, Any, Callable[[], Any]]] = {}
    figures: dict[str, dict[str, Any]] = {}
    for name, task, package, batch, kw in CONFIGS:
        kw = {"backend": ("compiled", {"num_threads": 1})} if kw is None else kw
        with _cwd(folder / name):
            start = time.perf_counter()
            compiled, call = task(libs[package], data, batch, kw)
            with compiled:  # GeNN generates, builds and loads its code here
                build = time.perf_counter() - start
                start = time.perf_counter()
                call()  # spikehooks' first call compiles (or loads) the numba kernels
                first = time.perf_counter() - start
        nets[name] = (folder / name, compiled, call)
        figures[name] = {"build_s": build, "first_call_s": first, "wall": [], "cpu": []}
    for _ in range(repeats):
        for name, (where, compiled, call) in nets.items():
            with _cwd(where), compiled:
                wall, cpu = time.perf_counter(), time.process_time()
                call()
                figures[name]["cpu"].append(time.process_time() - cpu)
                figures[name]["wall"].append(time.perf_counter() - wall)
    for fig in figures.values():
        fig["median_s"] = statistics.median(fig["wall"])
        fig["median_cpu_s"] = statistics.median(fig["cpu"])
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    num_inference, num_yin_yang, repeats = (64, 64, 2) if args.quick else (1024, 1536, 5)
    result: dict[str, Any] = {
        "benchmark": "mlgenn_peer", "inference_examples": num_inference,
        "yin_yang_examples": num_yin_yang, "repeats": repeats,
        "spikehooks_backend": "compiled, num_threads=1", "mlgenn_backend": "GeNN CPU, batch 1",
    }
    missing = [m for m in ("ml_genn", "pygenn") if importlib.util.find_spec(m) is None]
    if missing:
        return {**result, "skipped": True,
                "reason": f"{' and '.join(missing)} not installed: this benchmark compares "
                          "spikehooks with a peer mlGeNN on GeNN's CPU backend and needs both "
                          "in the same environment"}
    data = _data(num_inference, num_yin_yang)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="spikehooks-mlgenn-peer-") as tmp, \
            pin_blas_threads(1) as blas:
        figures = _measure(Path(tmp), data, repeats)
    ratios = {k: figures[a]["median_s"] / figures[b]["median_s"] for k, (a, b) in RATIOS.items()}
    return {**result, "run": figures, "ratios": ratios, "blas_threads": 1, "blas": blas,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "machine": machine_info()}


if __name__ == "__main__":
    run_as_script(main)
