"""A global plugin: logs how long every training or inference run took."""

from __future__ import annotations

import logging
import time

import spikehooks

SPIKEHOOKS_HOOK_API = "1"

logger = logging.getLogger("spikehooks_csv_logger")
_started: dict[str, float] = {}


@spikehooks.hookimpl
def on_test_begin(run):
    _started[run.mode] = time.perf_counter()


@spikehooks.hookimpl
def on_test_end(run):
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
