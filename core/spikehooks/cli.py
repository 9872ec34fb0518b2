"""The ``spikehooks`` console command.

``spikehooks plugins [--json] [--load]``
    List every entry point of every ``spikehooks.*`` group: name, kind,
    distribution, version, status and the hooks implemented.  Global plugins
    are loaded (they run on every run anyway); named entries are imported
    only with ``--load``, so a plain listing stays fast and side-effect free.
``spikehooks demo [...]``
    Train a small network and write figures and a summary (see
    ``spikehooks demo --help``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Sequence
from typing import Any

from .callbacks.callback import LIFECYCLE_METHODS
from .plugins import global_plugins, registry


def _hooks_of_object(obj: Any) -> list[str]:
    """Hooks a class defines or declares in ``attached_hooks`` (set in ``set_params``)."""
    target = obj if inspect.isclass(obj) or inspect.ismodule(obj) else type(obj)
    attached = set(getattr(target, "attached_hooks", ()))
    return [name for name in LIFECYCLE_METHODS
            if callable(getattr(target, name, None)) or name in attached]


def describe_entry_points(load: bool = False) -> list[dict[str, Any]]:
    """Return one record per entry point of every spikehooks group.

    Parameters
    ----------
    load : bool
        Import every named entry point to report its status and hooks.
        Global plugins (``spikehooks.plugins``) are always loaded.

    Returns
    -------
    list of dict
        Keys ``kind``, ``name``, ``value``, ``distribution``, ``version``,
        ``status`` (``"loaded"``, ``"failed: <reason>"``, ``"disabled"`` or
        ``"not imported"``) and ``hooks`` (list of hook names, or None when
        not imported).
    """
    import warnings

    with warnings.catch_warnings():
        # Failures are reported in the listing itself.
        warnings.simplefilter("ignore", RuntimeWarning)
        loaded = {p.info: p for p in global_plugins.load_global_plugins(refresh=True)}
    failed = {f.info: f.reason for f in global_plugins.failed_global_plugins()}
    records = []
    for info in sorted(registry.entry_points(), key=lambda i: (i.kind, i.name, i.distribution)):
        record: dict[str, Any] = {
            "kind": info.kind,
            "name": info.name,
            "value": info.value,
            "distribution": info.distribution,
            "version": info.version,
            "hooks": None,
        }
        if info.kind == global_plugins.GROUP_KIND:
            if info in loaded:
                record["status"] = "loaded"
                record["hooks"] = list(loaded[info].hooks)
            elif info in failed:
                record["status"] = f"failed: {failed[info]}"
            else:
                record["status"] = "disabled"
        elif load:
            try:
                obj = info.load()
            except Exception as exc:
                record["status"] = f"failed: {type(exc).__name__}: {exc}"
            else:
                record["status"] = "loaded"
                record["hooks"] = _hooks_of_object(obj) if info.kind == "callbacks" else []
        else:
            record["status"] = "not imported"
        records.append(record)
    return records


def _print_table(records: list[dict[str, Any]]) -> None:
    if not records:
        print("no spikehooks entry points installed")
        return
    columns = ("kind", "name", "distribution", "version", "status", "hooks")
    rows = [
        [
            r["kind"],
            r["name"],
            r["distribution"],
            r["version"],
            r["status"],
            "-" if r["hooks"] is None else (", ".join(r["hooks"]) or "(none)"),
        ]
        for r in records
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows, strict=True)]
    for row in [list(columns), *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _cmd_plugins(args: argparse.Namespace) -> int:
    records = describe_entry_points(load=args.load)
    if args.json:
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(records)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(
        out=args.out,
        epochs=args.epochs,
        dataset=args.dataset,
        backend=args.backend,
        seed=args.seed,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``spikehooks`` command."""
    parser = argparse.ArgumentParser(prog="spikehooks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", help="list installed plugins and named entry points")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--load", action="store_true", help="import every entry point to check it")
    p.set_defaults(func=_cmd_plugins)

    d = sub.add_parser("demo", help="train a small SNN and write figures and a summary")
    d.add_argument("--out", default="spikehooks-demo", help="output folder")
    d.add_argument("--epochs", type=int, default=None, help="training epochs")
    d.add_argument("--dataset", choices=("digits", "yin-yang"), default="digits")
    d.add_argument("--backend", default="numpy")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikehooks`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
