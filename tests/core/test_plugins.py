"""Global plugins: autoload, selection, failures and the hook API version."""

from __future__ import annotations

import pytest

from spikehooks import CallbackError, CallbackList, PluginError, plugins

GOOD = """
import spikehooks

CALLS = []

@spikehooks.hookimpl
def on_batch_end(batch, metrics):
    CALLS.append(batch)

@spikehooks.hookimpl
def on_test_begin(run):
    CALLS.append(run.mode)
"""

OTHER = """
import spikehooks

CALLS = []

@spikehooks.hookimpl
def on_epoch_begin(epoch):
    CALLS.append(epoch)
"""


def test_global_plugin_hooks_run_after_callbacks(fake_dist):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    import good_plugin_mod

    order = []

    class Cb:
        def on_batch_end(self, batch, metrics):
            order.append(("cb", len(good_plugin_mod.CALLS)))

    cbl = CallbackList([Cb()])
    cbl.on_test_begin()
    cbl.on_batch_end(4, {})
    assert good_plugin_mod.CALLS == ["test", 4]
    assert order == [("cb", 1)]


def test_autoload_can_be_disabled(fake_dist, monkeypatch):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    monkeypatch.setenv("SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert plugins.load_global_plugins() == []


def test_plugins_variable_selects_by_name(fake_dist, monkeypatch):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    fake_dist("other-plugin", {"plugins": {"other": "other_plugin_mod"}},
              {"other_plugin_mod": OTHER})
    monkeypatch.setenv("SPIKEHOOKS_PLUGINS", "other")
    loaded = plugins.load_global_plugins()
    assert [p.info.name for p in loaded] == ["other"]
    assert loaded[0].hooks == ("on_epoch_begin",)


def test_broken_plugin_warns_once_and_the_rest_keep_working(fake_dist):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    fake_dist("broken-plugin", {"plugins": {"broken": "broken_plugin_mod"}},
              {"broken_plugin_mod": "raise ImportError('missing dependency xyz')"}, version="0.9")
    with pytest.warns(RuntimeWarning) as record:
        loaded = plugins.load_global_plugins()
    assert len(record) == 1
    message = str(record[0].message)
    assert "broken = broken_plugin_mod (broken-plugin 0.9)" in message
    assert "missing dependency xyz" in message
    assert [p.info.name for p in loaded] == ["good"]
    assert plugins.failed_global_plugins()[0].info.name == "broken"


def test_strict_mode_raises_for_a_broken_plugin(fake_dist, monkeypatch):
    fake_dist("broken-plugin", {"plugins": {"broken": "broken_plugin_mod"}},
              {"broken_plugin_mod": "raise ImportError('nope')"})
    monkeypatch.setenv("SPIKEHOOKS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as info:
        plugins.load_global_plugins()
    assert info.value.entry_point == "broken = broken_plugin_mod"
    assert info.value.distribution == "broken-plugin 1.0"


def test_plugin_implementing_an_unknown_hook_is_skipped(fake_dist):
    source = "import spikehooks\n@spikehooks.hookimpl\ndef on_epoch_ends(epoch):\n    pass\n"
    fake_dist("typo-plugin", {"plugins": {"typo": "typo_plugin_mod"}}, {"typo_plugin_mod": source})
    with pytest.warns(RuntimeWarning, match="unknown hook 'on_epoch_ends'"):
        assert plugins.load_global_plugins() == []


def test_incompatible_hook_api_is_refused(fake_dist):
    source = GOOD + "\nSPIKEHOOKS_HOOK_API = '2'\n"
    fake_dist("future-plugin", {"plugins": {"future": "future_plugin_mod"}},
              {"future_plugin_mod": source})
    with pytest.warns(RuntimeWarning, match=r"SPIKEHOOKS_HOOK_API must be 1.x; got '2'"):
        assert plugins.load_global_plugins() == []


def test_entry_point_naming_a_class_not_a_module_is_skipped(fake_dist):
    fake_dist("class-plugin", {"plugins": {"cls": "class_plugin_mod:Thing"}},
              {"class_plugin_mod": "class Thing:\n    pass\n"})
    with pytest.warns(RuntimeWarning, match="must name a module"):
        assert plugins.load_global_plugins() == []


def test_exception_in_a_global_plugin_hook_names_the_plugin(fake_dist):
    source = "import spikehooks\n@spikehooks.hookimpl\ndef on_batch_begin(batch):\n    1 / 0\n"
    fake_dist("crash-plugin", {"plugins": {"crash": "crash_plugin_mod"}},
              {"crash_plugin_mod": source})
    cbl = CallbackList([])
    with pytest.raises(CallbackError, match="plugin module crash_plugin_mod.on_batch_begin"):
        with cbl.guard():
            cbl.on_batch_begin(0)


def test_global_plugins_can_be_skipped_per_run(fake_dist):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    cbl = CallbackList([], global_plugins=False)
    assert not cbl.implements("on_batch_end")



def test_a_global_plugin_is_validated_once_per_process(fake_dist, monkeypatch):
    fake_dist("good-plugin", {"plugins": {"good": "good_plugin_mod"}}, {"good_plugin_mod": GOOD})
    import good_plugin_mod
    import pluggy

    registered = []
    original = pluggy.PluginManager.register

    def counting(self, plugin, name=None):
        if plugin is good_plugin_mod:
            registered.append(name)
        return original(self, plugin, name)

    monkeypatch.setattr(pluggy.PluginManager, "register", counting)
    for batch in range(3):
        cbl = CallbackList([])
        cbl.on_batch_end(batch, {})
    assert len(registered) == 1
    assert good_plugin_mod.CALLS == [0, 1, 2]
