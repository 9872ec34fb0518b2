"""Data-parallel EventProp training of the Yin-Yang network over MPI (mlGeNN's MPI example shape).

Launch on N processes::

    mpiexec -n 2 python examples/train_yin_yang_mpi.py [--epochs 10] [--checkpoints DIR]

As in mlGeNN's ``latency_mnist_mpi.py``: every rank creates ``MPI()``, takes
its own slice ``slice(rank, None, num_ranks)`` of the training data, and
compiles with ``communicator=``; ``batch_size`` is the global batch, split
across ranks.  Only rank 0 gets the progress bar and the checkpoint.  After
training, every rank evaluates the test set with ``shard=True`` (each
simulates its share) and rank 0 prints the global accuracy as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.communicators import MPI
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import generate_yin_yang_dataset
from spikehooks.initializers import Normal
from spikehooks.losses import RelativeMeanSquareError
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

BATCH_SIZE = 32
DT = 0.1
EXAMPLE_TIME = 30.0


def lif(**kwargs):
    return LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None, relative_reset=False,
                              integrate_during_refrac=False, scale_i=True, **kwargs)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-examples", type=int, default=5120)
    parser.add_argument("--test-examples", type=int, default=1000)
    parser.add_argument("--checkpoints", default="yin_yang_mpi_checkpoints")
    args = parser.parse_args(argv)

    communicator = MPI()
    print(f"Training on rank {communicator.rank} / {communicator.num_ranks}")
    train_slice = slice(communicator.rank, None, communicator.num_ranks)
    x, y = generate_yin_yang_dataset(args.train_examples, EXAMPLE_TIME - 4 * DT, 2 * DT, seed=0)
    x, y = x[train_slice], y[train_slice]
    x_test, y_test = generate_yin_yang_dataset(args.test_examples, EXAMPLE_TIME - 4 * DT,
                                               2 * DT, seed=1)

    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=BATCH_SIZE * 5), 5)
        Layer(Dense(Normal(mean=1.5, sd=0.78)), lif(), 100, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.93, sd=0.1)), lif(readout="first_spike_time"), 3,
                    Exponential(5.0, scale_i=True))

    steps = int(round(EXAMPLE_TIME / DT))
    compiler = EventPropCompiler(example_timesteps=steps, losses=RelativeMeanSquareError(2.0),
                                 optimiser=Adam(0.003, 0.9, 0.99), batch_size=BATCH_SIZE, dt=DT,
                                 communicator=communicator)
    compiled_net = compiler.compile(network)
    with compiled_net:
        start = time.perf_counter()
        if communicator.rank == 0:
            from spikehooks_checkpoint import Checkpoint

            callbacks = ["batch_progress_bar", Checkpoint(path=args.checkpoints)]
        else:
            callbacks = []
        metrics, _ = compiled_net.train({inp: x}, {out: y}, num_epochs=args.epochs,
                                        shuffle=True, callbacks=callbacks)
        train_time = time.perf_counter() - start

    evaluator = InferenceCompiler(evaluate_timesteps=steps, dt=DT, batch_size=BATCH_SIZE,
                                  communicator=communicator).compile(network)
    with evaluator:
        test_metrics, _ = evaluator.evaluate({inp: x_test}, {out: y_test}, callbacks=[],
                                             shard=True)
    summary = {"ranks": communicator.num_ranks, "train_accuracy": metrics[out].result,
               "test_accuracy": test_metrics[out].result, "train_time_s": train_time}
    if communicator.rank == 0:
        print(json.dumps(summary))
        return summary
    return None


if __name__ == "__main__":
    main()
