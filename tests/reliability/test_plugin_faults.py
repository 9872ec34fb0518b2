"""Faulty global plugins and callbacks during real ``evaluate`` runs.

A plugin that fails to import or to validate is skipped with one warning
naming it, and the run gives the same results as without it; strict mode
(``SPIKEHOOKS_STRICT_PLUGINS=1``) stops before any batch with a
:class:`PluginError` naming it.  A plugin or callback that raises (or is
interrupted with Ctrl-C) inside a timestep hook stops the run, and the data
recorded in the batches that finished is returned intact with the error.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reliability_helpers import Spy, inference_net

from spikehooks import Callback
from spikehooks.errors import CallbackError, PluginError
from spikehooks_recorders import SpikeRecorder, VarRecorder, open_recording

# Raises in on_timestep_end of batch 2 (after batches 0 and 1 of 2 examples finished).
RAISES_IN_TIMESTEP = """
import spikehooks

STATE = {"batch": None, "armed": True}

@spikehooks.hookimpl
def on_batch_begin(batch):
    STATE["batch"] = batch

@spikehooks.hookimpl
def on_timestep_end(timestep):
    if STATE["armed"] and STATE["batch"] == 2 and timestep == 3:
        STATE["armed"] = False
        raise ERROR("plugin gave up at batch 2")
"""


def _recorders(net, folder=None):
    def to(name):
        return None if folder is None else folder / name
    return [SpikeRecorder(net["hidden"], key="spikes", to=to("spikes")),
            VarRecorder(net["hidden"], "v", key="v", to=to("v"))]


def _evaluate(net, callbacks):
    with net["compiled"]:
        return net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                        callbacks=callbacks)


@pytest.fixture
def reference():
    """Metrics and in-memory recordings of the whole run, with no plugin installed."""
    net = inference_net()
    metrics, cb_data = _evaluate(net, _recorders(net))
    return metrics[net["output"]].result, cb_data


def _assert_prefix(cb_data, reference_data, count):
    """The first ``count`` examples of every recording equal the reference's."""
    times, ids = cb_data["spikes"]
    assert len(times) == len(ids) == count
    assert len(cb_data["v"]) == count
    for k in range(count):
        np.testing.assert_array_equal(times[k], reference_data["spikes"][0][k])
        np.testing.assert_array_equal(ids[k], reference_data["spikes"][1][k])
        np.testing.assert_array_equal(cb_data["v"][k], reference_data["v"][k])


# ----------------------------------------------------------------- import and registration

BROKEN = {
    "import": "import spikehooks\nraise ImportError('needs the missing package zzz')\n",
    "hookimpl": "import spikehooks\n@spikehooks.hookimpl\ndef on_batch_ends(batch, metrics):\n"
                "    pass\n",
    "arguments": "import spikehooks\n@spikehooks.hookimpl\ndef on_batch_end(batch, metric):\n"
                 "    pass\n",
}
REASON = {"import": "needs the missing package zzz", "hookimpl": "unknown hook 'on_batch_ends'",
          "arguments": "metric"}


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_broken_plugin_is_skipped_with_a_warning_and_results_are_unchanged(
        fault, fake_dist, reference):
    fake_dist("broken-plugin", {"plugins": {"broken": "broken_plugin_mod"}},
              {"broken_plugin_mod": BROKEN[fault]}, version="0.3")
    net = inference_net()
    with pytest.warns(RuntimeWarning) as record:
        metrics, cb_data = _evaluate(net, _recorders(net))
    assert len(record) == 1
    message = str(record[0].message)
    assert "broken = broken_plugin_mod (broken-plugin 0.3) was skipped" in message
    assert REASON[fault] in message
    assert "Fix or uninstall broken-plugin" in message
    assert metrics[net["output"]].result == reference[0]
    _assert_prefix(cb_data, reference[1], 8)


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_strict_mode_stops_before_any_batch_naming_the_plugin(fault, fake_dist, monkeypatch):
    fake_dist("broken-plugin", {"plugins": {"broken": "broken_plugin_mod"}},
              {"broken_plugin_mod": BROKEN[fault]}, version="0.3")
    monkeypatch.setenv("SPIKEHOOKS_STRICT_PLUGINS", "1")
    net = inference_net()
    spy = Spy()
    with pytest.raises(PluginError, match=REASON[fault]) as info:
        _evaluate(net, [spy])
    assert info.value.entry_point == "broken = broken_plugin_mod"
    assert info.value.distribution == "broken-plugin 0.3"
    assert spy.calls == [] and net["compiled"].backend.timestep == 0


def test_a_broken_plugin_does_not_stop_a_good_one(fake_dist):
    good = ("import spikehooks\nBATCHES = []\n@spikehooks.hookimpl\n"
            "def on_batch_end(batch, metrics):\n    BATCHES.append(batch)\n")
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": good})
    fake_dist("broken-plugin", {"plugins": {"broken": "broken_plugin_mod"}},
              {"broken_plugin_mod": BROKEN["import"]})
    net = inference_net()
    with pytest.warns(RuntimeWarning, match="broken-plugin"):
        _evaluate(net, [])
    import good_plugin_mod

    assert good_plugin_mod.BATCHES == [0, 1, 2, 3]


# ----------------------------------------------------------------- faults during a run


def test_plugin_raising_in_a_timestep_hook_names_it_and_keeps_finished_batches(
        fake_dist, reference):
    fake_dist("crash-plugin", {"plugins": {"crash": "crash_plugin_mod"}},
              {"crash_plugin_mod": RAISES_IN_TIMESTEP.replace("ERROR", "RuntimeError")})
    net = inference_net()
    with pytest.raises(CallbackError) as info:
        _evaluate(net, _recorders(net))
    error = info.value
    assert str(error).startswith("plugin module crash_plugin_mod.on_timestep_end raised "
                                 "RuntimeError: plugin gave up at batch 2")
    assert error.hook == "on_timestep_end"
    assert isinstance(error.__cause__, RuntimeError)
    _assert_prefix(error.cb_data, reference[1], 4)


def test_the_same_compiled_network_runs_again_after_a_plugin_fault(fake_dist, reference):
    fake_dist("crash-plugin", {"plugins": {"crash": "crash_plugin_mod"}},
              {"crash_plugin_mod": RAISES_IN_TIMESTEP.replace("ERROR", "RuntimeError")})
    net = inference_net()
    with pytest.raises(CallbackError):
        _evaluate(net, _recorders(net))
    metrics, cb_data = _evaluate(net, _recorders(net))  # the plugin raises only once
    assert metrics[net["output"]].result == reference[0]
    _assert_prefix(cb_data, reference[1], 8)


def test_interrupted_plugin_keeps_finished_batches_on_the_keyboard_interrupt(
        fake_dist, reference):
    fake_dist("hang-plugin", {"plugins": {"hang": "hang_plugin_mod"}},
              {"hang_plugin_mod": RAISES_IN_TIMESTEP.replace("ERROR", "KeyboardInterrupt")})
    net = inference_net()
    with pytest.raises(KeyboardInterrupt) as info:
        _evaluate(net, _recorders(net))
    _assert_prefix(info.value.cb_data, reference[1], 4)


class CtrlC(Callback):
    """Stands in for a user pressing Ctrl-C while a callback hangs mid-batch."""

    def __init__(self, batch: int, timestep: int):
        self.at = (batch, timestep)
        self.batch = -1

    def on_batch_begin(self, batch):
        self.batch = batch

    def on_timestep_end(self, timestep):
        if (self.batch, timestep) == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_in_a_callback_keeps_finished_batches(reference):
    net = inference_net()
    with pytest.raises(KeyboardInterrupt) as info:
        _evaluate(net, [*_recorders(net), CtrlC(batch=3, timestep=9)])
    _assert_prefix(info.value.cb_data, reference[1], 6)


def test_ctrl_c_while_streaming_leaves_finished_batches_on_disk(tmp_path, reference):
    net = inference_net()
    with pytest.raises(KeyboardInterrupt) as info:
        _evaluate(net, [*_recorders(net, tmp_path), CtrlC(batch=1, timestep=0)])
    _assert_prefix(info.value.cb_data, reference[1], 2)
    ends = np.load(tmp_path / "spikes" / "ends.npy")
    times = np.load(tmp_path / "spikes" / "times.npy")
    assert ends.shape == (2,)
    np.testing.assert_array_equal(times[ends[0]:ends[1]], reference[1]["spikes"][0][1])
    assert len(open_recording(tmp_path / "v")) == 2


def test_callback_raising_names_its_class_and_keeps_finished_batches(reference):
    class Fragile(Callback):
        def on_batch_end(self, batch, metrics):
            if batch == 1:
                raise ValueError("disk full")

    net = inference_net()
    with pytest.raises(CallbackError, match=r"Fragile\.on_batch_end raised ValueError: disk full"
                       ) as info:
        _evaluate(net, [*_recorders(net), Fragile()])
    # Fragile comes after the recorders, so batch 1 was stored before it raised.
    _assert_prefix(info.value.cb_data, reference[1], 4)
