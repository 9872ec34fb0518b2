"""What the compiled backend refuses, before anything is built or run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...checks import int_at_least
from ...connectivity import Dense, FixedProbability, OneToOne
from ...errors import ConfigurationError
from ...initializers import Initializer
from ...neurons import (
    AdaptiveLeakyIntegrateFire,
    IntegrateFire,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    PoissonInput,
    SpikeInput,
)
from ...readouts import AvgVar, AvgVarExpWeight, FirstSpikeTime, MaxVar, SpikeCount, SumVar, Var
from ...synapses import Delta, Exponential
from ._numba import max_threads, require_numba

NEURONS = (IntegrateFireInput, SpikeInput, PoissonInput, IntegrateFire, LeakyIntegrateFire,
           LeakyIntegrate, AdaptiveLeakyIntegrateFire)
READOUTS = (SumVar, MaxVar, AvgVar, AvgVarExpWeight, SpikeCount, FirstSpikeTime, Var)
SYNAPSES = (Delta, Exponential)
CONNECTIVITY = (Dense, FixedProbability, OneToOne)

#: Options the compiled backend accepts besides the compiler's own settings.
OPTIONS = ("num_threads",)


def check_options(options: dict[str, Any]) -> None:
    """Refuse any backend option the compiled backend does not have."""
    if options:
        raise ConfigurationError(
            f"compiled backend options must be among {list(OPTIONS)}; got "
            f"{sorted(options)}. Remove them (the compiled backend always sums in GeNN's "
            f"sequential order), or use backend=('numpy', {{...}}) for NumPy-backend options."
        )


def check_num_threads(num_threads: Any) -> int:
    """Return the thread count (default: every core), or refuse one that is not an int >= 1."""
    require_numba()
    limit = max_threads()
    if num_threads is None:
        return limit
    int_at_least(num_threads, "compiled backend", "num_threads",
                 f"Pass e.g. num_threads=1, or leave it out to use all {limit} cores.")
    if num_threads > limit:
        raise ConfigurationError(
            f"compiled backend num_threads must be at most {limit} (the threads numba "
            f"starts); got {num_threads}. Pass num_threads<={limit}, or set NUMBA_NUM_THREADS "
            f"before starting Python."
        )
    return int(num_threads)


def unsupported_feature(network: Any) -> str | None:
    """Return a description of the first feature of ``network`` the kernel cannot run.

    The kernel has code for the built-in models exactly (a subclass may
    change the rules, so it is refused), with parameters given as numbers or
    per neuron, and for synaptic delays on Dense and FixedProbability connectivity.
    """
    for pop in network.populations:
        neuron = pop.neuron
        if type(neuron) not in NEURONS:
            return f"population {pop.name!r} has neuron model {type(neuron).__name__}"
        if neuron.readout is not None and type(neuron.readout) not in READOUTS:
            return (f"population {pop.name!r} has readout "
                    f"{type(neuron.readout).__name__}")
    for conn in network.connections:
        if not conn.source.neuron.spiking:
            return (f"connection {conn.name!r} comes from non-spiking population "
                    f"{conn.source.name!r}")
        if type(conn.synapse) not in SYNAPSES:
            return f"connection {conn.name!r} has synapse {type(conn.synapse).__name__}"
        if type(conn.connectivity) not in CONNECTIVITY:
            return (f"connection {conn.name!r} has connectivity "
                    f"{type(conn.connectivity).__name__}")
        if has_delays(conn.connectivity) and not isinstance(conn.connectivity,
                                                            (Dense, FixedProbability)):
            return (f"connection {conn.name!r} has synaptic delays on "
                    f"{type(conn.connectivity).__name__} connectivity")
    return None


def has_delays(connectivity: Any) -> bool:
    """Whether a connectivity may give a synapse a delay (an initializer always may)."""
    delay = getattr(connectivity, "delay", 0)
    if isinstance(delay, Initializer):
        return True
    return bool(np.any(np.asarray(delay) != 0))


def check_supported(network: Any) -> None:
    """Refuse a network with a feature the compiled kernel has no code for."""
    feature = unsupported_feature(network)
    if feature is not None:
        raise ConfigurationError(
            f"compiled backend network must use only what the compiled kernel has code "
            f"for (the built-in models, delays on Dense and FixedProbability only); got "
            f"{feature}. The NumPy backend runs every built-in model and delay: pass "
            f"backend='numpy', or leave backend out to fall back to it."
        )


__all__ = ["OPTIONS", "check_num_threads", "check_options", "check_supported", "has_delays",
           "unsupported_feature"]
