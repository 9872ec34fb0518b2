"""What e-prop cannot train is refused at compile time, naming the population or connection."""

from __future__ import annotations

import numpy as np
import pytest
from _eprop_nets import make, raster, to_spikes

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EPropCompiler
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import (
    AdaptiveLeakyIntegrateFire,
    IntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
from spikehooks.synapses import Exponential

SCE = "sparse_categorical_crossentropy"


def _compiler(**kwargs):
    return EPropCompiler(example_timesteps=10, losses=SCE, **kwargs)


def _network(hidden=None, *, stacked=False, synapse=None, second=None):
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=100), 4, name="inp")
        h1 = Population(hidden or LeakyIntegrateFire(v_thresh=0.6), 5, name="h1")
        out = Population(LeakyIntegrate(readout="sum_var"), 2, name="out")
        Connection(inp, h1, Dense(0.1), synapse=synapse or "delta", name="inp_h1")
        if stacked:
            # h1 feeds only h2: no learning signal can reach it.
            h2 = Population(LeakyIntegrateFire(v_thresh=0.6), 5, name="h2")
            Connection(h1, h2, Dense(0.1), name="h1_h2")
            Connection(h2, h2, Dense(0.1), name="h2_h2")
            Connection(h2, out, Dense(0.1), name="h2_out")
        else:
            Connection(h1, out, Dense(0.1), name="h1_out")
        if second is not None:
            h3 = Population(second, 5, name="h3")
            Connection(inp, h3, Dense(0.1), name="inp_h3")
            Connection(h3, out, Dense(0.1), name="h3_out")
    return network


def test_a_hidden_layer_without_its_own_path_to_the_output_is_named_before_simulation():
    with pytest.raises(ConfigurationError,
                       match=r"hidden population 'h1' must connect directly to the output "
                             r"'out'; got connections to \['h2'\]"):
        _compiler().compile(_network(stacked=True))


def test_a_hidden_layer_with_no_input_is_named():
    network = Network(default_params)
    with network:
        Population(SpikeInput(max_spikes=10), 3, name="inp")
        lonely = Population(LeakyIntegrateFire(), 4, name="lonely")
        out = Population(LeakyIntegrate(readout="sum_var"), 2, name="out")
        Connection(lonely, out, Dense(0.1))
    with pytest.raises(ConfigurationError, match="hidden population 'lonely' must receive a "
                                                 "connection"):
        _compiler().compile(network)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"hidden": IntegrateFire()}, "hidden population 'h1' must be LeakyIntegrateFire or "
                                  "AdaptiveLeakyIntegrateFire; got IntegrateFire"),
    ({"synapse": Exponential(5.0)}, "connection 'inp_h1' synapse must be Delta; got Exponential"),
    ({"second": LeakyIntegrateFire(tau_mem=10.0)},
     r"must share one tau_mem .*got \{'h1': 20.0, 'h3': 10.0\}"),
    ({"hidden": AdaptiveLeakyIntegrateFire(tau_adapt=100.0),
      "second": AdaptiveLeakyIntegrateFire(tau_adapt=200.0)}, "must share one tau_adapt"),
    ({"hidden": LeakyIntegrateFire(v_thresh=np.ones(5))},
     "population 'h1' v_thresh must be one number"),
])
def test_unsupported_parts_are_named(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        _compiler().compile(_network(**kwargs))


def test_bad_compiler_arguments_are_refused():
    with pytest.raises(ConfigurationError, match="EPropCompiler c_reg must be a number >= 0"):
        _compiler(c_reg=-1.0)
    with pytest.raises(ConfigurationError, match="EPropCompiler tau_reg must be a number > 0"):
        _compiler(tau_reg=0.0)
    with pytest.raises(ConfigurationError, match="deep_r_conns must be a list of Connections "
                                                 "or Layers; got str 'conn'"):
        _compiler(deep_r_conns="conn")
    with pytest.raises(ConfigurationError,
                       match="backend must be 'compiled' or 'numpy'; got 'genn'"):
        _compiler(backend="genn")
    for switch in ("reset_vars_between_batches", "reset_in_syn_between_batches"):
        with pytest.raises(ConfigurationError, match=f"EPropCompiler {switch} must be left "
                                                     f"out; got {switch}=True"):
            _compiler(**{switch: True})
    with pytest.raises(ConfigurationError, match="losses must be sparse_categorical_crossentropy "
                                                 "or mean_square_error"):
        loss = ("relative_mean_square_error", {"delta": 2.0})
        EPropCompiler(example_timesteps=10, losses=loss).compile(_network())


def test_regression_targets_of_the_wrong_shape_are_refused_before_any_step():
    compiled, (inp, _, out), _ = make(categorical=False, batch_size=1, steps=20)
    with compiled:
        with pytest.raises(ConfigurationError,
                           match=r"shape \(n_examples, 20, 3\) .*got dtype float64, shape "
                                 r"\(1, 3\)"):
            compiled.train({inp: to_spikes(raster(0, 20, 1))}, {out: np.zeros((1, 3))},
                           num_epochs=1, callbacks=[])
        assert compiled.backend.timestep == 0
