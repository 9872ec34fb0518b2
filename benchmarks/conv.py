"""Convolutional networks on the NumPy backend: propagation cost, throughput and accuracy.

1. ``propagation``: the per-step cost of delivering one step's spikes
   through a ``Conv2D`` connection, batch 32, inputs spiking with
   probability ``rate`` per step, four ways, timed side by side in this
   process (medians): the backend's two accumulation modes
   (``sequential``: event driven, ordered float32 ``np.add.at``, GeNN's
   order; ``blas``: im2col, one gather and one matmul with the kernel), a
   bare event-driven scatter with one float64 ``bincount``, and a bare dense
   matmul with the expanded ``(n_pre, n_post)`` matrix.  ``*_ratio`` = that
   time / the backend's ``blas`` time.
2. ``digits``: latency-coded 8x8x1 digits (scikit-learn), ``Conv2D(16, 3)``
   LIF -> ``AvgPool2D(2)`` LIF -> dense LI (avg_var) 10, trained with
   EventProp; examples per second of inference at batch 1 and 32 and of
   training at batch 32, and test accuracy after ``epochs`` epochs.
3. ``backward``: EventProp training of that network (examples per second,
   batch 1 and 32; and on the digits upscaled to 16x16, batch 32), with
   the backward pass sweeping the tied connections through their kernels
   (``tied``, what training runs) and, side by side in this process,
   through the expanded dense matrices with the gradient summed back over
   tied positions afterwards (``dense``, what it ran before).
   ``speedup`` = tied rate / dense rate (medians, modes interleaved);
   ``max_rel_grad_diff`` compares the first batch's kernel gradients.

Run: ``python benchmarks/conv.py [--quick] [--only backward]``; prints JSON.
"""

from __future__ import annotations

import sys
import time
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
from spikehooks import EventPropCompiler, InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.backends.numpy_backend import _synaptic
from spikehooks.connectivity import AvgPool2D, Conv2D, Dense
from spikehooks.data import linear_latency_encode_data, load_digits
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

#: (input shape, filters, kernel) of the propagation cases.
CASES = (((8, 8, 1), 16, 3), ((28, 28, 1), 16, 5), ((14, 14, 16), 32, 3))
RATE, BATCH = 0.05, 32
TIMESTEPS = 20


def _lif() -> LeakyIntegrateFire:
    return LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, tau_refrac=None)


def propagation(quick: bool) -> list[dict[str, Any]]:
    """Time one step's delivery four ways for each of :data:`CASES`."""
    return [_time_case(shape, filters, size, quick) for shape, filters, size in CASES]


def _time_case(shape: tuple[int, int, int], filters: int, size: int,
               quick: bool) -> dict[str, Any]:
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), shape)
        layer = Layer(Conv2D(Normal(0.0, 0.1), filters, size), _lif(),
                      synapse=Exponential(5.0))
    conn = layer.connection
    timings: dict[str, float] = {}
    rng = np.random.default_rng(0)
    spikes = rng.random((BATCH, int(np.prod(shape)))) < RATE
    for mode in ("sequential", "blas"):
        compiled = InferenceCompiler(TIMESTEPS, batch_size=BATCH,
                                     backend=("numpy", {"accumulation": mode})).compile(net)
        backend = compiled.backend
        cst, src = backend._conns[conn], backend._pops[conn.source]
        src.spikes[...] = spikes
        out = np.zeros((BATCH, conn.target.num_neurons), np.float32)
        deliver = _synaptic.build_delivery(cst, src, out, sequential=mode == "sequential")
        timings[f"backend_{mode}_s"] = median_time(
            lambda d=deliver: d(0), repeats=5 if quick else 21, warmup=1).median_s
        kernel = cst.weight
    connectivity = conn.connectivity
    dense = connectivity.expand(kernel)
    spikes_f = spikes.astype(np.float32)
    out = np.zeros((BATCH, conn.target.num_neurons), np.float32)
    timings["dense_matmul_s"] = median_time(
        lambda: np.matmul(spikes_f, dense, out=out), repeats=5 if quick else 21,
        warmup=1).median_s
    rows_post, rows_tap = connectivity.row_post, connectivity.row_tap
    width = connectivity.num_post + 1
    flat_kernel = kernel.reshape(-1)

    def scatter() -> np.ndarray:
        entry, pre = np.divmod(np.flatnonzero(spikes), spikes.shape[1])
        targets = rows_post[pre] + entry[:, None] * width
        summed = np.bincount(targets.ravel(), flat_kernel[rows_tap[pre]].ravel(),
                             BATCH * width)
        return summed.reshape(BATCH, width)[:, :-1]

    np.testing.assert_allclose(scatter(), spikes_f @ dense, rtol=1e-4, atol=1e-4)
    timings["event_bincount_s"] = median_time(scatter, repeats=5 if quick else 21,
                                              warmup=1).median_s
    base = timings["backend_blas_s"]
    return {"input_shape": shape, "filters": filters, "kernel": size,
            "dense_matrix_mb": dense.nbytes / 2**20, **timings,
            **{k[:-2] + "_ratio": v / base for k, v in timings.items()}}


def digits_network(batch: int, max_spikes: int, side: int = 8):
    """The benchmark's conv network on ``side x side`` images; returns (network, input, output)."""
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=max_spikes), (side, side, 1))
        Layer(Conv2D(Normal(0.3, 0.3), 16, 3), _lif(), synapse=Exponential(5.0))
        Layer(AvgPool2D(2), _lif(), synapse=Exponential(5.0))
        out = Layer(Dense(Normal(0.0, 0.3)), LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 10,
                    synapse=Exponential(5.0))
    return net, inp, out


def digits(quick: bool, epochs: int) -> dict[str, Any]:
    """Train the conv digits network with EventProp; time inference and training."""
    x_train, y_train, x_test, y_test = load_digits()
    if quick:
        x_train, y_train, x_test, y_test = x_train[:256], y_train[:256], x_test[:128], y_test[:128]
        epochs = 1
    encode = lambda x: linear_latency_encode_data((x * 255).astype(np.uint8), 18.0, 2.0)  # noqa: E731
    s_train, s_test = encode(x_train), encode(x_test)
    net, inp, out = digits_network(32, 32 * 64)
    compiled = EventPropCompiler(TIMESTEPS, "sparse_categorical_crossentropy", Adam(5e-3),
                                 batch_size=32).compile(net)
    with compiled:
        start = time.perf_counter()
        for _ in range(epochs):
            compiled.train({inp: s_train}, {out: y_train}, num_epochs=1, callbacks=[])
        train_s = (time.perf_counter() - start) / epochs
        state = compiled.backend.get_learnable_state()
    figures: dict[str, Any] = {"epochs": epochs, "train_examples": len(s_train),
                               "train_examples_per_s": len(s_train) / train_s}
    for batch in (1, 32):
        rate, accuracy = _inference(net, inp, out, state, batch, s_test, y_test)
        figures[f"inference_batch{batch}_examples_per_s"] = rate
        figures["test_accuracy"] = accuracy
    return figures


def inference_figures(quick: bool) -> list[dict[str, Any]]:
    """Examples per second of the (untrained) digits network, batch 1 and 32, both modes."""
    x, y, _, _ = load_digits()
    x, y = x[:64 if quick else 512], y[:64 if quick else 512]
    spikes = linear_latency_encode_data((x * 255).astype(np.uint8), 18.0, 2.0)
    rows = []
    for batch in (1, 32):
        for mode in ("sequential", "blas"):
            net, inp, out = digits_network(batch, batch * 64)
            num = min(len(spikes), 64 if batch == 1 else len(spikes))
            compiled = InferenceCompiler(TIMESTEPS, batch_size=batch,
                                         backend=("numpy", {"accumulation": mode})).compile(net)
            with compiled:
                timing = median_time(lambda c=compiled, i=inp, o=out, n=num: c.evaluate(
                    {i: spikes[:n]}, {o: y[:n]}, callbacks=[]), repeats=3, warmup=1)
            rows.append({"batch_size": batch, "accumulation": mode,
                         "examples_per_s": num / timing.median_s})
    return rows


def _inference(net: Any, inp: Any, out: Any, state: dict, batch: int, x: list,
               y: np.ndarray) -> tuple[float, float]:
    """Examples per second of evaluate at ``batch`` (on up to 128 examples at batch 1)."""
    num = min(len(x), 128) if batch == 1 else len(x)
    inf = InferenceCompiler(TIMESTEPS, batch_size=batch).compile(net)
    with inf:
        inf.backend.set_learnable_state(state)
        timing = median_time(lambda: inf.evaluate({inp: x[:num]}, {out: y[:num]}, callbacks=[]),
                             repeats=3, warmup=0)
        metrics, _ = inf.evaluate({inp: x}, {out: y}, callbacks=[])
    return num / timing.median_s, float(metrics[out].result)


def _dense_backward(compiled: Any) -> None:
    """Make ``compiled`` sweep tied connections as dense matrices (the former backward pass)."""
    tied_backward = compiled._backward

    def dense(graph, weights, fwd, drive, tied, **kwargs):
        expanded = [w if t is None else t.expand(w) for w, t in zip(weights, tied, strict=True)]
        result = tied_backward(graph, expanded, fwd, drive, [None] * len(tied), **kwargs)
        result.gradients = [g if t is None else t.reduce(g)
                            for g, t in zip(result.gradients, tied, strict=True)]
        return result

    compiled._backward = dense


def backward_figures(quick: bool) -> list[dict[str, Any]]:
    """Training examples per second, tied against dense backward.

    The digits network at batch 1 and 32, and the same digits upscaled to
    16x16 (each pixel repeated 2x2) at batch 32, where the dense matrix of
    the convolution is 16 times larger.
    """
    x, y, _, _ = load_digits()
    rows = []
    for side, batch in ((8, 1), (8, 32), (16, 32)):
        images = x if side == 8 else np.kron(x.reshape(-1, 8, 8), np.ones((2, 2))).reshape(
            len(x), -1)
        spikes = linear_latency_encode_data((images * 255).astype(np.uint8), 18.0, 2.0)
        num = (16 if batch == 1 else 64) if quick else (64 if batch == 1 or side > 8 else 256)
        nets = {}
        for mode in ("dense", "tied"):
            net, inp, out = digits_network(batch, batch * side * side, side)
            compiled = EventPropCompiler(TIMESTEPS, "sparse_categorical_crossentropy",
                                         Adam(5e-3), batch_size=batch,
                                         backend="numpy").compile(net)
            if mode == "dense":
                _dense_backward(compiled)
            nets[mode] = (compiled, inp, out)
        first = {}
        for mode, (compiled, inp, out) in nets.items():
            with compiled:
                compiled.train({inp: spikes[:batch]}, {out: y[:batch]}, num_epochs=1,
                               callbacks=[])
                conv = compiled.network.populations[1].incoming[0]
                first[mode] = compiled.last_gradients[f"{conv.name}/weight"]
        diff = float(np.abs(first["tied"] - first["dense"]).max()
                     / max(np.abs(first["dense"]).max(), 1e-300))
        times: dict[str, list[float]] = {"dense": [], "tied": []}
        for _ in range(3 if quick or side > 8 else 5):
            for mode, (compiled, inp, out) in nets.items():
                with compiled:
                    start = time.perf_counter()
                    compiled.train({inp: spikes[:num]}, {out: y[:num]}, num_epochs=1,
                                   callbacks=[])
                    times[mode].append(time.perf_counter() - start)
        rate = {m: num / float(np.median(t)) for m, t in times.items()}
        tied = conv.connectivity
        rows.append({"input": f"{side}x{side}x1", "batch_size": batch, "examples": num,
                     "dense_examples_per_s": rate["dense"],
                     "tied_examples_per_s": rate["tied"],
                     "speedup": rate["tied"] / rate["dense"], "max_rel_grad_diff": diff,
                     # float64 per-example gradient of the convolution, as each sweep holds it
                     "dense_grad_bytes_per_example": 8 * tied.num_pre * tied.num_post,
                     "tied_grad_bytes_per_example": 8 * int(np.prod(tied.kernel_shape))})
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--only", choices=["backward"], default=None,
                        help="run only the backward-pass comparison")
    args = parser.parse_args(argv)
    with pin_blas_threads(1) as blas:
        if args.only == "backward":
            result: dict[str, Any] = {"backward": backward_figures(args.quick)}
        else:
            result = {"propagation": propagation(args.quick),
                      "digits": digits(args.quick, args.epochs),
                      "backward": backward_figures(args.quick)}
    return {"quick": args.quick, "blas": blas, "machine": machine_info(), **result}


if __name__ == "__main__":
    run_as_script(main)
