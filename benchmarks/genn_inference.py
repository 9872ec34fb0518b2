"""Inference on the genn backend (GeNN's single-threaded CPU code) against the NumPy backend.

Network: the inference benchmark's, ``InputLayer(IntegrateFireInput(v_thresh=5.0),
784, record_spikes=True)`` -> ``Dense`` N(0, 0.05) -> ``LeakyIntegrateFire`` 128
(``record_spikes=True``) -> ``Dense`` N(0, 0.1) -> ``LeakyIntegrate(readout="sum_var")``
10; examples uniform in [0, 1), 100 timesteps, dt 1.0, batch size 1 (GeNN's
CPU backend simulates one example at a time), BLAS pinned to one thread.

Reported separately:

- ``build``: compiling the network with an empty build cache (``cold``:
  GeNN generates and compiles C++) and again with the cache filled
  (``warm``: nothing is rebuilt), each split into code generation plus
  compilation (``build_s``) and loading (``load_s``);
- ``run``: ``evaluate`` with no callbacks on both backends, on genn also
  with GeNN's ``optimize_code`` preference (``-O3 -ffast-math``; off by
  default since it gives up bit-exactness in general) and with a
  SpikeRecorder on the input and hidden layers (CPU time of this process,
  as in ``recording.py``); ``readouts_match`` says whether the backends gave
  the same readouts bit for bit.

Needs pygenn (built from GeNN's source, see docs/genn-backend.md); without
it the result is a JSON note saying why nothing was measured.

Run: ``python benchmarks/genn_inference.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import Timing, machine_info, make_parser, pin_blas_threads, run_as_script
from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

SIZES = (784, 128, 10)
TIMESTEPS, DT = 100, 1.0


def build(backend: Any):
    """Return (compiled network, wall seconds to compile, input, hidden, output layers)."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), SIZES[0], record_spikes=True)
        hidden = Layer(Dense(Normal(0.0, 0.05)), LeakyIntegrateFire(), SIZES[1],
                       record_spikes=True)
        out = Layer(Dense(Normal(0.0, 0.1)), LeakyIntegrate(readout="sum_var"), SIZES[2])
    start = time.perf_counter()
    compiled = InferenceCompiler(TIMESTEPS, batch_size=1, dt=DT, backend=backend).compile(network)
    return compiled, time.perf_counter() - start, inp, hidden, out


def _cpu_times(fn: Callable[[], object], repeats: int) -> tuple[Timing, Timing]:
    """Return (CPU time, wall time) of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return Timing(statistics.median(cpu), cpu), Timing(statistics.median(wall), wall)


def _build_figures(cache: Path) -> dict[str, Any]:
    figures = {}
    for phase in ("cold", "warm"):
        compiled, wall, *_ = build(("genn", {"cache_dir": cache}))
        backend = compiled.backend
        figures[phase] = {"compile_wall_s": wall, "build_s": backend.build_seconds,
                          "load_s": backend.load_seconds}
        # A live model holds its build folder; free it so the warm compile can reuse it.
        del compiled, backend
        gc.collect()
    return figures


def _run_figures(cache: Path, num_examples: int, repeats: int) -> dict[str, Any]:
    from spikehooks_recorders import SpikeRecorder

    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, (num_examples, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[2], num_examples)
    results: dict[str, Any] = {}
    readouts = {}
    specs = {"numpy": "numpy", "genn": ("genn", {"cache_dir": cache}),
             "genn_optimized": ("genn", {"cache_dir": cache,
                                         "genn_preferences": {"optimize_code": True}})}
    for name, spec in specs.items():
        compiled, _, inp, hidden, out = build(spec)
        configs = {"none": list}
        if name == "genn":
            configs["spikes"] = lambda i=inp, h=hidden: [SpikeRecorder(i, key="si"),
                                                         SpikeRecorder(h, key="sh")]
        with compiled:
            for config, make in configs.items():
                cpu, wall = _cpu_times(
                    lambda c=compiled, i=inp, o=out, m=make: c.evaluate(
                        {i: x}, {o: y}, callbacks=m()), repeats)
                results[f"{name}_{config}"] = {
                    "cpu": cpu.as_dict(), "wall": wall.as_dict(),
                    "examples_per_s": num_examples / wall.median_s}
            readouts[name] = compiled.predict({inp: x}, out, callbacks=[])[0][out]
    results["genn_speedup_over_numpy"] = (results["numpy_none"]["wall"]["median_s"]
                                          / results["genn_none"]["wall"]["median_s"])
    results["genn_spike_recording_cpu_overhead"] = (
        results["genn_spikes"]["cpu"]["median_s"] / results["genn_none"]["cpu"]["median_s"] - 1)
    results["genn_optimized_speedup_over_numpy"] = (
        results["numpy_none"]["wall"]["median_s"]
        / results["genn_optimized_none"]["wall"]["median_s"])
    results["readouts_match"] = {name: bool(np.array_equal(readouts["numpy"], readouts[name]))
                                 for name in ("genn", "genn_optimized")}
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    num_examples, repeats = (16, 2) if args.quick else (256, 5)
    result: dict[str, Any] = {
        "benchmark": "genn_inference",
        "network": "IFInput 784 -> Dense -> LIF 128 -> Dense -> LI 10 (sum_var)",
        "num_examples": num_examples, "timesteps": TIMESTEPS, "batch_size": 1,
        "repeats": repeats, "genn_backend": "single_threaded_cpu",
    }
    if importlib.util.find_spec("pygenn") is None:
        return {**result, "skipped": True, "reason": "pygenn is not installed (it is built "
                "from GeNN's source; see docs/genn-backend.md)"}
    import pygenn

    with tempfile.TemporaryDirectory(prefix="spikehooks-genn-bench-") as tmp, \
            pin_blas_threads(1) as blas:
        cache = Path(tmp)
        result["build"] = _build_figures(cache)
        result["run"] = _run_figures(cache, num_examples, repeats)
    return {**result, "pygenn": pygenn.__version__, "blas_threads": 1, "blas": blas,
            "machine": machine_info()}


if __name__ == "__main__":
    run_as_script(main)
