"""Resume is all-or-nothing: everything is checked before anything is loaded.

A refused checkpoint leaves the network's weights, its optimiser and every
callback exactly as they were; a checkpoint of a newer format is refused
loudly and never overwritten or deleted; a save that never completed (no
manifest) counts as no checkpoint for ``resume_from="latest"``.
"""

from __future__ import annotations

import json
from pathlib import Path

import _reliability_helpers as helpers
import numpy as np
import pytest
from _reliability_helpers import training_net, weights

from spikehooks import Callback
from spikehooks.compilers import EventPropCompiler
from spikehooks.serialisers import CheckpointError, CheckpointFormatError, NumpySerialiser
from spikehooks_checkpoint import Checkpoint


class Tally(Callback):
    """A stateful callback; refuses a state whose ``count`` is negative."""

    def __init__(self, key):
        self.key = key
        self.count = 0

    def on_batch_end(self, batch, metrics):
        self.count += 1

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]          # half-loaded before the check, on purpose
        if state["count"] < 0:
            raise ValueError("count must be >= 0")


def _train(net, path, num_epochs, callbacks=(), **kwargs):
    with net["compiled"]:
        return net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                     num_epochs=num_epochs,
                                     callbacks=[Checkpoint(path=path), *callbacks], **kwargs)


def _optimiser_state(compiled):
    return json.dumps(compiled.optimisers[0][0].state_dict(), default=lambda a: a.tolist(),
                      sort_keys=True)


def _compile(net, optimiser=("adam", {"alpha": 0.01})):
    return EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                             optimiser=optimiser, batch_size=4, rng_seed=1).compile(
                                 net["network"])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".spikehooks.lock"}


def _first_trained(tmp_path, callbacks=()):
    net = training_net()
    _train(net, tmp_path / "ck", 2, callbacks)
    return net


def _refused_resume(net, path, callbacks, match):
    """Resume ``net`` from ``path``, expecting a refusal; return weights before and after."""
    compiled = net["compiled"]
    with compiled:  # one with-block: the weights compared are those the refusal left
        before, optimiser = weights(compiled), _optimiser_state(compiled)
        with pytest.raises(CheckpointError, match=match) as info:
            compiled.train({net["input"]: net["x"]}, {net["output"]: net["y"]}, num_epochs=4,
                           callbacks=[Checkpoint(path=path), *callbacks], resume_from="latest")
        after = weights(compiled)
        assert _optimiser_state(compiled) == optimiser
        assert compiled.backend.timestep == 0
    assert "Nothing was loaded" in str(info.value)
    assert sorted(after) == sorted(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


@pytest.mark.parametrize("other", ["sgd", "smaller-hidden-layer"])
def test_an_incompatible_checkpoint_changes_nothing(tmp_path, monkeypatch, other):
    _first_trained(tmp_path)
    if other == "sgd":
        net = training_net()
        net["compiled"] = _compile(net, ("sgd", {"alpha": 0.01, "momentum": 0.5}))
        match = "SGD state must hold the hyperparameters"
    else:
        monkeypatch.setattr(helpers, "N_HID", 4)
        net = training_net()
        match = "must hold this network's weights"
    tally = Tally("t")
    _refused_resume(net, tmp_path / "ck", [tally], match)
    assert tally.count == 0


def test_a_callback_refusing_its_state_undoes_every_callback_and_leaves_the_weights(tmp_path):
    first, second = Tally("a"), Tally("b")
    _first_trained(tmp_path, [first, second])
    assert first.count == second.count == 4
    # Damage the second callback's saved state (as a different callback version might save it).
    ser = NumpySerialiser()
    state = ser.load((tmp_path / "ck", 1))
    state["callbacks"]["Tally['b']"]["count"] = -1
    ser.save((tmp_path / "ck", 1), state)
    fresh_a, fresh_b = Tally("a"), Tally("b")
    fresh_a.count, fresh_b.count = 100, 200
    _refused_resume(training_net(), tmp_path / "ck", [fresh_a, fresh_b],
                    r"callback Tally\['b'\] refused its saved state")
    assert (fresh_a.count, fresh_b.count) == (100, 200)


def _make_newer(folder: Path) -> None:
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 2
    manifest.write_text(json.dumps(data))


def test_a_newer_format_is_refused_loudly_and_never_overwritten_or_deleted(tmp_path):
    _first_trained(tmp_path)
    _make_newer(tmp_path / "ck" / "1")
    files = _snapshot(tmp_path / "ck")
    for kwargs in ({"resume_from": "latest"}, {"resume_from": 1}, {}):
        net = training_net()
        with pytest.raises(CheckpointFormatError, match="got version 2, written by a newer"):
            _train(net, tmp_path / "ck", 3, **kwargs)
        assert _snapshot(tmp_path / "ck") == files
    net = training_net()
    with net["compiled"], pytest.raises(CheckpointFormatError):
        net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]}, num_epochs=3,
                              callbacks=[Checkpoint(path=tmp_path / "ck", overwrite=True,
                                                    keep_last=1)])
    ser = NumpySerialiser()
    with pytest.raises(CheckpointFormatError, match="to overwrite it"):
        ser.save((tmp_path / "ck", 1), {"learnable": {}})
    with pytest.raises(CheckpointFormatError, match="to delete it"):
        ser.delete((tmp_path / "ck", 1))
    assert _snapshot(tmp_path / "ck") == files


def test_a_first_save_that_never_completed_counts_as_no_checkpoint(tmp_path):
    reference = training_net()
    _train(reference, tmp_path / "ref", 2)
    # A job killed inside its very first save: the data files are there, the manifest is not.
    interrupted = training_net()
    _train(interrupted, tmp_path / "ck", 1)
    (tmp_path / "ck" / "0" / "manifest.json").unlink()
    resumed = training_net()
    with pytest.warns(UserWarning, match=r"ck/0: its manifest\.json does not exist") as record:
        _train(resumed, tmp_path / "ck", 2, resume_from="latest")
    assert len([w for w in record if "never completed" in str(w.message)]) == 1
    with reference["compiled"]:
        expected = weights(reference["compiled"])
    with resumed["compiled"]:
        got = weights(resumed["compiled"])
    for key in expected:                       # trained from epoch 0, like a fresh run
        np.testing.assert_array_equal(got[key], expected[key])
    assert Checkpoint(path=tmp_path / "ck").epochs() == [0, 1]
