"""Train mlGeNN's Yin-Yang network with EventProp and time-to-first-spike outputs.

Architecture as mlGeNN's ``examples/event_prop/yin_yang.py``: the four
coordinates ``(x, y, 1 - x, 1 - y)`` plus a bias spike, latency coded in a
30 ms trial; 100 hidden and 3 output LIF neurons (``tau_mem=20``,
``Exponential(5)``), weights N(1.5, 0.78) and N(0.93, 0.1); the class is
the output that fires first (``first_spike_time`` readout).  The loss is
mlGeNN's cross-entropy over ``-t / 0.5`` with ``ttfs_alpha=0.1`` (default),
or ``RelativeMeanSquareError(delta)`` (``--loss relative_mse [--delta 2.0]``).  We run at
``dt=0.1`` ms (mlGeNN: 0.01) to keep NumPy epochs short.

Run ``python examples/train_yin_yang.py``; the learning bar is a test
accuracy of at least 93%.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spikehooks import Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import EventPropCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import generate_yin_yang_dataset
from spikehooks.initializers import Normal
from spikehooks.losses import RelativeMeanSquareError
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

NUM_INPUT, NUM_HIDDEN, NUM_OUTPUT = 5, 100, 3
EXAMPLE_TIME = 30.0


class Schedule(Callback):
    """mlGeNN's example schedule ``alpha = alpha0 * 0.998 ** epoch``; prints each epoch."""

    def __init__(self, compiled_net, output, alpha0):
        self.compiled_net, self.output, self.alpha0 = compiled_net, output, alpha0
        self.times: list[float] = []

    def on_epoch_begin(self, epoch):
        self.compiled_net.optimisers[0][0].alpha = self.alpha0 * 0.998**epoch
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, metrics):
        self.times.append(time.perf_counter() - self._start)
        print(f"epoch {epoch}: train accuracy {100 * metrics[self.output].result:.1f}%, "
              f"loss {self.compiled_net.epoch_loss:.4f}, {self.times[-1]:.2f} s")


def lif(**kwargs):
    return LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None, relative_reset=False,
                              integrate_during_refrac=False, scale_i=True, **kwargs)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--num-train", type=int, default=512 * 10 * 3)
    parser.add_argument("--num-test", type=int, default=512 * 2 * 3)
    parser.add_argument("--loss", choices=["relative_mse", "cross_entropy"],
                        default="cross_entropy")
    parser.add_argument("--delta", type=float, default=2.0,
                        help="relative_mse: desired lead of the correct output (ms)")
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dt = args.dt

    spikes, labels = generate_yin_yang_dataset(args.num_train, EXAMPLE_TIME - 4 * dt, 2 * dt,
                                               seed=args.seed)
    test_spikes, test_labels = generate_yin_yang_dataset(args.num_test, EXAMPLE_TIME - 4 * dt,
                                                         2 * dt, seed=args.seed + 1000)

    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=args.batch_size * NUM_INPUT), NUM_INPUT)
        Layer(Dense(Normal(mean=1.5, sd=0.78)), lif(), NUM_HIDDEN,
              Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.93, sd=0.1)), lif(readout="first_spike_time"),
                    NUM_OUTPUT, Exponential(5.0, scale_i=True))

    if args.loss == "relative_mse":
        loss, extra = RelativeMeanSquareError(args.delta), {}
    else:
        loss, extra = "sparse_categorical_crossentropy", {"softmax_temperature": 0.5,
                                                           "ttfs_alpha": 0.1}
    compiler = EventPropCompiler(example_timesteps=int(np.ceil(EXAMPLE_TIME / dt)), losses=loss,
                                 optimiser=Adam(args.lr, 0.9, 0.99), batch_size=args.batch_size,
                                 dt=dt, rng_seed=args.seed,
                                 backend=("numpy", {"accumulation": "blas"}), **extra)
    compiled_net = compiler.compile(network)
    with compiled_net:
        schedule = Schedule(compiled_net, out, args.lr)
        start = time.perf_counter()
        compiled_net.train({inp: spikes}, {out: labels}, num_epochs=args.epochs, shuffle=True,
                           callbacks=[schedule])
        train_time = time.perf_counter() - start
        metrics, _ = compiled_net.evaluate({inp: test_spikes}, {out: test_labels}, callbacks=[])
    summary = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "dt": dt,
        "loss": args.loss,
        "seed": args.seed,
        "test_accuracy": metrics[out].result,
        "train_seconds": train_time,
        "median_epoch_seconds": float(np.median(schedule.times)),
        "clamped_jumps": compiled_net.clamped_jumps,
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
