"""EventProp training speed: seconds per epoch (NumPy backend; SHD also the default backend).

Tasks (as in ``examples/train_yin_yang.py`` and ``examples/train_digits.py``):

- ``yin_yang``: 5-100-3 LIF, first_spike_time readout, RelativeMeanSquareError,
  dt 0.1 ms, 300 steps, an epoch of 15,360 examples;
- ``digits``: 64-128-10, LIF hidden, avg_var readout, cross-entropy,
  dt 1 ms, 20 steps, an epoch of 1,437 examples;
- ``shd``: mlGeNN's SHD network (700-256-20, recurrent hidden layer,
  avg_var_exp_weight readout, its regularisation, Adam(0.001)) on generated
  SHD-shaped events (``examples/train_shd.py``), dt 1 ms, 1,000 steps, an
  epoch of 8,156 examples (SHD's training set), always extrapolated.

yin_yang and digits at batch sizes 1, 32 and 512, shd at 1, 32 and 256;
BLAS pinned to one thread, backend accumulation ``"blas"``.  shd runs twice
per batch size, side by side: on the default backend (``"compiled"`` when
numba is installed, one thread so the two are compared on one core) and on
the NumPy backend (its default ``"sequential"`` accumulation, which the
compiled backend reproduces bit for bit).  Without ``--quick`` the run ends with the SHD-shaped
example's accuracy (``examples/train_shd.py`` at its defaults).

A run trains on the first ``examples_timed`` examples (one epoch of
``train()``, callbacks off) and reports the median seconds per example times
the epoch size; ``extrapolated`` is True when fewer examples than an epoch
were timed (``--quick``: ``max(64, batch)`` examples, shd one batch; full:
yin_yang at batch size 1 times 1,024 examples, shd ``max(64, batch)``).

Also the convolutional digits network of ``benchmarks/conv.py`` (``conv_digits``:
5 epochs at batch 32, examples per second and test accuracy), and e-prop on
mlGeNN's pattern-recognition task (``benchmarks/eprop.py``,
``eprop_pattern_recognition``: seconds per epoch, the ratio to a forward
pass, and the per-step error reached).

Run: ``python benchmarks/training.py [--quick] [--tasks shd]``; prints JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks import conv, eprop
from benchmarks._common import (
    machine_info,
    make_parser,
    median_time,
    pin_blas_threads,
    run_as_script,
)
from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.backends._default import default_backend_name
from spikehooks.compilers import EventPropCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import (
    calc_max_spikes,
    generate_shd_like_events,
    generate_yin_yang_dataset,
    linear_latency_encode_data,
    preprocess_tonic_spikes,
)
from spikehooks.initializers import Normal
from spikehooks.losses import RelativeMeanSquareError
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

BATCH_SIZES = {"yin_yang": (1, 32, 512), "digits": (1, 32, 512), "shd": (1, 32, 256)}
EPOCH_EXAMPLES = {"yin_yang": 15360, "digits": 1437, "shd": 8156}


def _lif(**kwargs: Any) -> LeakyIntegrateFire:
    return LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, integrate_during_refrac=False,
                              scale_i=True, **kwargs)


def _yin_yang(batch: int, num: int):
    dt = 0.1
    x, y = generate_yin_yang_dataset(num, 30.0 - 4 * dt, 2 * dt, seed=0)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=batch * 5), 5)
        Layer(Dense(Normal(mean=1.5, sd=0.78)), _lif(), 100, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.93, sd=0.1)), _lif(readout="first_spike_time"), 3,
                    Exponential(5.0, scale_i=True))
    compiler = EventPropCompiler(300, RelativeMeanSquareError(2.0), Adam(0.003, 0.9, 0.99),
                                 batch_size=batch, dt=dt,
                                 backend=("numpy", {"accumulation": "blas"}))
    return compiler.compile(net), inp, out, x, y


def _digits(batch: int, num: int):
    rng = np.random.default_rng(0)
    # Digit-like latency data: timing only depends on sizes and spike counts.
    pixels = (rng.uniform(0, 1, (num, 64)) * (rng.uniform(0, 1, (num, 64)) < 0.5) * 255)
    x = linear_latency_encode_data(pixels.astype(np.uint8), 18.0, 2.0)
    y = rng.integers(0, 10, num)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=batch * 64), 64)
        Layer(Dense(Normal(mean=0.4, sd=0.25)), _lif(), 128, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.2, sd=0.37)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"), 10,
                    Exponential(5.0, scale_i=True))
    compiler = EventPropCompiler(20, "sparse_categorical_crossentropy", Adam(1e-2),
                                 batch_size=batch, backend=("numpy", {"accumulation": "blas"}))
    return compiler.compile(net), inp, out, x, y


def _shd(batch: int, num: int, backend: str = "default"):
    from examples.train_shd import build

    events, labels = generate_shd_like_events(num, 20, seed=0)
    x = [preprocess_tonic_spikes(ev, "txp", (700, 1, 1)) for ev in events]
    net, inp, out = build(256, calc_max_spikes(x), batch)
    options: Any = {"numpy": "numpy", "default": None}[backend]
    if backend == "default" and default_backend_name() == "compiled":
        options = ("compiled", {"num_threads": 1})
    compiler = EventPropCompiler(1000, "sparse_categorical_crossentropy", Adam(1e-3),
                                 batch_size=batch, reg_lambda_upper=2.5e-10,
                                 reg_lambda_lower=2.5e-10, reg_nu_upper=14, backend=options)
    compiled = compiler.compile(net)
    return compiled, inp, out, x, labels


def _examples_timed(task: str, batch: int, quick: bool) -> int:
    epoch = EPOCH_EXAMPLES[task]
    if task == "shd":
        return batch if quick else max(batch, 64)
    if quick:
        return min(epoch, max(batch, 64))
    if task == "yin_yang" and batch == 1:
        return 1024
    return epoch


def measure(task: str, batch: int, quick: bool, backend: str = "numpy") -> dict[str, Any]:
    """Time one epoch (or a fraction) of ``task`` at ``batch``; return its figures.

    ``backend`` (shd only): ``"default"`` or ``"numpy"``.
    """
    num = _examples_timed(task, batch, quick)
    if task == "shd":
        compiled, inp, out, x, y = _shd(batch, num, backend)
    else:
        compiled, inp, out, x, y = {"yin_yang": _yin_yang, "digits": _digits}[task](batch, num)
    with compiled:
        # The compiled backend's kernels are compiled (or loaded from numba's cache) on the
        # first batch: one batch first, so the timed epoch holds no JIT time.
        if getattr(compiled.backend, "name", "") == "compiled":
            compiled.train({inp: x[:batch]}, {out: y[:batch]}, num_epochs=1, callbacks=[])
        timing = median_time(
            lambda: compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[]),
            repeats=1 if quick else 3, warmup=0,
        )
    per_example = timing.median_s / num
    return {
        "task": task,
        "backend": getattr(compiled.backend, "name", "numpy"),
        "batch_size": batch,
        "examples_timed": num,
        "epoch_examples": EPOCH_EXAMPLES[task],
        "extrapolated": num < EPOCH_EXAMPLES[task],
        "seconds_per_epoch": per_example * EPOCH_EXAMPLES[task],
        "timed": timing.as_dict(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    tasks = ("yin_yang", "digits", "shd", "eprop_pattern_recognition")
    parser.add_argument("--tasks", nargs="+", choices=tasks, default=list(tasks),
                        help="tasks to time")
    args = parser.parse_args(argv)
    results = []
    with pin_blas_threads(1) as blas:
        for task in (task for task in args.tasks if task in BATCH_SIZES):
            for batch in BATCH_SIZES[task]:
                for backend in ("default", "numpy") if task == "shd" else ("numpy",):
                    results.append(measure(task, batch, args.quick, backend))
        accuracy = None
        if not args.quick and "shd" in args.tasks:
            from examples.train_shd import main as train_shd

            accuracy = train_shd([])
        # The conv network (benchmarks/conv.py): epoch throughput at batch 32 and accuracy.
        conv_digits = conv.digits(args.quick, epochs=5) if "digits" in args.tasks else None
        eprop_pattern = (eprop.pattern_recognition(args.quick)
                         if "eprop_pattern_recognition" in args.tasks else None)
    return {"quick": args.quick, "blas": blas, "machine": machine_info(), "results": results,
            "shd_example": accuracy, "conv_digits": conv_digits,
            "eprop_pattern_recognition": eprop_pattern}


if __name__ == "__main__":
    run_as_script(main)
