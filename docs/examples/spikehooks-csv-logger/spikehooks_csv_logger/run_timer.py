"""A global plugin: logs how long every training or inference run took.

Validation inside ``train`` is part of the training run: its callbacks'
``on_test_begin``/``on_test_end`` frame the whole training, so they are not
timed separately.
"""

from __future__ import annotations

import logging
import time

import spikehooks

SPIKEHOOKS_HOOK_API = "1"

logger = logging.getLogger("spikehooks_csv_logger")
_started: dict[str, float] = {}


@spikehooks.hookimpl
def on_test_begin(run):
    if run.mode == "test":
        _started[run.mode] = time.perf_counter()


@spikehooks.hookimpl
def on_test_end(run):
    if run.mode == "test":
        _report(run.mode)


@spikehooks.hookimpl
def on_train_begin(run):
    _started[run.mode] = time.perf_counter()


@spikehooks.hookimpl
def on_train_end(run):
    _report(run.mode)


def _report(mode):
    started = _started.pop(mode, None)
    if started is not None:
        logger.info("%s run took %.3f s", mode, time.perf_counter() - started)
