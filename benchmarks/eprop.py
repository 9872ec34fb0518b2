"""e-prop on mlGeNN's pattern-recognition task: seconds per epoch and the error reached.

The task of mlGeNN's ``examples/eprop/pattern_recognition.py``: 20 inputs
firing in groups of 4, one group per 200 ms; 256 recurrent LIF neurons
(``v_thresh`` 0.61, ``tau_refrac`` 5 ms); 3 leaky-integrator outputs that
must follow sums of 2, 3 and 5 Hz sinusoids over 1,000 steps of 1 ms
(``mean_square_error``, ``Adam(0.003)``, ``c_reg`` 3, batch 1: one example,
one optimiser step per epoch).

Timed side by side in one process (medians): an e-prop training epoch, and
the same network's forward pass alone (``evaluate`` on the same backend);
``overhead_ratio`` = e-prop epoch / forward pass.  Then training continues
to ``epochs`` epochs and the per-step mean square error of the outputs is
reported at epoch 0 and at the end.

Run: ``python benchmarks/eprop.py [--quick]``; prints JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import (
    machine_info,
    make_parser,
    median_time,
    pin_blas_threads,
    run_as_script,
)
from spikehooks import Connection, Network, Population
from spikehooks.compilers import EPropCompiler
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam

STEPS = 1000


def task(seed: int = 0) -> tuple[Any, np.ndarray]:
    """The input spikes (PreprocessedSpikes) and the (1, 1000, 3) target of the task."""
    rng = np.random.default_rng(seed)
    phase = rng.random((3, 3)) * 2.0 * np.pi
    amplitude = 0.5 + rng.random((3, 3)) * 1.5
    sines = np.sin(np.outer(np.arange(STEPS), np.array([2.0, 3.0, 5.0]) * np.pi / 1000.0))
    target = np.stack([sines @ amplitude[i] + phase[i].sum() for i in range(3)], axis=1)
    group = np.arange(20) // 4
    times = np.arange(0, 200, 10)[None, :] + 200 * group[:, None]
    ids = np.repeat(np.arange(20), times.shape[1])
    spikes = preprocess_spikes(times.ravel().astype(float), ids, 20)
    return spikes, target[None]


def build(seed: int = 0) -> tuple[Any, Any, Any]:
    """The network and its EPropCompiler-compiled form: ``(compiled, input, output)``."""
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=400), 20)
        hidden = Population(LeakyIntegrateFire(v_thresh=0.61, tau_mem=20.0, tau_refrac=5.0),
                            256)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="var"), 3)
        Connection(inp, hidden, Dense(Normal(sd=1.0 / np.sqrt(20))))
        Connection(hidden, hidden, Dense(Normal(sd=1.0 / np.sqrt(256))))
        Connection(hidden, out, Dense(Normal(sd=1.0 / np.sqrt(256))))
    compiler = EPropCompiler(example_timesteps=STEPS, losses="mean_square_error",
                             optimiser=Adam(0.003), c_reg=3.0, rng_seed=seed)
    return compiler.compile(network), inp, out


def pattern_recognition(quick: bool, epochs: int | None = None) -> dict[str, Any]:
    """Time e-prop epochs against forward passes, then train on; return the figures."""
    repeats = 3 if quick else 7
    epochs = epochs if epochs is not None else (10 if quick else 300)
    spikes, target = task()
    compiled, inp, out = build()
    errors = []
    with compiled:
        def epoch() -> None:
            metrics, _ = compiled.train({inp: [spikes]}, {out: target}, num_epochs=1,
                                        start_epoch=len(errors), callbacks=[])
            errors.append(metrics[out].result)

        def forward() -> None:
            compiled.evaluate({inp: [spikes]}, {out: target[:, -1]},
                              metrics="mean_square_error", callbacks=[])

        train_t = median_time(epoch, repeats=repeats, warmup=1)
        forward_t = median_time(forward, repeats=repeats, warmup=1)
        while len(errors) < epochs:
            epoch()
    return {
        "task": "pattern_recognition",
        "steps": STEPS,
        "hidden": 256,
        "seconds_per_epoch": train_t.median_s,
        "forward_seconds": forward_t.median_s,
        "overhead_ratio": train_t.median_s / forward_t.median_s,
        "epochs": len(errors),
        "mse_first_epoch": errors[0],
        "mse_last_epoch": errors[-1],
        "timed": {"epoch": train_t.as_dict(), "forward": forward_t.as_dict()},
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    with pin_blas_threads(1) as blas:
        result = pattern_recognition(args.quick)
    return {"quick": args.quick, "blas": blas, "machine": machine_info(), **result}


if __name__ == "__main__":
    run_as_script(main)
