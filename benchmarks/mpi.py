"""Data-parallel EventProp training: Yin-Yang epoch time on 1 and 2 ranks at one global batch.

Network and data as ``benchmarks/training.py``'s ``yin_yang`` task (5-100-3
LIF, first-spike-time readout, dt 0.1 ms, 300 steps, an epoch of 15,360
examples), on the backend's default (``"sequential"``) accumulation, which
keeps data-parallel training bit-exact.  The single process runs without a
communicator; the 2-rank run is ``mpiexec -n 2`` with ``MPI()`` and
``shard=True``, each rank simulating half of every global batch.  Both train
the same first ``examples`` examples (``--quick``: 256, else 2,048; the
epoch time is extrapolated), alternating 1 and 2 ranks ``repeats`` times
(``--quick``: 1, else 3) so that both see the same machine load; each
worker pins BLAS to one thread, and the compiled backend (the default when
numba is installed) to one thread, so that one rank uses one core.  Reports
median seconds per epoch, the speed-up ``t1 / t2`` and the scaling
efficiency ``speed-up / 2``, with the load average before and after.

On a shared machine two processes may not get twice the CPU of one, so a
control runs alongside: two *independent* processes started together, each
training half of the examples at half the batch, with no communication.
``independent_speedup`` (``t1`` over their time) is what this machine gives
two processes at that moment, and ``kept_by_mpi`` (their time over ``t2``)
the share of it the 2-rank run keeps; on a dedicated 2-core machine the
first is close to 2 and the efficiency is about ``kept_by_mpi``.

Run: ``python benchmarks/mpi.py [--quick] [--batch 32]`` or
``python -m benchmarks.mpi``; prints JSON.  Needs ``spikehooks[mpi]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_info, make_parser, pin_blas_threads, run_as_script

EPOCH_EXAMPLES = 15360
SCRIPT = Path(__file__).resolve()


def _worker(examples: int, batch: int, use_mpi: bool) -> None:
    """Time one pass over ``examples`` examples on this rank; rank 0 prints a JSON line."""
    from spikehooks import InputLayer, Layer, SequentialNetwork
    from spikehooks.compilers import EventPropCompiler
    from spikehooks.connectivity import Dense
    from spikehooks.data import generate_yin_yang_dataset
    from spikehooks.initializers import Normal
    from spikehooks.losses import RelativeMeanSquareError
    from spikehooks.neurons import LeakyIntegrateFire, SpikeInput
    from spikehooks.optimisers import Adam
    from spikehooks.synapses import Exponential

    communicator = None
    if use_mpi:
        from spikehooks.communicators import MPI

        communicator = MPI()
    lif = {"tau_mem": 20.0, "relative_reset": False, "integrate_during_refrac": False,
           "scale_i": True}
    dt = 0.1
    x, y = generate_yin_yang_dataset(examples, 30.0 - 4 * dt, 2 * dt, seed=0)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=batch * 5), 5)
        Layer(Dense(Normal(mean=1.5, sd=0.78)), LeakyIntegrateFire(**lif), 100,
              Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.93, sd=0.1)),
                    LeakyIntegrateFire(readout="first_spike_time", **lif), 3,
                    Exponential(5.0, scale_i=True))
    compiler = EventPropCompiler(300, RelativeMeanSquareError(2.0), Adam(0.003, 0.9, 0.99),
                                 batch_size=batch, dt=dt, communicator=communicator)
    with pin_blas_threads(1) as blas, compiler.compile(net) as compiled:
        if communicator is not None:
            communicator.barrier()
        start = time.perf_counter()
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[], shuffle=False,
                       shard=True)
        if communicator is not None:
            communicator.barrier()
        elapsed = time.perf_counter() - start
    if communicator is None or communicator.rank == 0:
        print(json.dumps({"elapsed_s": elapsed, "blas": blas,
                          "backend": compiled.backend.name}), flush=True)


def _mpiexec() -> str:
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("benchmarks/mpi.py needs mpiexec: install spikehooks[mpi]")
    return found


_ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
            OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def _worker_cmd(examples: int, batch: int) -> list[str]:
    return [sys.executable, str(SCRIPT), "--worker", "--examples", str(examples),
            "--batch", str(batch)]


def _run_independent_pair(examples: int, batch: int) -> float:
    """Two workers at once, each half the examples at half the batch; the slower one's time."""
    cmd = _worker_cmd(examples // 2, max(1, batch // 2))
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_ENV) for _ in range(2)]
    elapsed = []
    for proc in procs:
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"independent worker failed:\n{out}\n{err}")
        elapsed.append(json.loads(out.strip().splitlines()[-1])["elapsed_s"])
    return max(elapsed)


def _run(ranks: int, examples: int, batch: int) -> dict[str, Any]:
    env = _ENV
    worker = _worker_cmd(examples, batch)
    if ranks == 1:
        cmd = worker
    else:
        mpiexec = _mpiexec()
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
        extra = ["--oversubscribe"] if "Open MPI" in version else []
        cmd = [mpiexec, *extra, "-n", str(ranks), *worker, "--mpi"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{ranks}-rank run failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="global batch size")
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse_hidden())
    parser.add_argument("--mpi", action="store_true", help=argparse_hidden())
    args = parser.parse_args(argv)
    examples = args.examples or (256 if args.quick else 2048)
    if args.worker:
        _worker(examples, args.batch, args.mpi)
        return {}
    repeats = args.repeats or (1 if args.quick else 3)
    load_before = os.getloadavg()
    times: dict[int, list[float]] = {1: [], 2: [], 0: []}
    blas: Any = None
    backend: Any = None
    scale = EPOCH_EXAMPLES / examples
    for _ in range(repeats):
        for ranks in (1, 2):
            record = _run(ranks, examples, args.batch)
            times[ranks].append(record["elapsed_s"] * scale)
            blas, backend = record["blas"], record.get("backend")
        times[0].append(_run_independent_pair(examples, args.batch) * scale)
    load_after = os.getloadavg()
    t1, t2, t0 = (statistics.median(times[k]) for k in (1, 2, 0))
    return {
        "task": "yin_yang EventProp, 5-100-3, dt 0.1 ms, 300 steps",
        "quick": args.quick,
        "backend": backend,
        "global_batch_size": args.batch,
        "examples_timed": examples,
        "epoch_examples": EPOCH_EXAMPLES,
        "extrapolated": examples < EPOCH_EXAMPLES,
        "seconds_per_epoch": {"1_rank": t1, "2_ranks": t2, "independent_pair": t0},
        "samples_s": {"1_rank": times[1], "2_ranks": times[2], "independent_pair": times[0]},
        "speedup": t1 / t2,
        "efficiency": t1 / t2 / 2,
        "independent_speedup": t1 / t0,
        "kept_by_mpi": t0 / t2,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "blas": blas,
        "machine": machine_info(),
    }


def argparse_hidden() -> str:
    """Help text of the internal worker flags."""
    return "internal: run one timed worker"


if __name__ == "__main__":
    if "--worker" in sys.argv:
        main(sys.argv[1:])
    else:
        run_as_script(main)
