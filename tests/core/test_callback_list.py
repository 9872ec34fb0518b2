"""CallbackList: inspection, validation, order, data collection and errors."""

from __future__ import annotations

import pytest

import spikehooks
from spikehooks import (
    Callback,
    CallbackError,
    CallbackList,
    CallbackValidationError,
    RunContext,
    hookimpl,
)


class Log(Callback):
    def __init__(self, name, log):
        self.name = name
        self.log = log

    def on_batch_begin(self, batch):
        self.log.append((self.name, "batch_begin", batch))


def test_only_defined_methods_are_registered():
    cbl = CallbackList([Log("a", [])], global_plugins=False)
    assert cbl.implements("on_batch_begin")
    assert not cbl.implements("on_epoch_begin")
    assert not cbl.has_timestep_hooks


def test_unimplemented_hook_call_is_a_noop():
    cbl = CallbackList([], global_plugins=False)
    assert cbl.on_timestep_end(3) is None
    assert not cbl.has_timestep_hooks


def test_callbacks_called_in_user_order():
    log = []
    cbl = CallbackList([Log("a", log), Log("b", log), Log("c", log)], global_plugins=False)
    cbl.on_batch_begin(7)
    assert log == [("a", "batch_begin", 7), ("b", "batch_begin", 7), ("c", "batch_begin", 7)]


def test_tryfirst_and_trylast_are_honoured():
    log = []

    class Last(Log):
        @hookimpl(trylast=True)
        def on_batch_begin(self, batch):
            log.append((self.name, "batch_begin", batch))

    class First(Log):
        @hookimpl(tryfirst=True)
        def on_batch_begin(self, batch):
            log.append((self.name, "batch_begin", batch))

    cbl = CallbackList(
        [Last("last", log), Log("mid", log), First("first", log)], global_plugins=False
    )
    cbl.on_batch_begin(0)
    assert [name for name, _, _ in log] == ["first", "mid", "last"]


def test_set_params_receives_run_parameters_and_ignores_unknown():
    seen = {}

    class P(Callback):
        def set_params(self, num_batches, data, mode, **kwargs):
            seen.update(num_batches=num_batches, data=data, mode=mode, extra=kwargs["extra"])

    cbl = CallbackList([P()], num_batches=12, mode="validate", extra=5, global_plugins=False)
    assert seen == {"num_batches": 12, "data": cbl.data, "mode": "validate", "extra": 5}


def test_set_params_without_var_keyword_is_refused():
    class Strict(Callback):
        def set_params(self, data):
            pass

    with pytest.raises(CallbackValidationError, match=r"Strict.set_params.*\*\*kwargs"):
        CallbackList([Strict()], global_plugins=False)


def test_misspelt_hook_names_class_method_and_expected_signature():
    class Typo(Callback):
        def on_epoch_ends(self, epoch, metrics):
            pass

    with pytest.raises(CallbackValidationError) as info:
        CallbackList([Typo()], global_plugins=False)
    message = str(info.value)
    assert "Typo.on_epoch_ends" in message
    assert "def on_epoch_end(self, epoch, metrics)" in message
    assert info.value.plugin.__class__ is Typo


def test_wrong_argument_name_is_refused_with_expected_signature():
    class BadArgs(Callback):
        def on_batch_end(self, batch, metric):
            pass

    with pytest.raises(CallbackValidationError) as info:
        CallbackList([BadArgs()], global_plugins=False)
    assert "BadArgs.on_batch_end" in str(info.value)
    assert "def on_batch_end(self, batch, metrics)" in str(info.value)


def test_subset_and_reordered_arguments_are_passed_by_name():
    got = []

    class Subset(Callback):
        def on_batch_end(self, metrics):
            got.append(("subset", metrics))

        def on_epoch_end(self, metrics, epoch):
            got.append(("reordered", epoch, metrics))

    cbl = CallbackList([Subset()], global_plugins=False)
    cbl.on_batch_end(3, {"m": 1})
    cbl.on_epoch_end(4, {"m": 2})
    assert got == [("subset", {"m": 1}), ("reordered", 4, {"m": 2})]


def test_run_context_is_offered_to_hooks_that_ask():
    got = []

    class WantsRun(Callback):
        def on_timestep_end(self, timestep, run):
            got.append((timestep, run))

    cbl = CallbackList([WantsRun()], mode="train", num_epochs=3, global_plugins=False)
    cbl.on_timestep_end(5)
    assert got[0][0] == 5
    assert isinstance(got[0][1], RunContext)
    assert got[0][1].mode == "train" and got[0][1].num_epochs == 3


def test_get_data_collects_keys():
    class Rec(Callback):
        def __init__(self, key):
            self.key = key

        def set_params(self, data, **kwargs):
            data[self.key] = []
            self._data = data[self.key]

        def on_batch_end(self, batch, metrics):
            self._data.append(batch)

        def get_data(self):
            return self.key, self._data

    cbl = CallbackList([Rec("x"), Rec(("tuple", 1))], global_plugins=False)
    cbl.on_batch_end(0, {})
    cbl.on_batch_end(1, {})
    assert cbl.get_data() == {"x": [0, 1], ("tuple", 1): [0, 1]}


def test_key_none_uses_list_index_with_warning():
    class Anonymous(Callback):
        def get_data(self):
            return None, [42]

    cbl = CallbackList(["batch_progress_bar", Anonymous()], global_plugins=False)
    with pytest.warns(UserWarning, match="index 1"):
        assert cbl.get_data() == {1: [42]}


def test_duplicate_keys_name_both_callbacks():
    class Keyed(Callback):
        def __init__(self, key):
            self.key = key

        def __repr__(self):
            return f"Keyed#{id(self) % 1000}"

    a, b = Keyed("same"), Keyed("same")
    with pytest.raises(CallbackValidationError) as info:
        CallbackList([a, b], global_plugins=False)
    assert repr(a) in str(info.value) and repr(b) in str(info.value)


def test_exception_in_callback_names_class_and_hook_and_keeps_data():
    class Good(Callback):
        key = "good"

        def set_params(self, data, **kwargs):
            self.items = data.setdefault("good", [])

        def on_timestep_end(self, timestep):
            self.items.append(timestep)

        def get_data(self):
            return self.key, self.items

    class Bad(Callback):
        def on_timestep_end(self, timestep):
            if timestep == 2:
                raise ZeroDivisionError("oops")

    cbl = CallbackList([Good(), Bad()], global_plugins=False)
    with pytest.raises(CallbackError) as info:
        with cbl.guard():
            for t in range(5):
                cbl.on_timestep_end(t)
    assert "Bad.on_timestep_end raised ZeroDivisionError: oops" in str(info.value)
    assert info.value.hook == "on_timestep_end"
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.cb_data == {"good": [0, 1, 2]}


def test_exception_outside_callbacks_passes_through():
    cbl = CallbackList([], global_plugins=False)
    with pytest.raises(KeyError):
        with cbl.guard():
            raise KeyError("runtime bug")


def test_set_first_called_once_per_key_on_the_first_callback():
    class Shared(Callback):
        first_of_type_key = "buffers"

        def __init__(self):
            self.first = False

        def set_first(self):
            self.first = True

    a, b, c = Shared(), Shared(), Shared()
    CallbackList([a, b, c], global_plugins=False)
    assert (a.first, b.first, c.first) == (True, False, False)


def test_hook_attached_in_set_params_is_called():
    calls = []

    class Dynamic(Callback):
        def set_params(self, **kwargs):
            self.on_timestep_end = lambda timestep: calls.append(timestep)

    cbl = CallbackList([Dynamic()], global_plugins=False)
    assert cbl.has_timestep_hooks
    cbl.on_timestep_end(9)
    assert calls == [9]


def test_a_class_instead_of_an_instance_is_refused():
    with pytest.raises(CallbackValidationError, match=r"Instantiate it: Log\(...\)"):
        CallbackList([Log], global_plugins=False)


def test_the_same_object_twice_is_refused():
    cb = Log("a", [])
    with pytest.raises(CallbackValidationError, match="twice"):
        CallbackList([cb, cb], global_plugins=False)


def test_hook_wrappers_are_refused():
    class Wrapper(Callback):
        @hookimpl(wrapper=True)
        def on_batch_begin(self, batch):
            yield

    with pytest.raises(CallbackValidationError, match="hook wrapper"):
        CallbackList([Wrapper()], global_plugins=False)


def test_names_resolve_to_core_callbacks():
    cbl = CallbackList(["batch_progress_bar"], global_plugins=False)
    assert isinstance(cbl.callbacks[0], spikehooks.BatchProgressBar)


def test_name_with_kwargs_pair_is_constructed_with_them():
    cbl = CallbackList([("batch_progress_bar", {"disable": True})], global_plugins=False)
    assert cbl.callbacks[0].disable is True


def test_keyboard_interrupt_passes_through_with_the_data_so_far():
    class Rec(Callback):
        key = "rec"

        def set_params(self, data, **kwargs):
            self.items = data.setdefault("rec", [])

        def on_timestep_end(self, timestep):
            self.items.append(timestep)
            if timestep == 1:
                raise KeyboardInterrupt

        def get_data(self):
            return self.key, self.items

    cbl = CallbackList([Rec()], global_plugins=False)
    with pytest.raises(KeyboardInterrupt) as info:
        with cbl.guard():
            for t in range(3):
                cbl.on_timestep_end(t)
    assert info.value.cb_data == {"rec": [0, 1]}
