"""The e-prop compiler: eligibility propagation (Bellec et al. 2020) with mlGeNN's signature.

e-prop trains recurrent networks of ``LeakyIntegrateFire`` and
``AdaptiveLeakyIntegrateFire`` neurons online: each synapse keeps an
eligibility trace, and the output error, fed back through the output
weights, is the learning signal.  ``docs/eprop.md`` gives the equations,
the step order (GeNN's, as mlGeNN 2.4.0 generates it) and where this
implementation chooses.
"""

from __future__ import annotations

import logging
from typing import Any

from ..checks import real
from ..errors import ConfigurationError
from ..losses import Loss, MeanSquareError, SparseCategoricalCrossentropy
from ..neurons import (
    AdaptiveLeakyIntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    LeakyIntegrateFireInput,
)
from ..optimisers import Optimiser
from ..plugins import registry
from ..training import build_eprop_layout, check_mode
from ._deep_r_args import check_deep_r_args, resolve_deep_r
from .compiled_eprop_network import CompiledEPropNetwork
from .compiler import Compiler, check_model_name, check_positive_int, single_output_loss

log = logging.getLogger("spikehooks.backends")

#: mlGeNN's e-prop defaults for the models (``Network(default_params)``).
default_params: dict[type, dict[str, Any]] = {
    AdaptiveLeakyIntegrateFire: {"relative_reset": True, "integrate_during_refrac": True},
    LeakyIntegrate: {"scale_i": False},
    LeakyIntegrateFire: {"relative_reset": True, "integrate_during_refrac": True,
                         "scale_i": False},
    LeakyIntegrateFireInput: {"relative_reset": True, "integrate_during_refrac": True,
                              "scale_i": False},
}

_EXAMPLES = {"tau_reg": 500.0, "c_reg": 0.001, "f_target": 10.0}


def _number(value: Any, name: str, *, positive: bool = False) -> float:
    bound = "> 0" if positive else ">= 0"
    return real(value, "EPropCompiler", name, f"a number {bound}",
                f"Pass a float, e.g. {name}={_EXAMPLES[name]!r}.",
                lambda v: v > 0 if positive else v >= 0)


class EPropCompiler(Compiler):
    """Compile a recurrent network for e-prop training (mlGeNN's ``EPropCompiler``).

    Supported networks: input populations; hidden ``LeakyIntegrateFire`` or
    ``AdaptiveLeakyIntegrateFire`` populations (one ``tau_mem`` for all, one
    ``tau_adapt`` for the adaptive ones), each connected directly to the
    output, with any recurrent and feed-forward connections between them;
    one ``LeakyIntegrate`` output with a readout.  ``Delta`` synapses,
    per-synapse weights (``Dense``, ``FixedProbability``, ``OneToOne``), no
    delays.  Everything else is refused by :meth:`compile`, naming the
    population or connection.

    Parameters
    ----------
    example_timesteps : int
        Timesteps each example is simulated for.
    losses : str, Loss, (str, dict) or dict
        ``"sparse_categorical_crossentropy"`` (classification; integer labels)
        or ``"mean_square_error"`` (regression; targets of shape
        ``(examples, example_timesteps, *output_shape)``), or
        ``{output: loss}``.
    optimiser : str, Optimiser or (str, dict)
        Default ``"adam"``; steps once per batch on the batch's summed gradient.
    tau_reg : float
        Time constant (ms) of the filtered hidden firing rate ``FAvg``.
    c_reg : float
        Strength of the firing-rate regulariser (0 disables it).
    f_target : float
        Target hidden firing rate in Hz.
    train_output_bias : bool
        Also train the output population's ``bias`` (mlGeNN's default True).
    dt, batch_size, rng_seed, backend
        As for :class:`InferenceCompiler`: the compiled backend (the default
        when numba is installed) or the NumPy backend.  With no backend named,
        a network the compiled backend cannot simulate (adaptive neurons),
        or one rewired by Deep R, trains on the NumPy backend (``docs/eprop.md``).
    kernel_profiling, reset_time_between_batches
        Accepted for mlGeNN compatibility (GeNN-only settings; time restarts
        at 0 in every batch).  Between training batches only the readout is
        reset, as in mlGeNN (``docs/eprop.md``); ``reset_vars_between_batches``
        and ``reset_in_syn_between_batches`` are refused.
    on_non_finite : {"raise", "warn"}
        As for :class:`EventPropCompiler`.
    deep_r_conns : sequence of Connection or Layer
        Connections to rewire with Deep R (Bellec et al. 2018) after every
        optimiser step; a ``Layer`` stands for its incoming connection.  Each
        must have sparse connectivity (``FixedProbability`` or ``OneToOne``).
    deep_r_l1_strength : float
        Deep R's L1 strength ``C`` (>= 0; 0 disables it): ``+-C`` per example
        of the batch is added to each active synapse's gradient.
    deep_r_record_rewirings : dict
        ``{connection or Layer: key}``: record the rewirings of these
        ``deep_r_conns`` per batch in ``cb_data[key]`` (see ``docs/eprop.md``).
    **kwargs
        Further :class:`Compiler` switches.
    """

    def __init__(self, example_timesteps: int, losses: Any, optimiser: Any = "adam",
                 tau_reg: float = 500.0, c_reg: float = 0.001, f_target: float = 10.0,
                 train_output_bias: bool = True, dt: float = 1.0, batch_size: int = 1,
                 rng_seed: int = 0, kernel_profiling: bool = False,
                 reset_time_between_batches: bool = True, communicator: Any = None,
                 deep_r_conns: Any = (), deep_r_l1_strength: float = 0.01,
                 deep_r_record_rewirings: Any = None, backend: Any = None,
                 on_non_finite: str = "raise", **kwargs: Any):
        resets = sorted(k for k in ("reset_vars_between_batches", "reset_in_syn_between_batches")
                        if k in kwargs)
        if resets:
            raise ConfigurationError(
                f"EPropCompiler {resets[0]} must be left out; got {resets[0]}="
                f"{kwargs[resets[0]]!r}. e-prop resets only the readout between training "
                f"batches, as mlGeNN's does, and evaluate() starts every batch from rest "
                f"(docs/eprop.md, state between batches)."
            )
        self.deep_r_conns, self.deep_r_record_rewirings = check_deep_r_args(
            deep_r_conns, deep_r_record_rewirings)
        if self.deep_r_conns and backend is None:
            # Deep R edits the sparse masks in place between batches; the compiled
            # kernel's synapse lists are fixed when it is built.
            log.info("EPropCompiler with deep_r_conns trains on the NumPy backend")
            backend = "numpy"
        super().__init__(batch_size=batch_size, dt=dt, backend=backend, rng_seed=rng_seed,
                         kernel_profiling=kernel_profiling,
                         reset_time_between_batches=reset_time_between_batches,
                         communicator=communicator, **kwargs)
        backend_name = getattr(self._backend_class, "name", self._backend_class.__name__)
        if self.deep_r_conns and backend_name != "numpy":
            raise ConfigurationError(
                f"EPropCompiler backend must be 'numpy' with deep_r_conns; got "
                f"{backend_name!r}. Deep R rewires the sparse connectivity between batches, "
                f"which the compiled kernel fixes when it is built: pass backend='numpy' or "
                f"leave backend out."
            )
        if backend_name not in ("numpy", "compiled"):
            raise ConfigurationError(
                f"EPropCompiler backend must be 'compiled' or 'numpy'; got {backend_name!r}. "
                f"e-prop reads every hidden neuron's state each step, which these two "
                f"backends offer; train with one of them and evaluate the saved weights "
                f"with InferenceCompiler(..., backend={backend_name!r})."
            )
        self.example_timesteps = check_positive_int(example_timesteps, "EPropCompiler",
                                                    "example_timesteps")
        self.losses = losses
        self.optimiser = registry.create("optimisers", optimiser, expected=Optimiser)
        self.tau_reg = _number(tau_reg, "tau_reg", positive=True)
        self.c_reg = _number(c_reg, "c_reg")
        self.f_target = _number(f_target, "f_target")
        self.train_output_bias = bool(train_output_bias)
        self.deep_r_l1_strength = real(
            deep_r_l1_strength, "EPropCompiler", "deep_r_l1_strength", "a number >= 0",
            "Pass e.g. deep_r_l1_strength=1e-8, or 0 for no L1 term.", lambda v: v >= 0)
        self.on_non_finite = check_mode(on_non_finite)

    def _resolve_loss(self, output: Any) -> Loss:
        spec = single_output_loss(self.losses, output, "EPropCompiler")
        loss = registry.create("losses", spec, expected=Loss)
        if type(loss) not in (SparseCategoricalCrossentropy, MeanSquareError):
            raise ConfigurationError(
                f"EPropCompiler losses must be sparse_categorical_crossentropy or "
                f"mean_square_error (mlGeNN's e-prop losses); got {type(loss).__name__} for "
                f"{output.name!r}."
            )
        return loss

    def compile(self, network: Any, name: str | None = None) -> CompiledEPropNetwork:
        """Check ``network`` for e-prop and build it; returns a compiled training network.

        Raises
        ------
        ConfigurationError
            Naming the population or connection e-prop cannot train, before
            anything is simulated.
        """
        check_model_name(name)
        self.example_timesteps = self.agree_example_timesteps(self.example_timesteps)
        deep_r = resolve_deep_r(network, self.deep_r_conns, self.deep_r_record_rewirings)
        layout = build_eprop_layout(network, self.dt)
        loss = self._resolve_loss(layout.output)
        backend = self.build_backend(network, self.example_timesteps)
        compiled = CompiledEPropNetwork(network, backend, self, layout, loss, self.optimiser,
                                        deep_r=deep_r)
        compiled.name = name
        return self._finish(compiled)


__all__ = ["EPropCompiler", "default_params"]
