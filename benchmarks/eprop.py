"""e-prop on mlGeNN's pattern-recognition task: NumPy and compiled backends side by side.

The task of mlGeNN's ``examples/eprop/pattern_recognition.py``: 20 inputs
firing in groups of 4, one group per 200 ms; 256 recurrent LIF neurons
(``v_thresh`` 0.61, ``tau_refrac`` 5 ms); 3 leaky-integrator outputs that
must follow sums of 2, 3 and 5 Hz sinusoids over 1,000 steps of 1 ms
(``mean_square_error``, ``Adam(0.003)``, ``c_reg`` 3, batch 1: one example,
one optimiser step per epoch).

The same network (same initial weights) is compiled for the NumPy backend
and for the compiled (numba) backend.  Timed in one process, the two
alternating, medians of several runs: an e-prop training epoch and the same
network's forward pass alone (``evaluate`` on the same backend);
``numpy_over_compiled`` is the speed-up of the compiled backend,
``overhead_ratio`` a backend's e-prop epoch over its forward pass.  Then each
network trains on to ``epochs`` epochs and the per-step mean square error of
the outputs is reported at epoch 0 and at the end, with the largest weight
difference between the two backends.  The load average before and after
is in ``machine`` and ``load_after``.

With ``--adaptive`` the hidden neurons are ``AdaptiveLeakyIntegrateFire``
(same ``v_thresh``, ``tau_mem`` and ``tau_refrac``; mlGeNN's default
``beta`` 0.0174 and ``tau_adapt`` 2,000 ms), the neuron of mlGeNN's SHD
classifier.

Run: ``python benchmarks/eprop.py [--quick] [--adaptive]``; prints JSON.
"""

from __future__ import annotations

import os
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
from spikehooks.neurons import (
    AdaptiveLeakyIntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
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


def build(seed: int = 0, backend: str = "numpy",
          adaptive: bool = False) -> tuple[Any, Any, Any]:
    """The network compiled for e-prop on ``backend``: ``(compiled, input, output)``."""
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=400), 20)
        kind = AdaptiveLeakyIntegrateFire if adaptive else LeakyIntegrateFire
        hidden = Population(kind(v_thresh=0.61, tau_mem=20.0, tau_refrac=5.0), 256)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="var"), 3)
        Connection(inp, hidden, Dense(Normal(sd=1.0 / np.sqrt(20))))
        Connection(hidden, hidden, Dense(Normal(sd=1.0 / np.sqrt(256))))
        Connection(hidden, out, Dense(Normal(sd=1.0 / np.sqrt(256))))
    compiler = EPropCompiler(example_timesteps=STEPS, losses="mean_square_error",
                             optimiser=Adam(0.003), c_reg=3.0, rng_seed=seed, backend=backend)
    return compiler.compile(network), inp, out


class _Runner:
    """One backend's compiled network, its epoch and forward-pass calls, its errors."""

    def __init__(self, backend: str, spikes: Any, target: np.ndarray, adaptive: bool = False):
        self.compiled, self.inp, self.out = build(backend=backend, adaptive=adaptive)
        self.spikes, self.target = spikes, target
        self.errors: list[float] = []
        self.compiled.__enter__()

    def epoch(self) -> None:
        metrics, _ = self.compiled.train({self.inp: [self.spikes]}, {self.out: self.target},
                                         num_epochs=1, start_epoch=len(self.errors),
                                         callbacks=[])
        self.errors.append(metrics[self.out].result)

    def forward(self) -> None:
        self.compiled.evaluate({self.inp: [self.spikes]}, {self.out: self.target[:, -1]},
                               metrics="mean_square_error", callbacks=[])


def _alternating(fns: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Median times of each call, the calls alternating so load hits them alike."""
    for fn in fns.values():
        fn()   # warm-up: numba compilation, caches
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(median_time(fn, repeats=1, warmup=0).median_s)
    return {name: {"median_s": float(np.median(s)), "samples_s": s}
            for name, s in samples.items()}


def pattern_recognition(quick: bool, epochs: int | None = None,
                        adaptive: bool = False) -> dict[str, Any]:
    """Time e-prop epochs and forward passes on both backends, then train on
    (``adaptive``: ALIF hidden neurons)."""
    repeats = 3 if quick else 7
    epochs = epochs if epochs is not None else (10 if quick else 300)
    spikes, target = task()
    runners = {name: _Runner(name, spikes, target, adaptive)
               for name in ("numpy", "compiled")}
    try:
        timed = _alternating({f"{name}_{kind}": getattr(run, kind)
                              for name, run in runners.items()
                              for kind in ("epoch", "forward")}, repeats)
        for run in runners.values():
            while len(run.errors) < epochs:
                run.epoch()
        weights = {name: run.compiled.learnable_state() for name, run in runners.items()}
    finally:
        for run in runners.values():
            run.compiled.__exit__(None, None, None)
    med = {name: t["median_s"] for name, t in timed.items()}
    return {
        "task": "pattern_recognition",
        "steps": STEPS,
        "hidden": 256,
        "hidden_neuron": "AdaptiveLeakyIntegrateFire" if adaptive else "LeakyIntegrateFire",
        "seconds_per_epoch": {name: med[f"{name}_epoch"] for name in runners},
        "forward_seconds": {name: med[f"{name}_forward"] for name in runners},
        "numpy_over_compiled": {
            "epoch": med["numpy_epoch"] / med["compiled_epoch"],
            "forward": med["numpy_forward"] / med["compiled_forward"],
        },
        "overhead_ratio": {name: med[f"{name}_epoch"] / med[f"{name}_forward"]
                           for name in runners},
        "epochs": epochs,
        "mse_first_epoch": {name: run.errors[0] for name, run in runners.items()},
        "mse_last_epoch": {name: run.errors[-1] for name, run in runners.items()},
        "max_weight_difference": max(
            float(np.abs(weights["numpy"][k] - weights["compiled"][k]).max())
            for k in weights["numpy"]),
        "timed": timed,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--adaptive", action="store_true",
                        help="AdaptiveLeakyIntegrateFire hidden neurons (mlGeNN's SHD neuron)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs to train on after the timing (default 300, quick 10)")
    args = parser.parse_args(argv)
    with pin_blas_threads(1) as blas:
        result = pattern_recognition(args.quick, args.epochs, args.adaptive)
    return {"quick": args.quick, "blas": blas, "machine": machine_info(), **result,
            "load_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


if __name__ == "__main__":
    run_as_script(main)
