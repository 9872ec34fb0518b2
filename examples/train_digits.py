"""Train a 64-128-10 spiking network on scikit-learn's digits with EventProp.

The 8x8 images are latency coded (one spike per pixel, brighter = earlier),
as mlGeNN's latency-MNIST example does; the output is a leaky integrator
read out by its average voltage (``avg_var``).  Needs scikit-learn
(``pip install "spikehooks[datasets]"``).

Run ``python examples/train_digits.py`` (about a minute on one core); the
learning bar is a test accuracy of at least 95%.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spikehooks import Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import EventPropCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import linear_latency_encode_data, load_digits
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

NUM_INPUT, NUM_HIDDEN, NUM_OUTPUT = 64, 128, 10
DT = 1.0
EXAMPLE_TIME = 20.0


class EpochTimer(Callback):
    """Print accuracy, loss and wall time of every epoch."""

    def __init__(self, compiled_net, output):
        self.compiled_net, self.output = compiled_net, output
        self.times: list[float] = []

    def on_epoch_begin(self, epoch):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, metrics):
        self.times.append(time.perf_counter() - self._start)
        print(f"epoch {epoch}: train accuracy {100 * metrics[self.output].result:.1f}%, "
              f"loss {self.compiled_net.epoch_loss:.4f}, {self.times[-1]:.2f} s")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits(test_fraction=0.2, seed=args.seed)
    encode = lambda x: linear_latency_encode_data(  # noqa: E731
        (x * 255).astype(np.uint8), EXAMPLE_TIME - 2 * DT, 2 * DT)
    x_train, x_test = encode(digits.x_train), encode(digits.x_test)

    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=args.batch_size * NUM_INPUT), NUM_INPUT)
        Layer(Dense(Normal(mean=0.4, sd=0.25)),
              LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None,
                                 relative_reset=False, integrate_during_refrac=False,
                                 scale_i=True),
              NUM_HIDDEN, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.2, sd=0.37)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"),
                    NUM_OUTPUT, Exponential(5.0, scale_i=True))

    steps = int(np.ceil(EXAMPLE_TIME / DT))
    compiler = EventPropCompiler(example_timesteps=steps, losses="sparse_categorical_crossentropy",
                                 optimiser=Adam(1e-2), batch_size=args.batch_size, dt=DT,
                                 rng_seed=args.seed,
                                 backend=("numpy", {"accumulation": "blas"}))
    compiled_net = compiler.compile(network)
    with compiled_net:
        timer = EpochTimer(compiled_net, out)
        start = time.perf_counter()
        compiled_net.train({inp: x_train}, {out: digits.y_train}, num_epochs=args.epochs,
                           shuffle=True, callbacks=[timer])
        train_time = time.perf_counter() - start
        metrics, _ = compiled_net.evaluate({inp: x_test}, {out: digits.y_test}, callbacks=[])
    summary = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "test_accuracy": metrics[out].result,
        "train_seconds": train_time,
        "median_epoch_seconds": float(np.median(timer.times)),
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
