"""The EventProp compiler: exact-gradient training of spiking networks (mlGeNN's signature).

EventProp (Wunderlich & Pehle 2021) back-propagates through spike times with
an adjoint system integrated backwards in time; see ``docs/training.md`` for
the discretisation, the gradient scale and how this trainer differs from
mlGeNN's GeNN implementation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import real
from ..errors import ConfigurationError
from ..losses import Loss
from ..neurons import LeakyIntegrate, LeakyIntegrateFire
from ..optimisers import Optimiser
from ..plugins import registry
from ..synapses import Exponential
from ..training import build_graph, check_mode
from ..training._delay_learning import LearnedDelays
from ..training._per_timestep import is_per_timestep
from ._delay_options import (
    check_delay_learn_conns,
    check_learned_connections,
    check_optimiser,
    log,
    make_delay_optimiser,
    numpy_backend,
)
from .compiled_training_network import CompiledTrainingNetwork
from .compiler import Compiler, check_model_name, check_positive_int, single_output_loss

#: mlGeNN's EventProp defaults for the models (``SequentialNetwork(default_params)``).
default_params: dict[type, dict[str, Any]] = {
    LeakyIntegrate: {"scale_i": True},
    LeakyIntegrateFire: {"relative_reset": False, "integrate_during_refrac": False,
                         "scale_i": True},
    Exponential: {"scale_i": True},
}


#: Example values shown in messages about a bad compiler argument.
_EXAMPLES = {"ttfs_alpha": 0.01, "softmax_temperature": 0.5, "min_jump_denominator": 1e-3,
             "reg_lambda_upper": 0.0, "reg_lambda_lower": 0.0, "reg_nu_upper": 0.0}


def _check_float(value: Any, name: str, *, minimum: float | None = None,
                 positive: bool = False) -> float:
    bound = "> 0" if positive else f">= {minimum}" if minimum is not None else "finite"
    return real(value, "EventPropCompiler", name, f"a number {bound}",
                f"Pass a float, e.g. {name}={_EXAMPLES.get(name, 1.0)!r}.",
                lambda v: not (positive and v <= 0) and not (minimum is not None and v < minimum))


class EventPropCompiler(Compiler):
    """Compile a network for EventProp training (mlGeNN's ``EventPropCompiler``).

    Supported networks: input populations, feed-forward ``LeakyIntegrateFire``
    hidden layers with ``Exponential`` synapses (one ``tau`` per target;
    ``Dense``, ``FixedProbability`` or ``OneToOne``), and one output: a
    ``LeakyIntegrate`` with ``sum_var``/``avg_var``/``max_var`` readout
    (``Exponential`` or ``Delta`` synapses) or a ``LeakyIntegrateFire`` with
    ``first_spike_time`` readout.  Only weights are trained.

    Parameters
    ----------
    example_timesteps : int
        Timesteps each example is simulated for.
    losses : str, Loss, (str, dict) or dict
        The loss of the output population (or ``{output: loss}``), e.g.
        ``"sparse_categorical_crossentropy"`` or ``RelativeMeanSquareError(2.0)``.
    optimiser : str, Optimiser or (str, dict)
        Weight optimiser, default ``"adam"`` (``Adam()``).
    batch_size, dt, backend, rng_seed, kernel_profiling, communicator
        As for :class:`InferenceCompiler`; ``rng_seed`` also seeds shuffling.
        ``communicator``: data-parallel training, ``batch_size`` is then the
        global batch, and every rank simulates the largest
        ``example_timesteps`` any rank asked for.  The positional order is
        mlGeNN 2.4.0's; ``backend`` and the spikehooks additions are
        keyword-only.
    deep_r_conns, deep_r_l1_strength, deep_r_record_rewirings
        mlGeNN's Deep R with EventProp; not supported: only empty
        ``deep_r_conns`` and ``deep_r_record_rewirings`` are accepted (Deep R
        runs with :class:`EPropCompiler`).
    reg_lambda_upper, reg_lambda_lower : float or dict
        Firing-rate regulariser strengths (mlGeNN's units; 0 disables), one
        value, or per hidden population ``{population: value}``.
    reg_nu_upper : float or dict
        Target spikes per example and neuron of the regulariser.
    ttfs_alpha : float
        ``first_spike_time`` with cross-entropy: weight of the late-spike penalty.
    softmax_temperature : float
        ``first_spike_time`` with cross-entropy: temperature of the softmax over ``-t``.
    min_jump_denominator : float
        Guard (> 0): EventProp's jump divides by ``I - v_thresh`` at each spike;
        values below this are raised to it (counted in ``compiled_net.clamped_jumps``).
    on_non_finite : {"raise", "warn"}
        What a NaN or infinite loss, gradient or weight at the end of a batch
        does: ``"raise"`` (default) a :class:`~spikehooks.errors.NonFiniteError`
        naming the epoch, batch and first offending connection, before the
        epoch ends (no checkpoint of it is written); ``"warn"`` one
        :class:`~spikehooks.errors.NonFiniteWarning` per ``train()`` call.
    max_spikes, strict_buffer_checking : int, bool
        Accepted for mlGeNN compatibility: this trainer keeps every spike (no ring buffer).
    per_timestep_loss : bool
        mlGeNN's per-timestep loss: cross-entropy of the softmax of ``V`` at
        every step (``avg_var``/``sum_var`` outputs).  ``mean_square_error``
        on a ``var`` readout is always per-timestep (a target trace per
        example, shape (example_timesteps, neurons)), as in mlGeNN.
    **kwargs
        Reset switches and GeNN-only flags of :class:`Compiler`.
    """

    keeps_history = True

    def __init__(self, example_timesteps: int, losses: Any, optimiser: Any = "adam",
                 reg_lambda_upper: Any = 0.0, reg_lambda_lower: Any = 0.0,
                 reg_nu_upper: Any = 0.0, max_spikes: int = 500,
                 strict_buffer_checking: bool = False, per_timestep_loss: bool = False,
                 dt: float = 1.0, ttfs_alpha: float = 0.01, softmax_temperature: float = 1.0,
                 batch_size: int = 1, rng_seed: int = 0, kernel_profiling: bool = False,
                 communicator: Any = None, delay_optimiser: Any = None,
                 delay_learn_conns: Any = (), deep_r_conns: Any = (),
                 deep_r_l1_strength: float = 0.01, deep_r_record_rewirings: Any = None, *,
                 backend: Any = None, min_jump_denominator: float = 1e-3,
                 on_non_finite: str = "raise", **kwargs: Any):
        super().__init__(batch_size=batch_size, dt=dt, backend=backend, rng_seed=rng_seed,
                         kernel_profiling=kernel_profiling, communicator=communicator,
                         **kwargs)
        refuse_deep_r(deep_r_conns, deep_r_record_rewirings)
        self.deep_r_l1_strength = deep_r_l1_strength
        if not getattr(self._backend_class, "supports_training", False):
            backend_name = getattr(self._backend_class, "name", self._backend_class.__name__)
            raise ConfigurationError(
                f"EventPropCompiler backend must support training; got {backend_name!r}, which "
                f"runs inference only. Train with backend='numpy', save the weights "
                f"(compiled_net.save) and evaluate them with InferenceCompiler(..., "
                f"backend={backend_name!r})."
            )
        self.example_timesteps = check_positive_int(example_timesteps, "EventPropCompiler",
                                                    "example_timesteps")
        self.losses = losses
        self.optimiser = check_optimiser(
            registry.create("optimisers", optimiser, expected=Optimiser), "optimiser")
        self.delay_learn_conns = check_delay_learn_conns(delay_learn_conns)
        self.delay_optimiser = make_delay_optimiser(optimiser, self.optimiser, delay_optimiser)
        if not isinstance(per_timestep_loss, (bool, np.bool_)):
            raise ConfigurationError(
                f"EventPropCompiler per_timestep_loss must be True or False; got "
                f"{per_timestep_loss!r}. Pass per_timestep_loss=True for a loss at every step."
            )
        self.per_timestep_loss = bool(per_timestep_loss)
        self.max_spikes = check_positive_int(max_spikes, "EventPropCompiler", "max_spikes")
        self.strict_buffer_checking = bool(strict_buffer_checking)
        self.ttfs_alpha = _check_float(ttfs_alpha, "ttfs_alpha", minimum=0.0)
        self.softmax_temperature = _check_float(softmax_temperature, "softmax_temperature",
                                                positive=True)
        self.min_jump_denominator = _check_float(min_jump_denominator, "min_jump_denominator",
                                                 positive=True)
        self.on_non_finite = check_mode(on_non_finite)
        self.reg_lambda_upper = reg_lambda_upper
        self.reg_lambda_lower = reg_lambda_lower
        self.reg_nu_upper = reg_nu_upper
        for name in ("reg_lambda_upper", "reg_lambda_lower", "reg_nu_upper"):
            value = getattr(self, name)
            for v in value.values() if isinstance(value, dict) else [value]:
                _check_float(v, name, minimum=0.0)

    @property
    def regularised(self) -> bool:
        """True when any regulariser strength is non-zero."""
        upper, lower = self.reg_lambda_upper, self.reg_lambda_lower
        if not (isinstance(upper, dict) or isinstance(lower, dict)):
            return bool(upper != 0.0 or lower != 0.0)  # (read every batch: the short way first)
        values = []
        for value in (upper, lower):
            values += list(value.values()) if isinstance(value, dict) else [value]
        return any(v != 0.0 for v in values)

    def reg_params(self, population: Any) -> tuple[float, float, float]:
        """Return ``(lambda_upper, lambda_lower, nu_upper)`` for a hidden population."""
        def pick(value: Any) -> float:
            return float(value.get(population, 0.0)) if isinstance(value, dict) else float(value)

        return (pick(self.reg_lambda_upper), pick(self.reg_lambda_lower),
                pick(self.reg_nu_upper))

    def _resolve_loss(self, output: Any) -> Loss:
        spec = single_output_loss(self.losses, output, "EventPropCompiler")
        return registry.create("losses", spec, expected=Loss)

    def compile(self, network: Any, name: str | None = None) -> Any:
        """Build ``network`` for training; returns a compiled training network.

        ``name`` is mlGeNN's model name; it becomes ``compiled_net.name``.
        """
        check_model_name(name)
        self.example_timesteps = self.agree_example_timesteps(self.example_timesteps)
        check_learned_connections(network, self.delay_learn_conns)
        backend = self.build_backend(network, self.example_timesteps)
        if self.delay_learn_conns and not getattr(backend, "supports_delay_learning", False):
            backend_name = getattr(backend, "name", type(backend).__name__)
            if not self._default_backend:
                raise ConfigurationError(
                    f"EventPropCompiler delay_learn_conns need a backend that can change "
                    f"delays; got {backend_name!r}. Use backend='numpy' (or the default)."
                )
            # The default backend learns delays on the NumPy backend (the compiled one
            # runs fixed delays only).
            log.warning("delay learning runs on the NumPy backend")
            backend = numpy_backend(self, network)
        for method in ("add_step_observer", "get_spike_mask", "get_synaptic_input", "get_weight"):
            if not hasattr(backend, method):
                raise ConfigurationError(
                    f"EventPropCompiler backend must offer {method}() (the NumPy backend does); "
                    f"got {type(backend).__name__}. Use backend='numpy'."
                )
        graph, pops = build_graph(network, backend, self.example_timesteps, self.dt)
        output = pops[graph.output]
        loss = self._resolve_loss(output)
        readout = graph.layers[graph.output].readout
        if readout != "first_spike_time" and type(loss).__name__ == "RelativeMeanSquareError":
            raise ConfigurationError(
                f"EventPropCompiler losses must suit the {readout} readout of {output.name!r}; "
                f"got RelativeMeanSquareError, which compares first-spike times. Use "
                f"'sparse_categorical_crossentropy'."
            )
        graph.per_timestep = is_per_timestep(loss, str(readout), self.per_timestep_loss,
                                             f"population {output.name!r}")
        if graph.per_timestep and self.communicator is not None:
            raise ConfigurationError(
                "EventPropCompiler communicator must be None with a per-timestep loss; got "
                f"{type(self.communicator).__name__}. Data-parallel training exchanges one "
                "readout per example, not voltage traces: train per-timestep losses in one "
                "process."
            )
        compiled = CompiledTrainingNetwork(network, backend, self, self.example_timesteps, graph,
                                           pops, loss, self.optimiser)
        if self.delay_learn_conns:
            entries = [(network.connections.index(c), c) for c in self.delay_learn_conns]
            compiled.learn_delays(LearnedDelays(entries, self.delay_optimiser, backend, graph))
        compiled.name = name
        return self._finish(compiled)


def refuse_deep_r(deep_r_conns: Any, deep_r_record_rewirings: Any) -> None:
    """Refuse mlGeNN's Deep R arguments of ``EventPropCompiler`` unless empty."""
    for name, value in (("deep_r_conns", deep_r_conns),
                        ("deep_r_record_rewirings", deep_r_record_rewirings)):
        if value is not None and len(value):
            raise ConfigurationError(
                f"EventPropCompiler {name} must be empty; got {value!r}. mlGeNN's Deep R "
                f"rewiring with EventProp is not supported in spikehooks: train with "
                f"EPropCompiler({name}=...), which has Deep R, or drop {name}."
            )


__all__ = ["EventPropCompiler", "default_params"]
