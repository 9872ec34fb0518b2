"""Few-spike inference of converted ReLU networks (Stoeckl & Maass 2021).

mlGeNN runs few-spike networks as a pipeline: every population spends ``k``
timesteps on an example, connections are delayed so spikes of a layer reach
the next one block by block, and the output of an example appears after as
many blocks as the network is deep.  Every block of a layer depends only on
the previous layer's block, so this compiler computes the same spikes
population by population, ``k`` steps each, in topological order:

- an input codes its value (:func:`spikehooks.neurons.few_spike.encode`);
- a ``FewSpikeRelu`` sums, over incoming connections, the weights times the
  value each source's spikes stand for (``Fx``), then codes ``Fx`` (which
  codes ``relu(Fx)``, clipped to ``[0, alpha)``);
- a ``"var"`` readout reads ``Fx`` of the output.

Only the whole-block ``Fx`` is kept, so the readout includes the last digit
of the previous layer, which mlGeNN's pipelined readout reads one step later.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..checks import make_rng
from ..connectivity import OneToOne, TiedConnectivity
from ..errors import ConfigurationError, NotCompiledError
from ..neurons import FewSpikeRelu, FewSpikeReluInput
from ..neurons.few_spike import decode, encode
from ..readouts import Var
from ..synapses import Delta
from . import _data
from ._batch_iter import _batch_dicts
from ._genn_kwargs import check_genn_kwargs
from .compiler import check_model_name, check_positive_int


class FewSpikeCompiler:
    """Compile a network of few-spike neurons for inference.

    Parameters
    ----------
    k : int
        Timesteps per example and layer; every neuron's ``k`` must equal it.
    dt : float
        Timestep in ms (spike times of a block are ``t * dt``).
    batch_size : int
        Examples per batch.
    rng_seed : int
        Seed of the weights drawn from initializers.
    kernel_profiling, prefer_in_memory_connect : bool
        Accepted for mlGeNN scripts; they only concern GeNN.
    communicator : None
        mlGeNN's data-parallel communicator; few-spike inference runs in one
        process, so only None is accepted.
    **genn_kwargs
        mlGeNN's keywords for GeNN's model: GeNN's own names are accepted
        and unused, any other name is refused (a misspelt parameter).
    """

    def __init__(self, k: int = 10, dt: float = 1.0, batch_size: int = 1, rng_seed: int = 0,
                 kernel_profiling: bool = False, prefer_in_memory_connect: bool = True,
                 communicator: Any = None, **genn_kwargs: Any):
        self.genn_kwargs = check_genn_kwargs(genn_kwargs, "FewSpikeCompiler")
        self.k = check_positive_int(k, "FewSpikeCompiler", "k")
        self.dt = float(dt)
        self.batch_size = check_positive_int(batch_size, "FewSpikeCompiler", "batch_size")
        self.rng_seed = rng_seed
        self.kernel_profiling = bool(kernel_profiling)
        self.prefer_in_memory_connect = bool(prefer_in_memory_connect)
        if communicator is not None:
            raise ConfigurationError(
                f"FewSpikeCompiler communicator must be None; got "
                f"{type(communicator).__name__}. Data-parallel few-spike inference is not "
                f"supported: evaluate in one process (it needs no GPU)."
            )
        self.communicator = None

    def compile(self, network: Any, name: str | None = None, inputs: Any = None,
                outputs: Any = None) -> CompiledFewSpikeNetwork:
        """Check ``network`` and draw its weights; returns a compiled few-spike network.

        Parameters
        ----------
        network : Network
        name : str, optional
            mlGeNN's model name; it becomes ``compiled_net.name``.
        inputs, outputs : Population or sequence of Population, optional
            mlGeNN's pipeline ends (its ``compile(network, inputs=..., outputs=...)``).
            They must be populations of ``network``, inputs of few-spike
            input neurons; the whole network is computed either way, which
            gives the outputs the same values.
        """
        check_model_name(name)
        for role, given in (("inputs", inputs), ("outputs", outputs)):
            pops: Any = () if given is None else given
            for item in pops if isinstance(pops, (list, tuple)) else (pops,):
                member: Any = getattr(item, "population", item)
                if member not in network.populations or (
                        role == "inputs" and not isinstance(member.neuron, FewSpikeReluInput)):
                    raise ConfigurationError(
                        f"FewSpikeCompiler compile {role} must be "
                        f"{'FewSpikeReluInput ' if role == 'inputs' else ''}populations of "
                        f"the network; got {member!r}. Pass the layers of the network compiled."
                    )
        rng = make_rng(self.rng_seed, "FewSpikeCompiler")
        for pop in network.populations:
            self._check_population(pop)
        weights = {}
        for conn in network.connections:
            owner = f"FewSpikeCompiler connection {conn.name!r}"
            if not isinstance(conn.synapse, Delta):
                raise ConfigurationError(
                    f"{owner} synapse must be Delta; got {type(conn.synapse).__name__}. "
                    f"Few-spike coding sums spikes within a block.")
            connectivity = conn.connectivity
            if isinstance(connectivity, TiedConnectivity):
                weights[conn] = connectivity.expand(connectivity.make_kernel(rng))
            else:
                weights[conn], _ = connectivity.build_for(conn, rng)
        compiled = CompiledFewSpikeNetwork(network, self, weights, _topological(network))
        compiled.name = name
        return compiled

    def _check_population(self, pop: Any) -> None:
        neuron = pop.neuron
        owner = f"FewSpikeCompiler population {pop.name!r}"
        if not isinstance(neuron, (FewSpikeRelu, FewSpikeReluInput)):
            raise ConfigurationError(
                f"{owner} neuron must be FewSpikeRelu or FewSpikeReluInput; got "
                f"{type(neuron).__name__}. Few-spike coding only carries ReLU activations: "
                f"convert the ANN with spikehooks.converters.FewSpike.")
        if neuron.k != self.k:
            raise ConfigurationError(
                f"{owner} k must equal the compiler's k={self.k}; got {neuron.k}. Use one k "
                f"across the network.")
        if isinstance(neuron, FewSpikeRelu):
            if not pop.incoming:
                raise ConfigurationError(f"{owner} must receive a connection; got none.")
            if neuron.readout is not None and not isinstance(neuron.readout, Var):
                raise ConfigurationError(
                    f"{owner} readout must be 'var'; got {type(neuron.readout).__name__}.")


def _topological(network: Any) -> list:
    """Populations with every source before its targets (the pipeline's order)."""
    waiting = {pop: len(pop.incoming) for pop in network.populations}
    ready = [pop for pop, n in waiting.items() if n == 0]
    order = []
    while ready:
        pop = ready.pop(0)
        order.append(pop)
        for conn in pop.outgoing:
            waiting[conn.target] -= 1
            if waiting[conn.target] == 0:
                ready.append(conn.target)
    if len(order) != len(waiting):
        cycle = [pop.name for pop in network.populations if pop not in order]
        raise ConfigurationError(
            f"FewSpikeCompiler network must be feed-forward; got a cycle through {cycle}. "
            f"Remove the recurrent connections.")
    return order


class CompiledFewSpikeNetwork:
    """A few-spike network ready for :meth:`evaluate` inside ``with compiled_net:``."""

    def __init__(self, network: Any, compiler: FewSpikeCompiler, weights: dict,
                 order: list):
        self.network = network
        self.order = order
        self.compiler = compiler
        self.weights = weights
        self.k = compiler.k
        self.batch_size = compiler.batch_size
        self.backend = None
        self.name: str | None = None
        self._loaded = False

    def __enter__(self) -> CompiledFewSpikeNetwork:
        self._loaded = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._loaded = False

    def run_batch(self, inputs: dict) -> tuple[dict, dict]:
        """Run one batch; return per population its spikes and the outputs' readouts.

        Parameters
        ----------
        inputs : dict
            Input population -> float array ``(batch, *shape)``.

        Returns
        -------
        spikes : dict
            Population -> bool ``(k, batch, n)``: its block of spikes.
        readouts : dict
            Output population -> float32 ``(batch, *shape)``: ``Fx``.
        """
        spikes: dict[Any, np.ndarray] = {}
        values: dict[Any, np.ndarray] = {}
        readouts: dict[Any, np.ndarray] = {}
        for pop in self.order:
            neuron = pop.neuron
            if isinstance(neuron, FewSpikeReluInput):
                x = np.asarray(inputs[pop], dtype=np.float64).reshape(len(inputs[pop]), -1)
                spikes[pop] = encode(x, self.k, neuron.alpha, neuron.signed_input)
                values[pop] = decode(spikes[pop], self.k, neuron.alpha, neuron.signed_input)
                continue
            fx: Any = 0.0
            for conn in pop.incoming:
                source = values[conn.source]
                weight = self.weights[conn]
                if isinstance(conn.connectivity, OneToOne):
                    fx = fx + source * np.diagonal(weight)
                else:
                    fx = fx + source @ weight.astype(np.float64)
            fx = np.asarray(fx, dtype=np.float64)
            spikes[pop] = encode(fx, self.k, neuron.alpha)
            values[pop] = decode(spikes[pop], self.k, neuron.alpha)
            if neuron.readout is not None:
                readouts[pop] = fx.astype(np.float32).reshape((len(fx), *pop.shape))
        return spikes, readouts

    def evaluate(self, x: dict, y: dict, metrics: Any = "sparse_categorical_accuracy",
                 callbacks: Any = ("batch_progress_bar",)) -> tuple[dict, dict]:
        """Evaluate ``x`` against ``y``; returns ``(metrics, callback data)`` as mlGeNN."""
        self._check_loaded("evaluate")
        prepared, num = _data.prepare_inputs(self.network, x)
        outputs = _data.check_targets_dict(self.network, y)
        metric_objs = _data.make_metrics(metrics, outputs)
        targets = _data.prepare_targets(self.network, y, num, metric_objs)
        batches = [np.arange(i, min(i + self.batch_size, num))
                   for i in range(0, num, self.batch_size)]
        pairs = (({pop: data[indices][:, 0] for pop, data in prepared.items()},
                  {pop: t[indices] for pop, t in targets.items()}, indices)
                 for indices in batches)
        return self._score(pairs, len(batches), metric_objs, callbacks, num)

    def evaluate_batch_iter(self, inputs: Any, outputs: Any, data: Any,
                            num_batches: int | None = None,
                            metrics: Any = "sparse_categorical_accuracy",
                            callbacks: Any = ("batch_progress_bar",)) -> tuple[dict, dict]:
        """Evaluate ``(x, y)`` batches from an iterator, as mlGeNN's method of this name.

        See :meth:`CompiledNetwork.evaluate_batch_iter`.
        """
        self._check_loaded("evaluate_batch_iter")
        ins = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
        outs = _data.check_outputs(self.network, outputs, "outputs")
        metric_objs = _data.make_metrics(metrics, outs)

        def pairs() -> Any:
            first = 0
            for batch, item in enumerate(data):
                x, y = _batch_dicts(ins, tuple(outs), item, "CompiledFewSpikeNetwork."
                                                            "evaluate_batch_iter")
                prepared, num = _data.prepare_inputs(self.network, x)
                if num > self.batch_size:
                    raise ConfigurationError(
                        f"CompiledFewSpikeNetwork.evaluate_batch_iter batches must hold at most "
                        f"batch_size={self.batch_size} examples; got {num} in batch {batch}. "
                        f"Yield smaller batches or compile with a larger batch_size.")
                targets = _data.prepare_targets(self.network, y, num, metric_objs)
                yield ({pop: d[:, 0] for pop, d in prepared.items()}, targets,
                       np.arange(first, first + num))
                first += num

        return self._score(pairs(), num_batches, metric_objs, callbacks, None)

    def _score(self, pairs: Any, num_batches: int | None, metric_objs: dict, callbacks: Any,
               num: int | None) -> tuple[dict, dict]:
        """Run ``(inputs, targets, example indices)`` batches, updating the metrics."""
        cbl = CallbackList(list(callbacks), mode="test", compiled_network=self, backend=None,
                           num_batches=num_batches, metrics=metric_objs, num_examples=num)
        try:
            with cbl.guard():
                cbl.on_test_begin()
                for batch, (inputs, targets, indices) in enumerate(pairs):
                    cbl.run.start_batch(indices)
                    cbl.on_batch_begin(batch)
                    _, readouts = self.run_batch(inputs)
                    for pop, metric in metric_objs.items():
                        metric.update(targets[pop], readouts[pop])
                    cbl.on_batch_end(batch, metric_objs)
                cbl.on_test_end(metric_objs)
        finally:
            cbl.close()
        return metric_objs, cbl.get_data()

    def _check_loaded(self, method: str) -> None:
        if not self._loaded:
            raise NotCompiledError(
                f"CompiledFewSpikeNetwork {method} must run inside 'with compiled_net:'; got "
                f"a network that is not loaded. Write: with compiled_net: "
                f"compiled_net.{method}(...)")

    def _no_clock(self, method: str) -> Any:
        raise ConfigurationError(
            f"CompiledFewSpikeNetwork.{method} (mlGeNN's timestep-level API) is not supported: "
            f"this network computes each k-step block at once and has no clock. Use evaluate "
            f"or evaluate_batch_iter."
        )

    def set_input(self, inputs: dict) -> None:
        """Refused (see :meth:`_no_clock`)."""
        self._no_clock("set_input")

    def step_time(self, callback_list: Any = None) -> None:
        """Refused (see :meth:`_no_clock`)."""
        self._no_clock("step_time")

    def reset_time(self) -> None:
        """Refused (see :meth:`_no_clock`)."""
        self._no_clock("reset_time")

    def custom_update(self, name: str) -> None:
        """Refused (see :meth:`_no_clock`)."""
        self._no_clock("custom_update")

    def get_readout(self, outputs: Any) -> Any:
        """Refused (see :meth:`_no_clock`)."""
        self._no_clock("get_readout")


__all__ = ["CompiledFewSpikeNetwork", "FewSpikeCompiler"]
