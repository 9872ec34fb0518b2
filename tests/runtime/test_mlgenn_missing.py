"""mlGeNN features not offered are refused by name; Wrapper draws GeNN's built-in snippets."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from spikehooks.errors import ConfigurationError, UnsupportedFeatureError
from spikehooks.initializers import Wrapper


@pytest.mark.parametrize(("module", "name", "instead"), [
    ("spikehooks.compilers", "CompiledInferenceNetwork", "use CompiledNetwork"),
])
def test_an_mlgenn_name_not_offered_is_refused_with_what_to_use(module, name, instead):
    with pytest.raises(UnsupportedFeatureError, match=f"mlGeNN's {name}.*{instead}"):
        exec(f"from {module} import {name}", {})
    assert not hasattr(importlib.import_module(module), "NotAnMlGeNNName")


def test_wrapper_draws_genns_builtin_snippets_with_numpy():
    rng = np.random.default_rng(0)
    clipped = Wrapper("NormalClipped", {"mean": 0.0, "sd": 1.0, "min": -0.5, "max": 0.5})
    values = clipped.sample((2000,), rng)
    assert values.dtype == np.float32 and values.min() >= -0.5 and values.max() <= 0.5
    assert np.all(Wrapper("Constant", {"constant": 3.0}).sample((3,), rng) == 3.0)
    exp = Wrapper("Exponential", {"lambda": 4.0}).sample((20000,), rng)
    assert abs(exp.mean() - 0.25) < 0.01
    same = Wrapper("Normal", {"mean": 1.0, "sd": 2.0}).sample((5,), np.random.default_rng(7))
    np.testing.assert_array_equal(
        same, np.random.default_rng(7).normal(1.0, 2.0, 5).astype(np.float32))


def test_wrapper_refuses_custom_snippets_and_wrong_parameters():
    with pytest.raises(ConfigurationError, match="write an Initializer subclass"):
        Wrapper("MyCustomSnippet", {})
    with pytest.raises(ConfigurationError, match=r"must be exactly \['mean', 'sd'\]"):
        Wrapper("Normal", {"mean": 0.0})
