"""Checkpoint + schedules: an interrupted and resumed run equals an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
from _checkpoint_fakes import FakeTrainingNetwork

from spikehooks_checkpoint import Checkpoint

schedules = pytest.importorskip("spikehooks_schedules")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _callbacks(path):
    return [
        Checkpoint(path=path),
        schedules.CosineAnnealing(6, warmup_epochs=1, per_batch=True),
        schedules.EarlyStopping("val_accuracy", patience=50, restore_best=True),
    ]


def _plateau(path):
    return [Checkpoint(path=path), schedules.ReduceOnPlateau("val_accuracy", 0.5, patience=0)]


@pytest.mark.parametrize("make", [_callbacks, _plateau], ids=["cosine+early", "plateau"])
def test_resumed_run_matches_the_uninterrupted_one(make):
    reference = FakeTrainingNetwork(seed=3)
    ref_callbacks = make("ref")
    reference.train(7, ref_callbacks, validate=True)

    FakeTrainingNetwork(seed=3).train(4, make("run"), validate=True)
    resumed = FakeTrainingNetwork(seed=5, alpha=9.0)
    callbacks = make("run")
    resumed.train(7, callbacks, resume_from="latest", validate=True)

    np.testing.assert_array_equal(resumed.backend.weights["c/weight"],
                                  reference.backend.weights["c/weight"])
    assert resumed.optimisers[0].alpha == reference.optimisers[0].alpha != 0.05
    for got, want in zip(callbacks[1:], ref_callbacks[1:], strict=True):
        assert str(got.state_dict()) == str(want.state_dict())


def test_early_stopping_state_survives_a_resume():
    network = FakeTrainingNetwork(seed=1)
    stopper = schedules.EarlyStopping("accuracy", patience=2)
    network.train(3, [Checkpoint(), stopper])
    again = schedules.EarlyStopping("accuracy", patience=2)
    FakeTrainingNetwork().train(3, [Checkpoint(), again], resume_from="latest")
    assert (again.best, again.best_epoch, again.wait) == (stopper.best, stopper.best_epoch,
                                                         stopper.wait)
