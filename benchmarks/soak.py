"""Soak: one long evaluation streaming spikes and a variable to disk; does memory stay flat?

Network: ``InputLayer(IntegrateFireInput(v_thresh=1.0), 20)`` -> Dense
N(0.02, 0.1) -> ``LeakyIntegrateFire(tau_mem=20.0)`` 10 (``record_spikes=True``)
-> Dense N(0, 0.3) -> ``LeakyIntegrate(readout="sum_var")`` 2; batch 8,
20 timesteps of 1 ms, numpy backend, BLAS pinned to one thread.  One
``evaluate`` call runs every batch with a ``SpikeRecorder`` on the hidden
layer and a ``VarRecorder`` of the output's ``v``, both streaming to a
temporary folder (``to=``), and a sampler callback reading the resident set
size (psutil) every ``--every`` batches.

Reported: RSS after warm-up (the first sample at or after ``--warmup``
batches), the largest RSS after it, the least-squares slope of RSS over
batch after warm-up (bytes per 1000 batches), and ``within_bound``: whether
every sample after warm-up stayed below warm-up RSS + ``--bound-mib`` MiB.
The streamed folders are opened at the end and their entry counts checked
against the number of examples.

Each batch commits both recordings durably (every file fsync'ed, then an
atomic ``state.json``), so on a disk the fsyncs, not the simulation, set the
pace: between 5 and 60 ms per batch on the 2-core development machine's
disk, depending on what else runs there, against 2 ms on a RAM-backed
folder.  10^5 batches took 8 minutes there at a quiet time and would take
most of an hour at a busy one, so the default is 10^4 batches (1 to 5
minutes); ``--batches 100000`` runs the long soak (about 4 minutes with
``--dir`` on a RAM-backed folder, tmpfs).

Run: ``python benchmarks/soak.py [--quick] [--batches N] [--dir FOLDER]``;
prints JSON.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import (
    machine_info,
    make_parser,
    pin_blas_threads,
    run_as_script,
    write_json,
)

BATCH_SIZE = 8
TIMESTEPS = 20
DEFAULT_BATCHES = 10000
QUICK_BATCHES = 2000
BOUND_MIB = 20.0


def build() -> tuple[Any, Any, Any, Any]:
    """Return ``(compiled_net, input, hidden, output)`` of the 20-10-2 soak network."""
    from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
    from spikehooks.connectivity import Dense
    from spikehooks.initializers import Normal
    from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 20, name="input")
        hidden = Layer(Dense(Normal(mean=0.02, sd=0.1)), LeakyIntegrateFire(tau_mem=20.0), 10,
                       record_spikes=True, name="hidden")
        out = Layer(Dense(Normal(sd=0.3)), LeakyIntegrate(readout="sum_var"), 2, name="output")
    compiler = InferenceCompiler(evaluate_timesteps=TIMESTEPS, batch_size=BATCH_SIZE)
    return compiler.compile(network), inp, hidden, out


def _slope_per_1000(batches: np.ndarray, rss: np.ndarray) -> float:
    """Least-squares slope of ``rss`` (bytes) over ``batches``, in bytes per 1000 batches."""
    if len(batches) < 2 or np.ptp(batches) == 0:
        return 0.0
    return float(np.polyfit(batches.astype(np.float64), rss.astype(np.float64), 1)[0] * 1000)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the soak; return its figures (see the module docstring)."""
    import psutil

    from spikehooks import Callback
    from spikehooks_recorders import SpikeRecorder, VarRecorder

    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=None,
                        help=f"batches to evaluate (default {DEFAULT_BATCHES}, "
                             f"--quick {QUICK_BATCHES})")
    parser.add_argument("--every", type=int, default=None,
                        help="sample RSS every N batches (default: about 200 samples)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="batches before the reference RSS (default: 10%% of the run)")
    parser.add_argument("--bound-mib", type=float, default=BOUND_MIB,
                        help="allowed growth over the warm-up RSS, MiB (default: %(default)s)")
    parser.add_argument("--dir", default=None,
                        help="parent folder of the temporary stream folder (default: system temp)")
    parser.add_argument("--out", default=None,
                        help="also write the JSON result to this file (default: none)")
    args = parser.parse_args(argv)
    num_batches = args.batches or (QUICK_BATCHES if args.quick else DEFAULT_BATCHES)
    if num_batches < 10:
        parser.error(f"--batches must be >= 10; got {num_batches}")
    every = args.every or max(num_batches // 200, 1)
    warmup = num_batches // 10 if args.warmup is None else args.warmup

    process = psutil.Process()

    class RssSampler(Callback):
        """Samples the resident set size at the end of every ``every``-th batch."""

        def __init__(self) -> None:
            self.samples: list[tuple[int, int]] = []

        def on_batch_end(self, batch: int, metrics: Any) -> None:
            if batch % every == 0 or batch == num_batches - 1:
                self.samples.append((batch, process.memory_info().rss))

    rng = np.random.default_rng(0)
    num_examples = num_batches * BATCH_SIZE
    x = rng.uniform(0.0, 1.0, (num_examples, 20)).astype(np.float32)
    y = rng.integers(0, 2, num_examples)
    folder = Path(tempfile.mkdtemp(prefix="spikehooks-soak-", dir=args.dir))
    try:
        with pin_blas_threads(1) as blas:
            compiled, inp, hidden, out = build()
            sampler = RssSampler()
            callbacks = [SpikeRecorder(hidden, key="spikes", to=folder / "spikes"),
                         VarRecorder(out, "v", key="v", to=folder / "v"), sampler]
            rss_start = process.memory_info().rss
            start = time.perf_counter()
            with compiled:
                metrics, cb_data = compiled.evaluate({inp: x}, {out: y}, callbacks=callbacks)
            wall = time.perf_counter() - start
        streamed_bytes = sum(f.stat().st_size for f in folder.rglob("*.npy"))
        entries = {"spikes": len(cb_data["spikes"][0]), "v": len(cb_data["v"])}
        num_spikes = int(np.load(folder / "spikes" / "ends.npy")[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    batches = np.array([b for b, _ in sampler.samples])
    rss = np.array([r for _, r in sampler.samples], dtype=np.int64)
    after = batches >= warmup
    if not after.any():
        after[-1] = True
    reference = int(rss[after][0])
    peak = int(rss[after].max())
    bound = reference + int(args.bound_mib * 2**20)
    result = {
        "network": "20-10-2, IntegrateFireInput -> LIF -> LI(sum_var), Dense",
        "batch_size": BATCH_SIZE,
        "timesteps": TIMESTEPS,
        "batches": num_batches,
        "sample_every": every,
        "warmup_batches": warmup,
        "recorders": ["SpikeRecorder(hidden, to=...)", "VarRecorder(output, 'v', to=...)"],
        "wall_s": wall,
        "ms_per_batch": wall / num_batches * 1e3,
        "rss_start_bytes": rss_start,
        "rss_after_warmup_bytes": reference,
        "rss_max_bytes": peak,
        "rss_growth_after_warmup_bytes": peak - reference,
        "rss_slope_bytes_per_1000_batches": _slope_per_1000(batches[after], rss[after]),
        "bound_bytes": bound,
        "within_bound": bool(peak <= bound),
        "entries_read_back": entries,
        "entries_expected": num_examples,
        "spikes_streamed": num_spikes,
        "streamed_bytes": streamed_bytes,
        "accuracy": float(metrics[out].result),
        "rss_samples": [[int(b), int(r)] for b, r in sampler.samples],
        "blas": blas,
        "machine": machine_info(),
    }
    if entries["spikes"] != num_examples or entries["v"] != num_examples:
        raise RuntimeError(f"soak streamed {entries} entries; expected {num_examples} each")
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    run_as_script(main)
