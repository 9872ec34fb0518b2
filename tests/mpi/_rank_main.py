"""The entry point the MPI worker scripts share: run on this rank, pickle the result."""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable
from typing import Any

from spikehooks.errors import SpikehooksError


def rank_main(parser: Callable[[], argparse.ArgumentParser],
              run: Callable[[argparse.Namespace, Any], dict[str, Any]]) -> None:
    """Parse the worker's options, ``run`` them on this rank, write ``rank<r>.pkl`` to ``out``.

    A library error (every rank gets the same one) is printed as one line
    naming the rank, and the process exits with status 3, without a traceback.
    """
    opts = parser().parse_args()
    from spikehooks.communicators import MPI

    communicator = MPI()
    try:
        result = run(opts, communicator)
    except SpikehooksError as exc:
        print(f"rank {communicator.rank} error: {type(exc).__name__}: {exc}", flush=True)
        sys.exit(3)
    with open(opts.out / f"rank{communicator.rank}.pkl", "wb") as stream:
        pickle.dump(result, stream)
