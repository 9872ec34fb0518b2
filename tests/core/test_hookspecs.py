"""Hook argument names are declared once: the dispatcher's table agrees with the hookspecs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from spikehooks import Callback, CallbackList, RunContext
from spikehooks.callbacks import hookspecs
from spikehooks.callbacks.callback import LIFECYCLE_METHODS
from spikehooks.callbacks.callback_state import callback_ids


def _specs():
    return {name: fn for name, fn in vars(hookspecs).items()
            if getattr(fn, "spikehooks_spec", None) is not None}


def test_lifecycle_methods_agree_with_the_hookspecs():
    specs = _specs()
    assert list(LIFECYCLE_METHODS) == list(specs)
    for name, spec in specs.items():
        assert tuple(inspect.signature(spec).parameters) == LIFECYCLE_METHODS[name] + ("run",)


def test_mlgenn_argument_names_are_kept():
    assert LIFECYCLE_METHODS["on_epoch_end"] == ("epoch", "metrics")
    assert LIFECYCLE_METHODS["on_batch_begin"] == ("batch",)
    assert LIFECYCLE_METHODS["on_timestep_end"] == ("timestep",)
    assert LIFECYCLE_METHODS["on_test_begin"] == ()


class _Windowed(Callback):
    def __init__(self, windowed):
        self.windowed = windowed
        self.calls = []

    def on_timestep_end(self, timestep):
        self.calls.append(timestep)

    def skipped_hooks(self):
        return () if self.windowed else ("on_timestep_end",)


@pytest.mark.parametrize("windowed", [True, False])
def test_skipped_hooks_leave_a_method_out_of_the_run(windowed):
    callback = _Windowed(windowed)
    cbl = CallbackList([callback], global_plugins=False)
    assert cbl.has_timestep_hooks is windowed
    cbl.on_timestep_end(3)
    assert callback.calls == ([3] if windowed else [])


class _Stateful(Callback):
    def __init__(self, key=None, value=0):
        self.key = key
        self.value = value

    def state_dict(self):
        return {"value": self.value}

    def load_state_dict(self, state):
        self.value = state["value"]


def test_callback_list_state_round_trips_by_stable_ids():
    saved = CallbackList([_Stateful(value=1), _Stateful("k", 2), _Stateful(value=3)],
                         global_plugins=False).state_dict()
    assert saved == {"_Stateful#0": {"value": 1}, "_Stateful['k']": {"value": 2},
                     "_Stateful#1": {"value": 3}}
    fresh = [_Stateful(), _Stateful("k"), _Stateful()]
    CallbackList(fresh, global_plugins=False).load_state_dict(saved)
    assert [c.value for c in fresh] == [1, 2, 3]
    assert list(callback_ids(fresh)) == list(saved)


def test_loading_state_of_a_missing_callback_warns_with_both_names():
    cbl = CallbackList([_Stateful()], global_plugins=False)
    with pytest.warns(UserWarning, match=r"not in this run: \['Other#0'\]"):
        cbl.load_state_dict({"_Stateful#0": {"value": 5}, "Other#0": {}}, source="Test")
    assert cbl.callbacks[0].value == 5


def test_run_context_shares_one_object_per_key_and_checks_it_before_the_run():
    checked = []

    class Pool:
        def __init__(self):
            self.members = []

        def before_run(self):
            checked.append(list(self.members))

    class Member(Callback):
        def __init__(self, name):
            self.name = name

        def set_params(self, run, **kwargs):
            run.share("test:pool", Pool).members.append(self.name)

    cbl = CallbackList([Member("a"), Member("b")], global_plugins=False)
    assert checked == [["a", "b"]]
    assert cbl.run.share("test:pool", list).members == ["a", "b"]


def test_run_context_defaults_describe_one_process_before_the_first_batch():
    run = RunContext()
    assert (run.rank, run.num_ranks, run.num_examples_in_batch) == (0, 1, 0)
    assert run.batch_size is None
    assert run.example_indices.dtype == np.int64 and run.example_indices.shape == (0,)
    assert run.validation_metrics is None
    run.start_batch(np.array([4, 7], dtype=np.int64))
    assert run.num_examples_in_batch == 2 and run.example_indices.tolist() == [4, 7]


def test_the_run_context_takes_the_batch_size_from_the_backend():
    class Backend:
        batch_size = 8

    cbl = CallbackList([], backend=Backend(), global_plugins=False)
    assert cbl.run.batch_size == 8 and cbl.run.backend is not None
