"""One process of the data-parallel e-prop tests: ``mpiexec -n N python _eprop_worker.py OUT
[options]``.

Also imported by the tests, which call :func:`run` with ``communicator=None``
for the single-process reference.  Each rank writes ``OUT/rank<r>.pkl``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from _rank_main import rank_main

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EPropCompiler
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import AdaptiveLeakyIntegrateFire, LeakyIntegrate, SpikeInput
from spikehooks.optimisers import Adam

N_IN, N_HID, N_OUT, STEPS = 6, 10, 3, 30


def data(num: int) -> tuple[list, np.ndarray]:
    """``num`` random input rasters (rate 0.2 per step and input) and labels 0..2."""
    rng = np.random.default_rng(7)
    spikes = rng.random((num, STEPS, N_IN)) < 0.2
    x = []
    for example in spikes:
        t, i = np.nonzero(example)
        x.append(preprocess_spikes(t.astype(float), i, N_IN))
    return x, rng.integers(0, N_OUT, num)


def network(sparse: bool = False) -> tuple[Network, Any, Any, Any]:
    """Input -> recurrent adaptive LIF -> LeakyIntegrate, weights from a fixed seed.

    ``sparse``: the input and recurrent connections are ``FixedProbability(0.6)``.
    """
    rng = np.random.default_rng(3)

    def conn(weight: np.ndarray) -> Any:
        return FixedProbability(0.6, weight) if sparse else Dense(weight)
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=10000), N_IN, name="inp")
        hid = Population(AdaptiveLeakyIntegrateFire(v_thresh=0.6, tau_refrac=3.0, beta=0.2),
                         N_HID, name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="sum_var"), N_OUT, name="out")
        Connection(inp, hid, conn(rng.normal(0.5, 0.4, (N_IN, N_HID))), name="in_hid")
        Connection(hid, hid, conn(rng.normal(0.0, 0.3, (N_HID, N_HID))), name="hid_hid")
        Connection(hid, out, Dense(rng.normal(0.0, 0.5, (N_HID, N_OUT))), name="hid_out")
    return net, inp, hid, out


def run(opts: argparse.Namespace, communicator: Any = None) -> dict[str, Any]:
    """Train; return the learnable state, the filtered rates, the carried state of this
    rank's batch rows, metrics and optimiser step."""
    rank = 0 if communicator is None else communicator.rank
    num_ranks = 1 if communicator is None else communicator.num_ranks
    x, y = data(opts.num_examples)
    if opts.slice and communicator is not None:
        # mlGeNN's way: each rank passes its own slice of the data.
        x, y = x[rank::num_ranks], y[rank::num_ranks]
    net, inp, hid, out = network(sparse=opts.deep_r)
    deep_r = {"deep_r_conns": net.connections[:2], "deep_r_l1_strength": 5.0,
              "deep_r_record_rewirings": {net.connections[1]: "rewired"}} if opts.deep_r else {}
    # As mlGeNN's MPI examples do, a rank may derive example_timesteps from its own data.
    steps = STEPS + (opts.more_steps_on_rank_1 if rank == 1 else 0) + opts.more_steps
    compiled = EPropCompiler(example_timesteps=steps, losses="sparse_categorical_crossentropy",
                             optimiser=Adam(0.01), batch_size=opts.batch, c_reg=opts.c_reg,
                             communicator=communicator, **deep_r).compile(net)
    with compiled:
        metrics, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=opts.epochs,
                                    shuffle=opts.shuffle, callbacks=[],
                                    shard=opts.shard and communicator is not None)
        state = compiled.state_dict()
        # What this rank's batch rows carry into the next batch.
        carry = dict(compiled.eprop.carry.state(),
                     V=compiled.backend.live_vars(hid)["V"].copy())
    return {"learnable": state["learnable"], "favg": state["eprop_favg"], "carry": carry,
            "accuracy": metrics[out].result, "epoch_loss": compiled.epoch_loss,
            "step": compiled.optimisers[0][0].step, "num_timesteps": compiled.num_timesteps,
            "deep_r": state.get("deep_r"), "rewired": cb_data.get("rewired")}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--batch", type=int, default=4, help="global batch size")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--num-examples", type=int, default=14)
    p.add_argument("--c-reg", type=float, default=0.5)
    p.add_argument("--more-steps", type=int, default=0)
    p.add_argument("--more-steps-on-rank-1", type=int, default=0)
    p.add_argument("--shard", action="store_true")
    p.add_argument("--slice", action="store_true")
    p.add_argument("--shuffle", action="store_true")
    p.add_argument("--deep-r", action="store_true", help="rewire in_hid and hid_hid")
    return p


def options(*args: str) -> argparse.Namespace:
    """Parse worker options (for the in-process single-process reference)."""
    return parser().parse_args(["unused", *args])


def main() -> None:
    rank_main(parser, run)


if __name__ == "__main__":
    main()
