"""Run every benchmark, each in its own subprocess, and write one JSON file.

Usage::

    python -m benchmarks [--quick] [--only NAME[,NAME]] [--out FILE] [--timeout S] [--list]

A benchmark is any ``benchmarks/<name>.py`` (name not starting with ``_``)
with a top-level ``def main(argv=None) -> dict``; it is found without being
imported.  Each runs in a fresh interpreter, so one that crashes does not stop
the rest and import costs do not leak from one into another.  The JSON file
(default ``benchmarks/results/latest.json``, git-ignored) holds the machine
description and, per benchmark, ``{"status": "ok", "wall_s", "result"}`` or
``{"status": "error", "wall_s", "error", "returncode", "stderr_tail",
"stdout_tail"}``.  The exit status is 1 when any benchmark failed.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, machine_info, write_json

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results" / "latest.json"
SCHEMA_VERSION = 1
_TAIL_CHARS = 4000

# Runs in the child: import one benchmark module, call main(argv), write its dict as JSON.
_RUNNER = """\
import importlib, sys
from benchmarks._common import write_json
module, out, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
result = importlib.import_module(module).main(argv)
if not isinstance(result, dict):
    raise TypeError(f"{module}.main must return a dict; got {type(result).__name__}")
write_json(out, result)
"""


def discover(directory: Path = BENCH_DIR) -> list[str]:
    """Return the sorted names of the benchmark modules in ``directory``.

    A module counts when its name does not start with ``_`` and it defines a
    top-level function ``main``; it is parsed, not imported.
    """
    found = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError:
            # Still listed: running it reports the syntax error as this benchmark's failure.
            found.append(path.stem)
            continue
        if any(
            isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body
        ):
            found.append(path.stem)
    return found


def _tail(text: str | bytes | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text[-_TAIL_CHARS:]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_one(
    module: str,
    argv: Sequence[str],
    timeout: float,
    *,
    search_path: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """Run ``<module>.main(argv)`` in a fresh interpreter and return its record.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"benchmarks.startup"``.
    argv : sequence of str
        Arguments passed to ``main``.
    timeout : float
        Seconds before the child is stopped and the run counts as failed.
    search_path : sequence of path-like
        Folders put first on the child's ``PYTHONPATH`` (the repository root,
        holding ``benchmarks``, is always there).

    Returns
    -------
    dict
        ``{"status": "ok", "wall_s", "result"}`` or ``{"status": "error",
        "wall_s", "error", "returncode", "stderr_tail", "stdout_tail"}``.
    """
    env = dict(os.environ)
    paths = [*map(str, search_path), str(ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    with tempfile.TemporaryDirectory(prefix="spikehooks-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-c", _RUNNER, module, str(out), *argv]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            return {
                "status": "error",
                "wall_s": time.perf_counter() - start,
                "error": f"timed out after {timeout:g} s",
                "returncode": None,
                "stderr_tail": _tail(exc.stderr),
                "stdout_tail": _tail(exc.stdout),
            }
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            return {
                "status": "error",
                "wall_s": wall,
                "error": _last_line(proc.stderr) or f"exited with status {proc.returncode}",
                "returncode": proc.returncode,
                "stderr_tail": _tail(proc.stderr),
                "stdout_tail": _tail(proc.stdout),
            }
        return {
            "status": "ok",
            "wall_s": wall,
            "result": json.loads(out.read_text(encoding="utf-8")),
        }


def _parser(available: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the spikehooks benchmarks, each in its own subprocess, "
        "and write their figures with a machine description to one JSON file.",
        epilog=f"available benchmarks: {', '.join(available) or '(none)'}",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="pass --quick to every benchmark (few repeats)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME[,NAME]",
        help="run only these benchmarks (repeatable; default: all)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="JSON file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds one benchmark may run before it is stopped (default: %(default)s)",
    )
    parser.add_argument("--list", action="store_true", help="print the benchmark names and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks and write the JSON file; return the exit status."""
    available = discover()
    parser = _parser(available)
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(available))
        return 0
    selected = available
    if args.only:
        wanted = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in available]
        if unknown:
            parser.error(
                f"--only must name available benchmarks; got unknown {', '.join(unknown)}. "
                f"Available: {', '.join(available) or '(none)'}."
            )
        selected = list(dict.fromkeys(wanted))
    child_argv = ["--quick"] if args.quick else []
    results: dict[str, dict[str, Any]] = {}
    for name in selected:
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        record = run_one(f"benchmarks.{name}", child_argv, args.timeout)
        results[name] = record
        outcome = "ok" if record["status"] == "ok" else f"FAILED: {record['error']}"
        print(f"[benchmarks] {name} {outcome} ({record['wall_s']:.1f} s)", file=sys.stderr)
    document = {
        "schema_version": SCHEMA_VERSION,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": ["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)],
        "quick": args.quick,
        "machine": machine_info(),
        "benchmarks": results,
    }
    path = write_json(args.out, document)
    print(f"[benchmarks] wrote {path}", file=sys.stderr)
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
