"""Docs are code: every Python block in README.md and docs/*.md runs here.

The blocks of one Markdown file run in order in one namespace (a later block
may use what an earlier one defined), in a temporary working folder.  A block
right after ``<!-- file: PATH -->`` shows a file of the example plugin
instead: it must equal ``docs/examples/spikehooks-csv-logger/PATH``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
EXAMPLE_PLUGIN = ROOT / "docs" / "examples" / "spikehooks-csv-logger"

_BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)^```",
                    re.S | re.M)


def _blocks(path: Path):
    return [m.groupdict() for m in _BLOCK.finditer(path.read_text(encoding="utf-8"))]


def _snippets(path: Path) -> list[str]:
    return [b["code"] for b in _blocks(path) if b["lang"] == "python" and not b["file"]]


@pytest.mark.parametrize("path", [p for p in DOCS if _snippets(p)], ids=lambda p: p.name)
def test_python_snippets_run(path, tmp_path, monkeypatch):
    snippets = _snippets(path)
    monkeypatch.chdir(tmp_path)
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for index, code in enumerate(snippets):
        try:
            exec(compile(code, f"{path.name}[block {index}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name} block {index} failed:\n{code}") from exc


def test_plugin_guide_shows_the_example_plugin_files_verbatim():
    shown = {b["file"]: b["code"] for b in _blocks(ROOT / "docs" / "plugin-guide.md") if b["file"]}
    assert set(shown) == {
        "pyproject.toml",
        "spikehooks_csv_logger/__init__.py",
        "spikehooks_csv_logger/run_timer.py",
        "tests/test_csv_logger.py",
    }
    for relative, code in shown.items():
        assert code == (EXAMPLE_PLUGIN / relative).read_text(encoding="utf-8"), relative
