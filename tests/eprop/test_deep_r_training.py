"""Deep R inside e-prop training: invariants per batch, L1, learning, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest
from _eprop_nets import PATTERN_STEPS as STEPS
from _eprop_nets import pattern_data

from spikehooks import Callback, Connection, Network, Population
from spikehooks.compilers import EPropCompiler
from spikehooks.compilers.deep_r import RewiringRecord
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.network import InputLayer, Layer, SequentialNetwork
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import SGD
from spikehooks_checkpoint import Checkpoint

SCE = "sparse_categorical_crossentropy"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _net(optimiser=("adam", {"alpha": 0.01}), batch_size=8, rng_seed=2, l1=1e-4, record=True):
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=100000), 12, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=0.6, tau_mem=20.0, tau_refrac=3.0), 32,
                         name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 3, name="out")
        in_hid = Connection(inp, hid, FixedProbability(0.4, Normal(sd=0.5)), name="in_hid")
        hid_hid = Connection(hid, hid, FixedProbability(0.2, Normal(sd=0.3)), name="hid_hid")
        Connection(hid, out, Dense(Normal(sd=1.0 / np.sqrt(32))), name="hid_out")
    compiled = EPropCompiler(
        example_timesteps=STEPS, losses=SCE, optimiser=optimiser, batch_size=batch_size,
        rng_seed=rng_seed, deep_r_conns=[in_hid, hid_hid], deep_r_l1_strength=l1,
        deep_r_record_rewirings={in_hid: "in_hid_rewiring"} if record else None,
    ).compile(network)
    return compiled, inp, out, (in_hid, hid_hid)


class _Watch(Callback):
    """After every batch: active counts, row maxima, signs and weights of the rewired conns."""

    def __init__(self, compiled, conns):
        self.compiled, self.conns, self.rows = compiled, conns, []

    def on_batch_end(self, batch, metrics):
        entry = {}
        for conn in self.conns:
            rc = self.compiled.deep_r.by_connection(conn)
            weight = self.compiled.backend.get_weight(conn)
            entry[conn.name] = (rc.mask.copy(), rc.inhibitory.copy(), weight.copy())
        self.rows.append(entry)


def test_active_count_and_signs_hold_after_every_batch_and_training_still_learns():
    x, y = pattern_data(48, 0)
    compiled, inp, out, conns = _net()
    with compiled:
        start = {c.name: compiled.deep_r.by_connection(c).mask.sum() for c in conns}
        watch = _Watch(compiled, conns)
        metrics, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=15,
                                          callbacks=[watch])
    assert metrics[out].result >= 0.9   # chance is 1/3
    rewired = 0
    for conn in conns:
        rc = compiled.deep_r.by_connection(conn)
        signs = watch.rows[0][conn.name][1]
        previous = None
        for entry in watch.rows:
            mask, inhibitory, weight = entry[conn.name]
            assert mask.sum() == start[conn.name]          # mlGeNN's invariant: the total
            assert mask.sum(axis=1).max() <= rc.capacity
            np.testing.assert_array_equal(inhibitory, signs)   # signs never flip
            np.testing.assert_array_equal(weight[~mask], 0.0)  # dormant: no weight
            live = mask & (weight != 0.0)
            np.testing.assert_array_equal(weight[live] < 0.0, inhibitory[live])
            if previous is not None:
                rewired += int((previous & ~mask).sum())
                assert (previous & ~mask).sum() == (mask & ~previous).sum()
            previous = mask
    assert rewired > 50   # the rule acted: otherwise the checks above prove nothing
    record = cb_data["in_hid_rewiring"]
    assert len(record) == 15 * 6 and all(type(a) is int and type(b) is int for a, b in record)
    # Each batch rewires at least the synapses that left the mask (a freed position may be
    # picked again at once); rows never fill here (capacity >= 8 of 32).
    for k in range(1, len(record)):
        before = watch.rows[k - 1]["in_hid"][0]
        after = watch.rows[k]["in_hid"][0]
        assert record[k][0] >= (before & ~after).sum() and record[k][1] == 0
    assert sum(a for a, _ in record) > 20


def test_l1_shrinks_each_active_weight_by_alpha_c_times_batch_size():
    x, y = pattern_data(8, 1)
    results = {}
    for l1 in (0.0, 0.02):
        compiled, inp, out, conns = _net(optimiser=SGD(0.05), l1=l1, record=False)
        with compiled:
            compiled.train({inp: x}, {out: y}, num_epochs=1, shuffle=False, callbacks=[])
            results[l1] = (compiled.last_gradients["in_hid/weight"].copy(),
                           compiled.backend.get_weight(conns[0]).copy(),
                           compiled.deep_r.by_connection(conns[0]))
    (g0, w0, rc0), (g1, w1, rc1) = results[0.0], results[0.02]
    # One batch of 8: the same forward pass, so the gradients differ by +-C*B exactly.
    step = np.where(rc1.inhibitory, -0.02 * 8, 0.02 * 8)
    was = (np.abs(g1 - g0) > 0)
    np.testing.assert_allclose((g1 - g0)[was], step[was], rtol=1e-9)
    assert was.sum() >= 0.9 * rc1.mask.sum()
    both = rc0.mask & rc1.mask & (w0 != 0) & (w1 != 0)
    np.testing.assert_allclose(w1[both] - w0[both], -0.05 * step[both], rtol=0, atol=2e-6)
    assert both.sum() > 50


def _run(rng_seed=2, epochs=3):
    x, y = pattern_data(24, 2)
    compiled, inp, out, conns = _net(rng_seed=rng_seed)
    with compiled:
        _, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=epochs, callbacks=[])
        return compiled.state_dict(), cb_data


def test_a_seeded_run_is_reproducible_and_another_seed_rewires_differently():
    first, data1 = _run()
    second, data2 = _run()
    other, _ = _run(rng_seed=3)
    for name in ("in_hid", "hid_hid"):
        for part in ("mask", "inhibitory"):
            np.testing.assert_array_equal(first["deep_r"]["connections"][name][part],
                                          second["deep_r"]["connections"][name][part])
        np.testing.assert_array_equal(first["learnable"][f"{name}/weight"],
                                      second["learnable"][f"{name}/weight"])
    assert data1["in_hid_rewiring"] == data2["in_hid_rewiring"]
    assert not np.array_equal(first["deep_r"]["connections"]["in_hid"]["mask"],
                              other["deep_r"]["connections"]["in_hid"]["mask"])


def test_checkpoint_resume_reproduces_the_uninterrupted_rewiring_bit_for_bit():
    x, y = pattern_data(16, 0)

    def train(num_epochs, callbacks, resume_from=None):
        compiled, inp, out, _ = _net(batch_size=4, rng_seed=5)
        with compiled:
            _, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=num_epochs,
                                        callbacks=callbacks, resume_from=resume_from)
            return compiled.state_dict(), cb_data["in_hid_rewiring"]

    want, want_record = train(4, [Checkpoint(path="ref")])
    train(2, [Checkpoint()])
    got, got_record = train(4, [Checkpoint()], resume_from="latest")
    for key, array in want["learnable"].items():
        np.testing.assert_array_equal(got["learnable"][key], array)
    for name, entry in want["deep_r"]["connections"].items():
        for part, array in entry.items():
            np.testing.assert_array_equal(got["deep_r"]["connections"][name][part], array)
    assert got["deep_r"]["rng"] == want["deep_r"]["rng"]
    assert got_record == want_record[8:]   # epochs 2 and 3, four batches each
    assert sum(a for a, _ in want_record) > 0


def test_signs_are_set_when_an_epoch_numbered_0_begins_as_in_mlgenn():
    x, y = pattern_data(8, 3)
    compiled, inp, out, conns = _net(record=False)
    rc = None
    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
        rc = compiled.deep_r.by_connection(conns[0])
        signs = rc.inhibitory.copy()
        compiled.train({inp: x}, {out: y}, start_epoch=1, num_epochs=1, callbacks=[])
        np.testing.assert_array_equal(rc.inhibitory, signs)
        dormant = ~rc.mask.copy()
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
        # Epoch 0 again: never-active synapses draw new signs (mlGeNN's DeepRInit).
        assert not np.array_equal(rc.inhibitory[dormant], signs[dormant])


def test_a_layer_stands_for_its_incoming_connection():
    network = SequentialNetwork(default_params)
    with network:
        inp = InputLayer(SpikeInput(max_spikes=1000), 12)
        hidden = Layer(FixedProbability(0.3, Normal(sd=0.5)), LeakyIntegrateFire(v_thresh=0.6),
                       16)
        out = Layer(Dense(Normal(sd=0.3)), LeakyIntegrate(readout="sum_var"), 3)
    compiled = EPropCompiler(example_timesteps=STEPS, losses=SCE, deep_r_conns=[hidden],
                             deep_r_record_rewirings={hidden: "rw"}).compile(network)
    x, y = pattern_data(4, 4)
    with compiled:
        _, cb_data = compiled.train({inp: x}, {out: y}, num_epochs=2, callbacks=[])
    assert [rc.connection for rc in compiled.deep_r.rewired] == [hidden.connection]
    assert len(cb_data["rw"]) == 8


def _other_network():
    network = Network(default_params)
    with network:
        a = Population(SpikeInput(max_spikes=10), 12, name="a")
        b = Population(LeakyIntegrateFire(), 4, name="b")
        foreign = Connection(a, b, FixedProbability(0.5, 0.1), name="foreign")
    return foreign


@pytest.mark.parametrize("make_args, match", [
    (lambda c: {"deep_r_conns": [c[2]]},
     r"deep_r_conns\[0\] connection 'hid_out' must have sparse connectivity \(FixedProbability "
     r"or OneToOne\), as Deep R rewires a sparse synapse structure; got Dense"),
    (lambda c: {"deep_r_conns": [_other_network()]},
     r"deep_r_conns\[0\] must be a connection of the compiled network; got 'foreign', which is "
     r"not one of \['in_hid', 'hid_hid', 'hid_out'\]"),
    (lambda c: {"deep_r_conns": [c[0], c[3]]},
     r"deep_r_conns\[1\] must be a Connection or a Layer .*; got Population 'inp'"),
    (lambda c: {"deep_r_conns": [c[0]], "deep_r_record_rewirings": {c[2]: "k"}},
     r"deep_r_record_rewirings key 'hid_out' connection 'hid_out' must have sparse"),
    (lambda c: {"deep_r_conns": [c[0]], "deep_r_record_rewirings": {c[1]: "k"}},
     r"deep_r_record_rewirings connection 'hid_hid' must also be in deep_r_conns; got "
     r"deep_r_conns \['in_hid'\]"),
])
def test_bad_deep_r_connections_are_named_at_compile(make_args, match):
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=10), 12, name="inp")
        hid = Population(LeakyIntegrateFire(), 4, name="hid")
        out = Population(LeakyIntegrate(readout="sum_var"), 3, name="out")
        in_hid = Connection(inp, hid, FixedProbability(0.5, 0.1), name="in_hid")
        hid_hid = Connection(hid, hid, FixedProbability(0.5, 0.1), name="hid_hid")
        hid_out = Connection(hid, out, Dense(0.1), name="hid_out")
    args = make_args((in_hid, hid_hid, hid_out, inp))
    with pytest.raises(ConfigurationError, match=match):
        EPropCompiler(example_timesteps=10, losses=SCE, **args).compile(network)


def test_a_pooling_connection_is_refused_as_not_trainable():
    network = Network(default_params)
    with network:
        from spikehooks.connectivity import AvgPool2D
        inp = Population(SpikeInput(max_spikes=10), (4, 4, 1), name="inp")
        pool = Population(LeakyIntegrateFire(), (2, 2, 1), name="pool")
        out = Population(LeakyIntegrate(readout="sum_var"), 3, name="out")
        conn = Connection(inp, pool, AvgPool2D(2), name="inp_pool")
        Connection(pool, out, Dense(0.1), name="pool_out")
    with pytest.raises(ConfigurationError, match=r"deep_r_conns\[0\] connection 'inp_pool' must "
                                                 r"be trainable; got AvgPool2D"):
        EPropCompiler(example_timesteps=10, losses=SCE, deep_r_conns=[conn]).compile(network)


@pytest.mark.parametrize("kwargs, match", [
    ({"deep_r_l1_strength": -1e-3}, r"EPropCompiler deep_r_l1_strength must be a number >= 0; "
                                    r"got -0.001"),
    ({"deep_r_conns": 3}, r"deep_r_conns must be a list of Connections or Layers; got int 3"),
    ({"deep_r_record_rewirings": ["k"]}, r"deep_r_record_rewirings must be a dict"),
])
def test_bad_deep_r_arguments_are_refused_at_construction(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        EPropCompiler(example_timesteps=10, losses=SCE, **kwargs)


def test_rewiring_record_is_exported_where_mlgenn_has_it():
    assert RewiringRecord.__module__ == "spikehooks.compilers.deep_r"


def test_rewired_synapses_carry_no_eligibility_into_the_next_batch():
    # e-prop carries each synapse's eFiltered between batches (docs/eprop.md); GeNN gives a
    # synapse Deep R removes or creates fresh variables, so its carried trace is 0.
    x, y = pattern_data(16, 3)
    compiled, inp, out, conns = _net(l1=0.05)
    renewed = {c.name: [] for c in conns}

    class _Traces(Callback):
        def on_batch_end(self, batch, metrics):
            for conn in conns:
                rc = compiled.deep_r.by_connection(conn)
                renewed[conn.name].append((rc.renewed.copy(),
                                           compiled.eprop.carry.ef[conn].copy()))

    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=3, callbacks=[_Traces()])
    touched = 0
    for entries in renewed.values():
        for mask, ef in entries:
            np.testing.assert_array_equal(ef[:, mask], 0.0)
            touched += int(mask.sum())
            # Synapses left alone keep their traces: the rule zeroes only renewed ones.
            assert np.abs(ef[:, ~mask]).max() > 0.0
    assert touched > 10
