"""The ``spikehooks`` command follows the conventions of pytest and pip (issue 19)."""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys

import pytest

from spikehooks import __version__, cli, registry


def _options(parser: argparse.ArgumentParser):
    """Every (parser, optional action) pair of ``parser`` and its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)
        elif action.option_strings and action.dest != "help":
            yield parser, action


def _help_line(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The rendered help of one option, on one line."""
    formatter = parser._get_formatter()
    formatter.add_argument(action)
    return " ".join(formatter.format_help().split())


def test_version_lists_the_core_and_every_plugin_distribution(fake_dist, capsys):
    fake_dist("gamma-plugin", {"callbacks": {"gamma": "gamma_mod:Gamma"}}, version="4.2")
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"spikehooks {__version__} (Python {platform.python_version()})"
    assert lines[1] == "registered plugin distributions:"
    plugin_dists = {(i.distribution, i.version) for i in registry.entry_points()
                    if i.distribution != "spikehooks"}
    assert lines[2:] == [f"  {d} {v}" for d, v in sorted(plugin_dists)]
    assert "  gamma-plugin 4.2" in lines
    assert "  spikehooks-recorders 0.1.0" in lines


def test_python_dash_m_spikehooks_is_the_same_command():
    proc = subprocess.run([sys.executable, "-m", "spikehooks", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == cli.version_text() + "\n"


def test_every_option_has_a_plain_text_help_line_with_its_default():
    parser = cli.build_parser()
    seen = set()
    for owner, action in _options(parser):
        seen.add((owner.prog, action.dest))
        assert action.help, f"{owner.prog} {action.option_strings} has no help"
        text = _help_line(owner, action)
        if action.dest != "version":  # --version prints and exits: it has no value
            assert "default:" in text, f"{owner.prog} {action.option_strings}: {text}"
    assert {("spikehooks demo", d) for d in ("dataset", "backend", "seed", "epochs", "out")} <= seen
    full = parser.format_help() + "".join(
        sub.format_help() for sub in parser._subparsers._group_actions[0].choices.values()
    )
    assert "``" not in full and ":class:" not in full


def test_demo_help_lists_datasets_and_registered_backends():
    demo = cli.build_parser()._subparsers._group_actions[0].choices["demo"]
    text = " ".join(demo.format_help().split())
    assert "one of digits, yin-yang" in text
    assert f"one of {', '.join(registry.names('backends'))}" in text
    assert "(default: numpy)" in text and "(default: 0)" in text


@pytest.mark.parametrize(("argv", "expected"), [
    (["demo", "--dataset", "mnist"],
     "spikehooks demo: error: argument --dataset: invalid choice: 'mnist' "
     "(choose from 'digits', 'yin-yang'). See 'spikehooks demo --help'."),
    (["demo", "--epochs", "zero"],
     "spikehooks demo: error: argument --epochs: must be an int >= 1; got 'zero'. "
     "See 'spikehooks demo --help'."),
    (["demo", "--seed", "-1"],
     "spikehooks demo: error: argument --seed: must be an int >= 0; got '-1'. "
     "See 'spikehooks demo --help'."),
    (["demo", "--backend", "cuda"],
     "spikehooks demo: error: argument --backend: invalid choice: 'cuda' (choose from "
     + ", ".join(repr(n) for n in registry.names("backends")) + "). "
     "See 'spikehooks demo --help'."),
    ([], "spikehooks: error: the following arguments are required: COMMAND. "
         "See 'spikehooks --help'."),
])
def test_usage_errors_are_one_line_naming_the_option_and_choices(capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err == expected + "\n"


def test_run_errors_are_one_line_without_traceback(tmp_path):
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "-m", "spikehooks", "demo", "--backend", "genn", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("spikehooks demo: error: EventPropCompiler backend must "
                               "support training; got 'genn'")
    assert not out.exists()


@pytest.mark.parametrize("how", ["--debug", "SPIKEHOOKS_DEBUG"])
def test_debug_shows_the_traceback(monkeypatch, tmp_path, how):
    from spikehooks.errors import ConfigurationError

    argv = ["demo", "--backend", "genn", "--out", str(tmp_path / "never")]
    if how == "--debug":
        argv = ["--debug", *argv]
    else:
        monkeypatch.setenv("SPIKEHOOKS_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="must support training"):
        cli.main(argv)


def test_garbage_debug_variable_is_refused_listing_the_accepted_values(monkeypatch, capsys):
    monkeypatch.setenv("SPIKEHOOKS_DEBUG", "verbose")
    assert cli.main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "spikehooks: error: environment variable SPIKEHOOKS_DEBUG must be one of 1, true, "
        "yes, on (on) or 0, false, no, off (off); got 'verbose'. Set it to 1 or 0, or unset "
        "it.\n"
    )
