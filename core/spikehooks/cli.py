"""The spikehooks console command (also ``python -m spikehooks``).

spikehooks --version
    The versions of the core and of every installed plugin distribution.
spikehooks plugins [--json] [--load]
    List every entry point of every ``spikehooks.*`` group: name, kind,
    distribution, version, status and the hooks implemented.  Global plugins
    are loaded (they run on every run anyway); named entries are imported
    only with ``--load``, so a plain listing stays fast and side-effect free.
spikehooks demo [...]
    Train a small network and write figures and a summary (see
    ``spikehooks demo --help``).

Errors are one line on stderr; ``--debug`` or ``SPIKEHOOKS_DEBUG=1`` shows
the traceback.
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._env import env_flag
from .callbacks.callback import LIFECYCLE_METHODS
from .errors import ConfigurationError, SpikehooksError
from .plugins import global_plugins, registry

#: Environment variable that makes the command show tracebacks (as ``--debug``).
DEBUG_ENV = "SPIKEHOOKS_DEBUG"


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
        log=args.log,
    )
    return 0


def version_text() -> str:
    """Return what ``spikehooks --version`` prints: the core and each plugin distribution.

    A plugin distribution is any installed distribution other than the core
    that registers a ``spikehooks.*`` entry point.
    """
    from . import __version__

    lines = [f"spikehooks {__version__} (Python {platform.python_version()})"]
    dists = sorted({(info.distribution, info.version) for info in registry.entry_points()
                    if info.distribution != "spikehooks"})
    if dists:
        lines.append("registered plugin distributions:")
        lines.extend(f"  {name} {version}" for name, version in dists)
    else:
        lines.append("registered plugin distributions: none")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks and appends every option's default.

    A help text that states its default itself (``default: ...``) is left as it is.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default:" in text:
            return text
        return super()._get_help_string(action) or ""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line naming the fix."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}. See '{self.prog} --help'.\n")


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an int >= {low}; got {text!r}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``spikehooks`` command."""
    from .demo import DEFAULT_EPOCHS, TASKS

    parser = _Parser(
        prog="spikehooks", formatter_class=_Formatter,
        description="Train and evaluate spiking neural networks; list installed plugins.",
        epilog=f"Set {DEBUG_ENV}=1 (or pass --debug) to see the traceback of an error.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print the versions of spikehooks and its plugins and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback when a command fails")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    p = sub.add_parser("plugins", formatter_class=_Formatter,
                       help="list installed plugins and named entry points",
                       description="List every entry point of every spikehooks.* group: name, "
                                   "kind, distribution, version, status and hooks.")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--load", action="store_true", help="import every entry point to check it")
    p.set_defaults(func=_cmd_plugins)

    backends = registry.names("backends")
    d = sub.add_parser(
        "demo", formatter_class=_Formatter,
        help="train a small SNN and write figures and a summary",
        description="Train a small SNN with EventProp on an embedded data set (nothing is\n"
                    "downloaded), evaluate it, and write raster.png, voltage.png, accuracy.png,\n"
                    "checkpoints/ and summary.json to the output folder.\n"
                    "Ctrl-C stops training after the current batch and keeps the checkpoints.",
    )
    d.add_argument("--out", default="spikehooks-demo", help="output folder (created)")
    d.add_argument("--epochs", type=_int_at_least(1), default=None,
                   help="training epochs (default: the data set's own, "
                        f"{', '.join(f'{k} {v}' for k, v in DEFAULT_EPOCHS.items())})")
    d.add_argument("--dataset", choices=tuple(TASKS), default="digits",
                   help=f"embedded data set, one of {', '.join(TASKS)}")
    d.add_argument("--backend", choices=backends, default="numpy",
                   help=f"registered backend name, one of {', '.join(backends)}; "
                        "training needs one that supports EventProp")
    d.add_argument("--seed", type=_int_at_least(0), default=0,
                   help="seed of the data split, initial weights and shuffling")
    d.add_argument("--log", choices=("tensorboard", "mlflow", "csv"), default=None,
                   help="also log the run with the loggers plugin (default: no logger)")
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikehooks`` command; return its exit status.

    Errors of spikehooks (bad options, configuration, plugins) and of the
    operating system (a folder that cannot be written) are printed as one
    line on stderr and give exit status 1; ``--debug`` or ``SPIKEHOOKS_DEBUG=1``
    re-raises them with their traceback.  Usage errors exit with status 2.
    """
    try:
        debug = env_flag(DEBUG_ENV)
    except ConfigurationError as exc:
        print(f"spikehooks: error: {exc}", file=sys.stderr)
        return 2
    args = None
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except (SpikehooksError, OSError) as exc:
        if debug or (args is not None and args.debug):
            raise
        command = f"spikehooks {args.command}" if args is not None else "spikehooks"
        message = " ".join(str(exc).split())
        print(f"{command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
