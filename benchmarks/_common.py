"""Helpers shared by the benchmark scripts.

A benchmark module defines ``main(argv=None) -> dict`` and ends with::

    if __name__ == "__main__":
        run_as_script(main)

Inside ``main`` it parses its arguments with :func:`make_parser` (which knows
``--quick``), times its work with :func:`median_time` under
:func:`pin_blas_threads` and returns a JSON-able dict of figures, seconds
spelt ``*_s``.  On a busy 2-core machine a multi-threaded BLAS made a small
batch matmul 300x slower, so every timed region pins BLAS threads and the
results say how many threads were used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

#: Environment variables that set thread pools, reported when set.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)

#: Keys of a threadpoolctl record worth reporting (its file path is left out).
_BLAS_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads",
              "threading_layer", "architecture")


class Timing(NamedTuple):
    """The result of :func:`median_time`.

    Attributes
    ----------
    median_s : float
        Median of the samples, in seconds per call.
    samples_s : list of float
        Every sample, in seconds per call, in the order measured.
    """

    median_s: float
    samples_s: list[float]

    def as_dict(self) -> dict[str, Any]:
        """Return ``{"median_s", "min_s", "max_s", "repeats", "samples_s"}``."""
        return {
            "median_s": self.median_s,
            "min_s": min(self.samples_s),
            "max_s": max(self.samples_s),
            "repeats": len(self.samples_s),
            "samples_s": list(self.samples_s),
        }


def median_time(
    fn: Callable[[], object], repeats: int = 5, *, number: int = 1, warmup: int = 1
) -> Timing:
    """Time ``fn()`` and return the median and every sample.

    Parameters
    ----------
    fn : callable
        Called with no arguments.
    repeats : int
        Number of samples (at least 1).
    number : int
        Calls per sample; each sample is the elapsed time divided by
        ``number`` (use it for calls much shorter than a millisecond).
    warmup : int
        Untimed calls made first (caches, lazy imports).

    Returns
    -------
    Timing
        ``median_s`` and ``samples_s``, in seconds per call.
    """
    if repeats < 1 or number < 1 or warmup < 0:
        raise ValueError(
            f"median_time repeats and number must be >= 1 and warmup >= 0; "
            f"got repeats={repeats}, number={number}, warmup={warmup}."
        )
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    samples = []
    for _ in range(repeats):
        start = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - start) / number)
    return Timing(statistics.median(samples), samples)


def blas_info() -> list[dict[str, Any]]:
    """Describe the BLAS/OpenMP thread pools loaded in this process (threadpoolctl).

    Import numpy first, or its BLAS is not loaded yet and not listed.
    """
    from threadpoolctl import threadpool_info

    return [{key: pool.get(key) for key in _BLAS_KEYS} for pool in threadpool_info()]


@contextlib.contextmanager
def pin_blas_threads(num_threads: int = 1) -> Iterator[list[dict[str, Any]]]:
    """Limit every loaded BLAS to ``num_threads`` threads inside the ``with`` block.

    Yields the BLAS description (:func:`blas_info`) as it is inside the block,
    for the benchmark's result.  numpy is imported first so that its BLAS is
    loaded and can be limited.
    """
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl limits)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=num_threads, user_api="blas"):
        yield blas_info()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_total_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the figures were measured with.

    Returns
    -------
    dict
        CPU model, logical/physical/usable cores, total memory (bytes), load
        average, OS, Python, numpy and spikehooks versions, the BLAS thread
        pools (threadpoolctl) and thread-count environment variables.
    """
    import numpy

    try:
        from importlib.metadata import version

        spikehooks_version = version("spikehooks")
    except Exception:  # not installed: report, do not fail the run
        spikehooks_version = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "usable_cores": usable,
        "memory_total_bytes": _memory_total_bytes(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "numpy": numpy.__version__,
        "spikehooks": spikehooks_version,
        "blas": blas_info(),
        "thread_env": {name: os.environ[name] for name in THREAD_ENV_VARS if name in os.environ},
    }


def _to_json(obj: Any) -> Any:
    """``json.dumps`` fallback for numpy scalars/arrays and paths."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def dumps(data: Any) -> str:
    """Serialise ``data`` as indented JSON (numpy values become plain numbers)."""
    return json.dumps(data, indent=2, default=_to_json)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path``, creating folders; the file is replaced atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(dumps(data) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends every option's default to its help, unless the help states it (``default``)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text:
            return text
        return super()._get_help_string(action) or ""


def make_parser(description: str | None) -> argparse.ArgumentParser:
    """Return an argument parser that knows ``--quick`` (few repeats, small sizes)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="few repeats and small sizes (for tests and CI)"
    )
    return parser


def run_as_script(main: Callable[[Sequence[str] | None], dict[str, Any]]) -> None:
    """Run a benchmark's ``main`` on the command line and print its result as JSON."""
    sys.stdout.write(dumps(main(sys.argv[1:])) + "\n")
