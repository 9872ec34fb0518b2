"""Startup cost: ``import spikehooks`` plus resolving one callback name.

Each sample runs in a fresh interpreter, in three configurations, interleaved
so that load on a shared machine hits all of them alike:

``installed``
    the environment as installed; resolve the built-in callback
    ``batch_progress_bar``.
``with_plugins``
    the same, with ``--plugins`` (default 50) fake plugin distributions on
    ``PYTHONPATH``; resolve the same built-in name.  The ratio of the medians
    to ``installed`` is what that many installed plugins add to startup.
``with_plugins_resolve_plugin``
    the same fake plugins; resolve the name of one of them.

The fakes are minimal ``*.dist-info`` folders (``METADATA`` and
``entry_points.txt``, each registering one callback name pointing at its own
module) in a temporary directory: no pip needed.  The benchmark checks, in
every sample, that resolving a name imports no fake module but the one asked
for (entry points are read as metadata, never imported in bulk), and fails if
it does.  Times are measured inside the child from just before
``import spikehooks`` (``import_and_resolve``) and, for context, around the
whole child process (``process``, interpreter startup included).  No BLAS
work is done, so no thread pinning is needed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Timing, make_parser, run_as_script

BUILTIN_NAME = "batch_progress_bar"
FAKE_MODULE_PREFIX = "spikehooks_benchfake_"

# Runs in the child: time the import plus one resolve, then list the fake modules imported.
_CHILD = """\
import sys, time
start = time.perf_counter()
import spikehooks
from spikehooks import registry
registry.resolve("callbacks", sys.argv[1])
elapsed = time.perf_counter() - start
fakes = sorted(name for name in sys.modules if name.startswith(sys.argv[2]))
import json
print(json.dumps({"elapsed_s": elapsed, "fake_modules": fakes}))
"""

_FAKE_MODULE = """\
from spikehooks import Callback


class FakeCallback(Callback):
    \"\"\"A do-nothing callback offered by a fake plugin distribution.\"\"\"
"""


def fake_module_name(index: int) -> str:
    """Return the import name of fake plugin ``index``."""
    return f"{FAKE_MODULE_PREFIX}{index:02d}"


def fake_callback_name(index: int) -> str:
    """Return the callback name registered by fake plugin ``index``."""
    return f"benchfake_callback_{index:02d}"


def make_fake_plugins(directory: Path, count: int) -> None:
    """Write ``count`` fake plugin distributions (module + dist-info) into ``directory``.

    Each registers one name in ``spikehooks.callbacks`` pointing at a
    :class:`spikehooks.Callback` subclass in its own module.
    """
    for index in range(count):
        module = fake_module_name(index)
        (directory / f"{module}.py").write_text(_FAKE_MODULE, encoding="utf-8")
        info = directory / f"{module}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1.0\n",
            encoding="utf-8",
        )
        (info / "entry_points.txt").write_text(
            f"[spikehooks.callbacks]\n{fake_callback_name(index)} = {module}:FakeCallback\n",
            encoding="utf-8",
        )


def _run_child(name: str, env: dict[str, str]) -> tuple[float, float, list[str]]:
    """Return (import_and_resolve_s, process_s, fake modules imported) of one fresh run."""
    start = perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, name, FAKE_MODULE_PREFIX],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    process_s = perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"startup child resolving {name!r} failed with status {proc.returncode}:\n"
            f"{proc.stderr[-2000:]}"
        )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report["elapsed_s"], process_s, report["fake_modules"]


def _timings(samples: list[float]) -> dict[str, Any]:
    return Timing(statistics.median(samples), samples).as_dict()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure startup as installed and with fake plugins; return the figures.

    Returns
    -------
    dict
        ``configurations`` (per configuration: the resolved name, timings of
        ``import_and_resolve`` and ``process`` in seconds), ``ratio_with_plugins``
        (median ``import_and_resolve`` with plugins / as installed),
        ``ratio_with_plugins_paired`` (median of the per-round ratios),
        ``fake_modules_imported`` per configuration and ``lazy_loading_ok``.

    Raises
    ------
    RuntimeError
        A child failed, or resolving one name imported another fake module.
    """
    parser = make_parser("Startup cost: import spikehooks plus resolving one callback name.")
    parser.add_argument("--repeats", type=int,
                        help="fresh runs per configuration (default: 15, --quick 3)")
    parser.add_argument("--plugins", type=int, default=50, help="fake plugins to install")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    if repeats < 1 or args.plugins < 1:
        parser.error(
            f"--repeats and --plugins must be >= 1; got {repeats} and {args.plugins}."
        )
    target = args.plugins // 2
    base_env = dict(os.environ)

    with tempfile.TemporaryDirectory(prefix="spikehooks-fake-plugins-") as tmp:
        make_fake_plugins(Path(tmp), args.plugins)
        search_path = os.pathsep.join(filter(None, [tmp, base_env.get("PYTHONPATH")]))
        plugin_env = {**base_env, "PYTHONPATH": search_path}
        configs = {
            "installed": (BUILTIN_NAME, base_env, []),
            "with_plugins": (BUILTIN_NAME, plugin_env, []),
            "with_plugins_resolve_plugin": (
                fake_callback_name(target), plugin_env, [fake_module_name(target)]
            ),
        }
        resolve_s: dict[str, list[float]] = {key: [] for key in configs}
        process_s: dict[str, list[float]] = {key: [] for key in configs}
        imported: dict[str, list[str]] = {}
        # One untimed round first (bytecode caches), then interleaved timed rounds.
        for round_index in range(repeats + 1):
            for key, (name, env, expected) in configs.items():
                elapsed, process, fakes = _run_child(name, env)
                if fakes != expected:
                    raise RuntimeError(
                        f"resolving {name!r} ({key}) must import only {expected or 'no fake'} "
                        f"modules; got {fakes}. Entry points are being loaded eagerly."
                    )
                imported[key] = fakes
                if round_index:
                    resolve_s[key].append(elapsed)
                    process_s[key].append(process)

    configurations: dict[str, dict[str, Any]] = {
        key: {
            "resolved_name": name,
            "import_and_resolve": _timings(resolve_s[key]),
            "process": _timings(process_s[key]),
        }
        for key, (name, _, _) in configs.items()
    }

    def ratio(key: str, measure: str) -> float:
        return (
            configurations[key][measure]["median_s"]
            / configurations["installed"][measure]["median_s"]
        )

    return {
        "benchmark": "startup",
        "quick": args.quick,
        "repeats": repeats,
        "fake_plugins": args.plugins,
        "configurations": configurations,
        "ratio_with_plugins": ratio("with_plugins", "import_and_resolve"),
        "ratio_with_plugins_resolve_plugin": ratio(
            "with_plugins_resolve_plugin", "import_and_resolve"
        ),
        "ratio_with_plugins_process": ratio("with_plugins", "process"),
        # Samples of one round ran back to back, so their ratio cancels slow load drift.
        "ratio_with_plugins_paired": statistics.median(
            b / a for a, b in zip(resolve_s["installed"], resolve_s["with_plugins"], strict=True)
        ),
        "fake_modules_imported": imported,
        "lazy_loading_ok": True,
    }


if __name__ == "__main__":
    run_as_script(main)
