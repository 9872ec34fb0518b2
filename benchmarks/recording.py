"""Cost of recording on the inference benchmark network.

Network: ``InputLayer(IntegrateFireInput(v_thresh=5.0), 784)`` -> Dense
N(0, 0.05) -> LIF 128 -> Dense N(0, 0.1) -> LeakyIntegrate(readout="sum_var")
10; 1024 examples drawn uniform in [0, 1), 100 timesteps, dt 1 ms, batch 32,
on the numpy backend.  Input and hidden layer are built with
``record_spikes=True`` in every configuration, so the baseline includes the
backend's own recording buffers and the figures isolate the recorders.

Configurations, each the median of several ``evaluate`` calls (rounds
interleave the configurations; a first round warms up):

- ``none``: no callbacks;
- ``spikes``: SpikeRecorder on input and hidden, every example;
- ``var``: VarRecorder on the hidden ``v``, every example;
- ``stream``: the two SpikeRecorders streaming to ``.npy`` files (``to=``).

Overheads compare CPU time of this process (``time.process_time``; BLAS is
pinned to one thread, so it is the work done): on a shared machine wall time
swings by 2x between identical runs.  Wall times are reported too.  Also
reports the bytes held per recorded spike and the CPU time to read every
recorded spike back (dense batches are held as packed bits and decoded on
reading).  Targets: spikes at most
+15 %, VarRecorder at most +30 %, at most 12 bytes per spike.

Run: ``python benchmarks/recording.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import Timing, make_parser, pin_blas_threads, run_as_script

TARGETS = {"spikes_overhead": 0.15, "var_overhead": 0.30, "bytes_per_spike": 12.0}


def build(num_timesteps: int, batch_size: int) -> tuple[Any, Any, Any, Any]:
    """Return ``(compiled_net, input, hidden, output)`` of the benchmark network."""
    from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
    from spikehooks.connectivity import Dense
    from spikehooks.initializers import Normal
    from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 784, record_spikes=True)
        hidden = Layer(Dense(Normal(sd=0.05)), LeakyIntegrateFire(tau_mem=20.0), 128,
                       record_spikes=True)
        out = Layer(Dense(Normal(sd=0.1)), LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 10)
    compiler = InferenceCompiler(evaluate_timesteps=num_timesteps, batch_size=batch_size,
                                 dt=1.0)
    return compiler.compile(network), inp, hidden, out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Time evaluate() with and without recorders; return the figures."""
    from spikehooks_recorders import SpikeRecorder, VarRecorder

    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    num_examples = 128 if args.quick else 1024
    repeats = 2 if args.quick else 5
    num_timesteps, batch_size = 100, 32
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (num_examples, 784)).astype(np.float32)
    y = rng.integers(0, 10, num_examples)
    compiled, inp, hidden, out = build(num_timesteps, batch_size)
    recorders: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="spikehooks-bench-") as tmp:
        folder = Path(tmp)
        configs = {
            "none": lambda: [],
            "spikes": lambda: [SpikeRecorder(inp, key="si"), SpikeRecorder(hidden, key="sh")],
            "var": lambda: [VarRecorder(hidden, "v", key="vh")],
            # Each round is a new run replacing the previous round's recordings.
            "stream": lambda: [SpikeRecorder(inp, key="si", to=folder / "si", overwrite=True),
                               SpikeRecorder(hidden, key="sh", to=folder / "sh",
                                             overwrite=True)],
        }
        samples: dict[str, list[float]] = {name: [] for name in configs}
        wall: dict[str, list[float]] = {name: [] for name in configs}
        with pin_blas_threads(1) as blas, compiled:
            # Rounds interleave the configurations, so drift in machine load hits all alike.
            for round_ in range(repeats + 1):
                for name, make in configs.items():
                    recorders[name] = make()
                    cpu, start = time.process_time(), time.perf_counter()
                    compiled.evaluate({inp: x}, {out: y}, callbacks=recorders[name])
                    if round_:  # round 0 warms up
                        samples[name].append(time.process_time() - cpu)
                        wall[name].append(time.perf_counter() - start)
        timings = {name: Timing(statistics.median(v), v).as_dict() for name, v in samples.items()}
        wall_timings = {name: Timing(statistics.median(v), v).as_dict()
                        for name, v in wall.items()}
    spike_recs = recorders["spikes"]
    # Dense batches are held as packed bits and decoded when read: time that too.
    cpu = time.process_time()
    for rec in spike_recs:
        times, ids = rec.get_data()[1]
        for _ in zip(times, ids, strict=True):
            pass
    read_all_s = time.process_time() - cpu
    spikes = sum(sum(len(t) for t in rec.get_data()[1][0]) for rec in spike_recs)
    nbytes = sum(rec.held_bytes for rec in spike_recs)
    held = {"spikes": spikes, "bytes": nbytes, "bytes_per_spike": nbytes / spikes,
            "per_recorder": {rec.key: {"bytes": rec.held_bytes} for rec in spike_recs}}
    base = timings["none"]["median_s"]
    overhead = {name: timings[name]["median_s"] / base - 1.0 for name in timings if name != "none"}
    return {
        "benchmark": "recording",
        "quick": args.quick,
        "num_examples": num_examples,
        "num_timesteps": num_timesteps,
        "batch_size": batch_size,
        "blas": blas,
        "timings_cpu": timings,
        "timings_wall": wall_timings,
        "overhead": overhead,
        "memory": held,
        "read_all_spikes_cpu_s": read_all_s,
        "targets": TARGETS,
        "meets_targets": {
            "spikes": overhead["spikes"] <= TARGETS["spikes_overhead"],
            "var": overhead["var"] <= TARGETS["var_overhead"],
            "bytes_per_spike": held["bytes_per_spike"] <= TARGETS["bytes_per_spike"],
        },
    }


if __name__ == "__main__":
    run_as_script(main)
