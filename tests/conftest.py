"""Shared test fixtures.

``fake_dist`` writes a minimal installed distribution (a ``*.dist-info``
folder with ``METADATA`` and ``entry_points.txt``, plus its modules) into a
temporary folder on ``sys.path``: importlib.metadata then finds it like any
pip-installed distribution, without running pip.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from spikehooks import plugins, registry

# No test may depend on the machine's speed or load: hypothesis must neither
# time examples out nor fail a test because generating its data was slow.
settings.register_profile(
    "any-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("any-machine")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = FIXTURES / "golden"


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """Return ``make(name, entry_points, modules, version="1.0")`` creating a fake distribution.

    ``entry_points`` maps a group suffix (``"callbacks"``) to ``{name: "module:attr"}``;
    ``modules`` maps a module name to its source.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created_modules: list[str] = []

    def make(name, entry_points=None, modules=None, version="1.0"):
        dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        lines = []
        for kind, eps in (entry_points or {}).items():
            lines.append(f"[spikehooks.{kind}]")
            lines += [f"{ep_name} = {value}" for ep_name, value in eps.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            created_modules.append(module)
        registry.clear_cache()
        plugins.reset()
        return dist_info

    yield make
    for module in created_modules:
        sys.modules.pop(module, None)
    registry.clear_cache()
    plugins.reset()


@pytest.fixture(autouse=True)
def _isolated_plugin_env(monkeypatch):
    """Tests start with no plugin-selection variables set."""
    for var in (
        "SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD",
        "SPIKEHOOKS_PLUGINS",
        "SPIKEHOOKS_STRICT_PLUGINS",
        "SPIKEHOOKS_RECORDING_BUDGET",
    ):
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    yield
    plugins.reset()
