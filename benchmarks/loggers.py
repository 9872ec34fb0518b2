"""Per-epoch cost of the loggers (csv_logger, tensorboard, mlflow) against no logger.

Network and data: the demo's digits task (64 latency-coded inputs -> LIF 128
-> LeakyIntegrate 10, 20 timesteps of 1 ms, batch 32, EventProp with Adam),
trained with a 10 % validation split on the numpy backend.

Configurations, each trained for a few epochs from the same initial weights,
rounds interleaving the configurations so drift in machine load hits all
alike (a first round warms up):

- ``none``: no logger;
- ``csv``: ``CSVLogger``;
- ``tensorboard``: ``TensorBoardLogger`` with its defaults (epoch scalars and
  weight histograms every epoch);
- ``mlflow``: ``MLflowLogger`` on an SQLite store in a temporary folder.

Figures per logger, all per epoch (an epoch runs from one epoch's start to
the next, so the logger's end-of-epoch writes are inside; the first epoch,
which opens the log, is left out):

- ``overhead_side_by_side``: median CPU time of the process (every thread,
  so the logger's writer thread counts) per epoch, divided by that of
  ``none``, minus 1.  CPU time, because on a shared machine wall time swings
  by tens of percent between identical runs;
- ``overhead_side_by_side_wall``: the same with wall time (noisy; reported);
- ``overhead_direct``: the CPU time the logger itself adds per epoch: the
  training thread's inside the logger's hooks (timed by callbacks placed
  right before and after it) plus its writer thread's (``write_cpu_s``, all
  of the run's writes, opening and closing included, divided by the
  epochs), divided by the epoch CPU time of ``none``;
- ``overhead_training_thread``: the training thread's part of it alone
  (the writer thread runs beside training on another core);
- ``overhead_per_epoch_writes``: the training thread's part plus the writer
  thread's epoch writes only (without connecting, opening and closing, which
  happen once per run): what every further epoch costs.

``none_again`` repeats ``none``: its side-by-side "overhead" is the noise
floor of the machine at the time.  Target: ``overhead_direct`` below 2 %,
with the side-by-side figures within the noise floor.

Run: ``python benchmarks/loggers.py [--quick]`` or ``python -m benchmarks.loggers``;
prints JSON.
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

TARGET = 0.02


class EpochClock:
    """Note wall and CPU time at the start of every epoch (placed first in the list).

    CPU time is the process's, all threads: it includes the loggers' writer
    threads, so it counts the whole work a logger adds.
    """

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.cpu_starts: list[float] = []

    def on_epoch_begin(self, epoch: int) -> None:
        self.starts.append(time.perf_counter())
        self.cpu_starts.append(time.process_time())

    def epoch_times(self, cpu: bool = False) -> list[float]:
        """Durations of epochs 1 .. n-2 (epoch 0 opens the logs; the last ends the run)."""
        return [float(d) for d in np.diff((self.cpu_starts if cpu else self.starts)[1:])]


class Stopwatch:
    """CPU time of the training thread between a :class:`Start` and this callback."""

    def __init__(self) -> None:
        self.started = 0.0
        self.spent_s = 0.0

    def _stop(self) -> None:
        self.spent_s += time.thread_time() - self.started

    def on_epoch_begin(self, epoch: int) -> None:
        self._stop()

    def on_epoch_end(self, epoch: int, metrics: Any) -> None:
        self._stop()

    def on_validation_end(self, epoch: int, metrics: Any) -> None:
        self._stop()


class Start:
    """Placed right before the logger: starts its :class:`Stopwatch` in every per-epoch hook."""

    def __init__(self, watch: Stopwatch):
        self.watch = watch

    def _start(self) -> None:
        self.watch.started = time.thread_time()

    def on_epoch_begin(self, epoch: int) -> None:
        self._start()

    def on_epoch_end(self, epoch: int, metrics: Any) -> None:
        self._start()

    def on_validation_end(self, epoch: int, metrics: Any) -> None:
        self._start()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train with and without each logger; return per-epoch overheads."""
    from spikehooks.compilers import EventPropCompiler
    from spikehooks.demo import TASKS
    from spikehooks_loggers import CSVLogger, MLflowLogger, TensorBoardLogger

    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    repeats = 1 if args.quick else 3
    num_epochs = 4 if args.quick else 6
    examples = 320 if args.quick else None
    task = TASKS["digits"](0)
    x_train = task.x_train[:examples] if examples else task.x_train
    y_train = task.y_train[:examples] if examples else task.y_train

    with tempfile.TemporaryDirectory(prefix="spikehooks-bench-") as tmp:
        folder = Path(tmp)
        configs = {
            "none": lambda r: None,
            # The same as none: its "overhead" is the noise floor of the machine.
            "none_again": lambda r: None,
            "csv": lambda r: CSVLogger(folder / f"csv{r}" / "training.csv"),
            "tensorboard": lambda r: TensorBoardLogger(folder / f"tb{r}"),
            "mlflow": lambda r: MLflowLogger(f"bench{r}",
                                             tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
                                             artifact_location=str(folder / "mlruns")),
        }
        epoch_s: dict[str, list[float]] = {name: [] for name in configs}
        epoch_cpu_s: dict[str, list[float]] = {name: [] for name in configs}
        inside_s: dict[str, list[float]] = {name: [] for name in configs}
        hooks_s: dict[str, list[float]] = {name: [] for name in configs}
        epoch_writes_s: dict[str, list[float]] = {name: [] for name in configs}
        with pin_blas_threads(1) as blas:
            for round_ in range(repeats + 1):
                for name, make in configs.items():
                    clock = EpochClock()
                    logger = make(round_)
                    watch = Stopwatch()
                    callbacks = ([clock] if logger is None
                                 else [clock, Start(watch), logger, watch])
                    compiled = EventPropCompiler(rng_seed=0,
                                                 **task.compiler_kwargs).compile(task.network)
                    with compiled:
                        compiled.train({task.input: x_train}, {task.output: y_train},
                                       num_epochs=num_epochs, callbacks=callbacks,
                                       validation_split=0.1)
                    if round_:  # round 0 warms up
                        epoch_s[name] += clock.epoch_times()
                        epoch_cpu_s[name] += clock.epoch_times(cpu=True)
                        tasks = getattr(logger, "write_cpu_s", {})
                        inside_s[name].append((watch.spent_s + sum(tasks.values())) / num_epochs)
                        hooks_s[name].append(watch.spent_s / num_epochs)
                        epoch_writes_s[name].append(
                            (watch.spent_s + tasks.get("write epoch N", 0.0)) / num_epochs)
    timings = {name: Timing(statistics.median(v), v).as_dict() for name, v in epoch_s.items()}
    cpu = {name: Timing(statistics.median(v), v).as_dict() for name, v in epoch_cpu_s.items()}
    base, cpu_base = timings["none"]["median_s"], cpu["none"]["median_s"]
    loggers = [name for name in configs if name != "none"]
    side_by_side = {name: cpu[name]["median_s"] / cpu_base - 1.0 for name in loggers}
    side_by_side_wall = {name: timings[name]["median_s"] / base - 1.0 for name in loggers}
    loggers.remove("none_again")
    direct = {name: statistics.median(inside_s[name]) / cpu_base for name in loggers}
    training_thread = {name: statistics.median(hooks_s[name]) / cpu_base for name in loggers}
    steady = {name: statistics.median(epoch_writes_s[name]) / cpu_base for name in loggers}
    return {
        "benchmark": "loggers",
        "quick": args.quick,
        "num_epochs": num_epochs,
        "num_train_examples": len(y_train),
        "blas": blas,
        "epoch_cpu": cpu,
        "epoch_wall": timings,
        "logger_cpu_s_per_epoch": {name: statistics.median(inside_s[name])
                                   for name in direct},
        "overhead_side_by_side": side_by_side,
        "overhead_side_by_side_wall": side_by_side_wall,
        "overhead_direct": direct,
        "overhead_training_thread": training_thread,
        "overhead_per_epoch_writes": steady,
        "target": TARGET,
        "meets_target": {name: direct[name] < TARGET for name in direct},
    }


if __name__ == "__main__":
    run_as_script(main)
