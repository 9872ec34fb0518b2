"""mlGeNN's ``**genn_kwargs`` on the genn backend: GeNNModel's own keywords and preferences.

mlGeNN passes compiler keywords it does not know to ``GeNNModel``, so a
ported script may give ``time_precision`` (a model keyword) beside
``optimize_code`` (a backend preference); both must reach GeNN, and a name
GeNN does not know must be refused before anything is built.
"""

from __future__ import annotations

import numpy as np
import pytest
from _compare import run
from _genn_helpers import PYGENN_MISSING

from spikehooks import Connection, Network, Population
from spikehooks.connectivity import Dense
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate

pytest.importorskip("pygenn", reason=PYGENN_MISSING)

X = np.random.default_rng(3).uniform(0.0, 1.0, (2, 6)).astype(np.float32)


def _network():
    network = Network()
    with network:
        inp = Population(IntegrateFireInput(v_thresh=0.5), 6, name="inp")
        out = Population(LeakyIntegrate(readout="sum_var"), 3, name="out")
        Connection(inp, out, Dense(np.full((6, 3), 0.25, np.float32)))
    return network


def test_model_keywords_and_preferences_reach_genn(tmp_path):
    expected, _, _ = run("numpy", _network, X, 20, tmp_path, lambda net: [], ["out"])
    got, _, _ = run("genn", _network, X, 20, tmp_path, lambda net: [], ["out"],
                    time_precision="float", optimize_code=True)
    np.testing.assert_array_equal(got["out"], expected["out"])


def test_a_preference_the_cpu_backend_lacks_is_refused_before_building(tmp_path):
    with pytest.raises(ConfigurationError, match=r"GeNNModel keywords or preferences.*"
                                                 r"got \['manual_device_id'\]"):
        run("genn", _network, X, 20, tmp_path, lambda net: [], ["out"], manual_device_id=0)
