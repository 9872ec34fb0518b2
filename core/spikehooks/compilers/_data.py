"""Validation of the data passed to ``evaluate``/``predict``/``train``, before any run."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..metrics import Metric
from ..plugins import registry


def _name(obj: Any) -> str:
    return repr(getattr(obj, "name", obj))


def check_population(network: Any, obj: Any, role: str) -> Any:
    """Return ``obj`` if it is a population of ``network``; raise otherwise."""
    if obj not in network.populations:
        names = [p.name for p in network.populations]
        raise ConfigurationError(
            f"{role} key must be a population (or layer) of the compiled network {names}; got "
            f"{obj!r}. Use the objects created when building the network as keys."
        )
    return obj


def prepare_inputs(network: Any, x: Any) -> tuple[dict[Any, Any], int]:
    """Validate ``x`` (population -> data) and normalise it.

    Returns
    -------
    prepared : dict
        Population to its neuron's normalised input (see ``prepare_input``).
    num_examples : int
        Examples in the data set (the same for every population).
    """
    if not isinstance(x, dict):
        raise ConfigurationError(
            f"x must be a dict mapping each input population to its data; got "
            f"{type(x).__name__}. Write x={{input_layer: data}}."
        )
    inputs = [p for p in network.populations if p.neuron.is_input]
    missing = [p.name for p in inputs if p not in x]
    if missing:
        raise ConfigurationError(
            f"x must hold data for every input population; got none for {missing}. Add "
            f"{{population: data}} entries for them."
        )
    prepared: dict[Any, Any] = {}
    sizes: dict[str, int] = {}
    for pop, data in x.items():
        check_population(network, pop, "x")
        if not pop.neuron.is_input:
            raise ConfigurationError(
                f"x key must be an input population; got {pop.name!r} with "
                f"{type(pop.neuron).__name__}. Give data only to InputLayer/input populations."
            )
        prepared[pop] = pop.neuron.prepare_input(data, pop)
        sizes[pop.name] = pop.neuron.num_examples(prepared[pop])
    if len(set(sizes.values())) > 1:
        raise ConfigurationError(
            f"x must hold the same number of examples for every input population; got "
            f"{sizes}. Trim the data sets to one length."
        )
    num_examples = next(iter(sizes.values()))
    if num_examples < 1:
        raise ConfigurationError("x must hold at least one example; got 0. Pass some data.")
    return prepared, num_examples


def check_outputs(network: Any, outputs: Any, role: str) -> list[Any]:
    """Return ``outputs`` as a list of populations with readouts."""
    pops = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for pop in pops:
        check_population(network, pop, role)
        if pop.neuron.readout is None:
            raise ConfigurationError(
                f"{role} population {pop.name!r} readout must be set; got None. Give its "
                f"neuron a readout, e.g. LeakyIntegrate(readout='sum_var')."
            )
    return pops


def make_metrics(metrics: Any, outputs: list[Any]) -> dict[Any, Metric]:
    """Create one metric object per output from a name, an object or a dict."""
    result: dict[Any, Metric] = {}
    for pop in outputs:
        if isinstance(metrics, dict):
            if pop not in metrics:
                raise ConfigurationError(
                    f"metrics must name a metric for every output; got none for "
                    f"{pop.name!r}. Add it to the metrics dict."
                )
            spec = metrics[pop]
        else:
            spec = metrics
        metric = registry.create("metrics", spec, expected=Metric)
        if not isinstance(metric, Metric):
            raise ConfigurationError(
                f"metrics must be a metric name, a Metric, a (name, kwargs) pair or a dict "
                f"{{output: metric}}; got {type(metric).__name__} {metric!r} for "
                f"{pop.name!r}. Pass e.g. metrics='sparse_categorical_accuracy' (the default), "
                f"or one of: {', '.join(registry.names('metrics'))}."
            )
        if metric is spec and len(outputs) > 1:
            metric = copy.deepcopy(spec)
        metric.reset()
        result[pop] = metric
    return result


def prepare_targets(network: Any, y: Any, num_examples: int, metrics: dict[Any, Metric],
                    shapes: dict[Any, tuple[int, ...]] | None = None) -> dict[Any, np.ndarray]:
    """Validate ``y`` (output population -> targets) against the metrics and ``x``'s length.

    ``shapes`` gives an output's per-example target shape where it is not the
    population's (a per-timestep loss's ``(timesteps, *shape)``).
    """
    targets: dict[Any, np.ndarray] = {}
    for pop, data in y.items():
        owner = f"y of population {pop.name!r}"
        try:
            length = len(data)
        except TypeError:
            length = None
        if length != num_examples:
            raise ConfigurationError(
                f"{owner} must hold one target per example of x ({num_examples}); got "
                f"{length}. x and y must have the same length."
            )
        shape = pop.shape if shapes is None else shapes.get(pop, pop.shape)
        targets[pop] = metrics[pop].check_targets(data, shape, owner)
    return targets


def check_targets_dict(network: Any, y: Any) -> list[Any]:
    """Return the output populations of a ``y`` dict, checked."""
    if not isinstance(y, dict) or not y:
        raise ConfigurationError(
            f"y must be a non-empty dict mapping each output population to its labels; got "
            f"{type(y).__name__}. Write y={{output_layer: labels}}."
        )
    return check_outputs(network, list(y), "y")


def batches(num_examples: int, batch_size: int) -> list[np.ndarray]:
    """Split example indices ``0..num_examples-1`` into consecutive batches."""
    indices = np.arange(num_examples, dtype=np.int64)
    return [indices[i:i + batch_size] for i in range(0, num_examples, batch_size)]


__all__ = [
    "batches",
    "check_outputs",
    "check_population",
    "check_targets_dict",
    "make_metrics",
    "prepare_inputs",
    "prepare_targets",
]
