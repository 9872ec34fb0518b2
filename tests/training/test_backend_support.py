"""Training needs a backend that supports it; the GeNN backend runs inference only."""

from __future__ import annotations

import pytest

from spikehooks import ConfigurationError
from spikehooks.compilers import EventPropCompiler


def test_eventprop_on_genn_is_refused_before_anything_is_built():
    with pytest.raises(ConfigurationError, match=r"backend must support training; got 'genn'.*"
                                                 r"Train with backend='numpy'"):
        EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                          backend="genn")


def test_numpy_backend_supports_training():
    compiler = EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy")
    assert compiler.example_timesteps == 10
