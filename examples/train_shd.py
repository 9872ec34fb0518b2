"""Train mlGeNN's recurrent SHD network with EventProp on a generated SHD-shaped data set.

The data are *not* the Spiking Heidelberg Digits: ``generate_shd_like_events``
makes tonic-format event arrays with SHD's shape (700 channels, microsecond
times, 5,000-9,000 events, about 1 s) from class-specific sweeping bands.
The network is mlGeNN's ``examples/event_prop/shd.py``: 700 inputs, a
recurrent layer of LIF neurons (``Dense`` hidden -> hidden), 20 leaky
integrators read out with ``avg_var_exp_weight``, its initialisation,
regularisation (``reg_lambda_upper = reg_lambda_lower = 2.5e-10``,
``reg_nu_upper = 14``) and Adam; trials are 1 ms steps up to the latest
spike.  The learning rate is 0.005 instead of mlGeNN's 0.001, so that the
small data set is learnt in 10 epochs.  With the real data (tonic
installed, SHD downloaded), replace ``generate_shd_like_events`` by
``tonic.datasets.SHD(save_to=...)``: the preprocessing lines stay as they
are.

Run ``python examples/train_shd.py`` (defaults: 64 hidden neurons, 600
training examples of 20 classes, batch 32, 10 epochs: about 4 minutes on
one core); chance is 5%, seed 0 reaches 90% test accuracy.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spikehooks import Callback, Connection, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import (
    calc_latest_spike_time,
    calc_max_spikes,
    generate_shd_like_events,
    preprocess_tonic_spikes,
)
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

ORDERING, SENSOR_SIZE, NUM_CLASSES = "txp", (700, 1, 1), 20
DT = 1.0


class EpochLog(Callback):
    """Print accuracy, loss, clamped jumps and wall time of every epoch."""

    def __init__(self, compiled_net, output):
        self.compiled_net, self.output = compiled_net, output
        self.times: list[float] = []
        self.accuracy: list[float] = []

    def on_epoch_begin(self, epoch):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, metrics):
        self.times.append(time.perf_counter() - self._start)
        self.accuracy.append(metrics[self.output].result)
        print(f"epoch {epoch}: train accuracy {100 * self.accuracy[-1]:.1f}%, "
              f"loss {self.compiled_net.epoch_loss:.4f}, "
              f"clamped jumps {self.compiled_net.clamped_jumps}, {self.times[-1]:.1f} s",
              flush=True)


def build(num_hidden: int, max_spikes: int, batch_size: int):
    """mlGeNN's SHD network (recurrent, avg_var_exp_weight); returns (network, input, output)."""
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=batch_size * max_spikes),
                         int(np.prod(SENSOR_SIZE)))
        hidden = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None),
                            num_hidden)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"),
                         NUM_CLASSES)
        Connection(inp, hidden, Dense(Normal(mean=0.03, sd=0.01)), Exponential(5.0))
        Connection(hidden, hidden, Dense(Normal(mean=0.0, sd=0.02)), Exponential(5.0))
        Connection(hidden, out, Dense(Normal(mean=0.0, sd=0.03)), Exponential(5.0))
    return network, inp, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--test-examples", type=int, default=200)
    parser.add_argument("--num-hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    events, labels = generate_shd_like_events(args.examples + args.test_examples,
                                              NUM_CLASSES, seed=args.seed)
    spikes = [preprocess_tonic_spikes(ev, ORDERING, SENSOR_SIZE) for ev in events]
    max_spikes = calc_max_spikes(spikes)
    steps = int(np.ceil(calc_latest_spike_time(spikes) / DT))
    print(f"max spikes {max_spikes}, latest spike {steps} ms")
    train, test = slice(0, args.examples), slice(args.examples, None)

    network, inp, out = build(args.num_hidden, max_spikes, args.batch_size)
    compiler = EventPropCompiler(example_timesteps=steps,
                                 losses="sparse_categorical_crossentropy",
                                 reg_lambda_upper=2.5e-10, reg_lambda_lower=2.5e-10,
                                 reg_nu_upper=14, max_spikes=1500,
                                 optimiser=Adam(args.learning_rate),
                                 batch_size=args.batch_size, dt=DT, rng_seed=args.seed)
    compiled_net = compiler.compile(network)
    with compiled_net:
        log = EpochLog(compiled_net, out)
        start = time.perf_counter()
        compiled_net.train({inp: spikes[train]}, {out: labels[train]}, num_epochs=args.epochs,
                           shuffle=True, callbacks=[log])
        train_time = time.perf_counter() - start
        metrics, _ = compiled_net.evaluate({inp: spikes[test]}, {out: labels[test]},
                                           callbacks=[])
        clamped = compiled_net.clamped_jumps
    summary = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "num_hidden": args.num_hidden,
        "seed": args.seed,
        "train_accuracy": log.accuracy,
        "test_accuracy": metrics[out].result,
        "clamped_jumps": clamped,
        "train_seconds": train_time,
        "median_epoch_seconds": float(np.median(log.times)),
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
