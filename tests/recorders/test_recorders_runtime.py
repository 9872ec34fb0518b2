"""Recorders end to end on the numpy runtime: the seed examples, filters, batch sizes."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks_recorders import ConnVarRecorder, SpikeRecorder, VarRecorder

N_EXAMPLES, T = 23, 30
rng = np.random.default_rng(3)
testing_images = rng.integers(0, 256, (N_EXAMPLES, 784))
testing_labels = rng.integers(0, 10, N_EXAMPLES)


def build(batch_size=8, shape=784, **compile_kwargs):
    network = SequentialNetwork()
    with network:
        input = InputLayer(IntegrateFireInput(v_thresh=5.0), shape, record_spikes=True)
        hidden = Layer(Dense(Normal(sd=0.05)), LeakyIntegrateFire(tau_mem=20.0), (4, 8),
                       record_spikes=True)
        output = Layer(Dense(Normal(sd=0.1)), LeakyIntegrate(tau_mem=20.0, readout="sum_var"),
                       10)
    compiler = InferenceCompiler(evaluate_timesteps=T, batch_size=batch_size, dt=1.0,
                                 rng_seed=1, **compile_kwargs)
    return compiler.compile(network), input, hidden, output


def evaluate(callbacks_of, batch_size=8, images=testing_images, **compile_kwargs):
    compiled_net, input, hidden, output = build(batch_size, **compile_kwargs)
    with compiled_net:
        return compiled_net.evaluate({input: images * 0.01}, {output: testing_labels[:len(images)]},
                                     callbacks=callbacks_of(input, hidden, output))[1]


@functools.cache
def recorded():
    """Everything recorded without filters, batch size 8 (computed once)."""
    return evaluate(lambda i, h, o: [SpikeRecorder(i, key="spikes_input"),
                                     SpikeRecorder(h, key="spikes_hidden"),
                                     VarRecorder(i, "v", key="v_input"),
                                     VarRecorder(h, "v", key="v_hidden")])


@pytest.fixture
def reference():
    return recorded()


def test_seed_examples_as_written(reference):
    spike_times = cb_data_times = reference["spikes_input"][0][4]
    spike_ids = reference["spikes_input"][1][4]
    assert len(reference["spikes_input"][0]) == N_EXAMPLES
    assert spike_times.dtype == np.float64 and spike_ids.dtype == np.int32
    # IntegrateFireInput: neuron n first spikes in step ceil(5 / x_n) - 1.
    x = (testing_images[4] * 0.01).astype(np.float32)
    first = {int(n): float(cb_data_times[spike_ids == n].min()) for n in np.unique(spike_ids)}
    for n, t in first.items():
        acc, step = np.float32(0), 0
        while True:
            acc = np.float32(acc + x[n])
            if acc >= 5.0:
                break
            step += 1
        assert t == step
    assert reference["v_input"][0].shape == (T, 784)


def test_estimates_bound_what_is_held():
    recs = []

    def make(i, h, o):
        recs.extend([SpikeRecorder(i, key="a"), SpikeRecorder(h, key="b"),
                     VarRecorder(h, "v", key="c", example_filter=[0, 22])])
        return recs

    got = evaluate(make)
    for rec in recs[:2]:
        assert 0 < rec.held_bytes <= rec.estimated_bytes
    assert recs[2].estimated_bytes == sum(v.nbytes for v in got["c"]) == 2 * T * 32 * 4


def test_ids_sorted_within_each_timestep(reference):
    times, ids = reference["spikes_hidden"]
    for t, i in zip(times, ids, strict=True):
        np.testing.assert_array_equal(np.lexsort((i, t)), np.arange(len(t)))


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_same_recording_for_any_batch_size(reference, batch_size):
    got = evaluate(lambda i, h, o: [SpikeRecorder(h, key="s"), VarRecorder(h, "v", key="v")],
                   batch_size)
    for k in range(N_EXAMPLES):
        np.testing.assert_array_equal(got["s"][0][k], reference["spikes_hidden"][0][k])
        np.testing.assert_array_equal(got["s"][1][k], reference["spikes_hidden"][1][k])
        np.testing.assert_array_equal(got["v"][k], reference["v_hidden"][k])


def test_any_callback_order(reference):
    for order in itertools.permutations(range(3)):
        def make(i, h, o, order=order):
            recs = [SpikeRecorder(i, key="a", example_filter=[3, 20]),
                    VarRecorder(h, "v", key="b", neuron_filter=np.index_exp[1:3, ::2]),
                    SpikeRecorder(h, key="c")]
            return [recs[k] for k in order]
        got = evaluate(make)
        np.testing.assert_array_equal(got["a"][1][1], reference["spikes_input"][1][20])
        np.testing.assert_array_equal(got["b"][5],
                                      reference["v_hidden"][5].reshape(T, 4, 8)[:, 1:3, ::2]
                                      .reshape(T, -1))
        np.testing.assert_array_equal(got["c"][0][22], reference["spikes_hidden"][0][22])


FILTERS_1D = st.one_of(  # for the input layer, shape (784,)
    st.integers(-784, 783),
    st.lists(st.integers(-784, 783), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=1, max_size=40).filter(any),
    st.builds(lambda a, c: np.s_[a::c], st.integers(0, 700), st.integers(1, 50)),
)
FILTERS_2D = st.one_of(  # for the hidden layer, shape (4, 8)
    st.tuples(st.lists(st.integers(0, 3), min_size=2, max_size=2),
              st.lists(st.integers(-8, 7), min_size=2, max_size=2)),
    st.builds(lambda a, b, c: np.index_exp[a:b, ::c], st.integers(0, 2), st.integers(3, 4),
              st.integers(1, 3)),
    st.lists(st.booleans(), min_size=32, max_size=32).filter(any).map(np.array),
)


def expected_ids(spec, shape):
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    if isinstance(spec, int):
        return [spec % flat.size]
    if isinstance(spec, np.ndarray) or (isinstance(spec, list) and isinstance(spec[0], bool)):
        return np.flatnonzero(spec).tolist()
    if isinstance(spec, list):
        return sorted({k % flat.size for k in spec})
    if isinstance(spec, slice):
        return flat[spec].tolist()
    index = tuple(np.asarray(p) if isinstance(p, list) else p for p in spec)
    return np.unique(flat[index]).tolist()


def check(got, ref_spikes, ref_v, ids, chosen, n):
    assert len(got["v"]) == len(chosen)
    for k, e in enumerate(chosen):
        t_ref, i_ref = ref_spikes[0][e], ref_spikes[1][e]
        keep = np.isin(i_ref, ids)
        np.testing.assert_array_equal(got["s"][0][k], t_ref[keep])
        np.testing.assert_array_equal(got["s"][1][k], i_ref[keep])
        np.testing.assert_array_equal(got["c"][k], np.bincount(i_ref, minlength=n)[ids])
        np.testing.assert_array_equal(got["v"][k], ref_v[e][:, ids])


@settings(max_examples=10, deadline=None)
@given(in_filter=FILTERS_1D, hid_filter=FILTERS_2D,
       examples=st.lists(st.integers(0, N_EXAMPLES - 1), min_size=1, max_size=4))
def test_filters_equal_indexing_the_unfiltered_recording(in_filter, hid_filter, examples):
    reference = recorded()

    def recorders(pop, spec, tag):
        return [SpikeRecorder(pop, key=tag + "s", example_filter=examples, neuron_filter=spec),
                SpikeRecorder(pop, key=tag + "c", example_filter=examples, neuron_filter=spec,
                              record_counts=True),
                VarRecorder(pop, "v", key=tag + "v", example_filter=examples,
                            neuron_filter=spec)]

    got = evaluate(lambda i, h, o: recorders(i, in_filter, "i") + recorders(h, hid_filter, "h"))
    chosen = sorted(set(examples))
    for tag, spec, shape, spikes, v in (
            ("i", in_filter, (784,), "spikes_input", "v_input"),
            ("h", hid_filter, (4, 8), "spikes_hidden", "v_hidden")):
        part = {key[1:]: value for key, value in got.items() if key[0] == tag}
        check(part, reference[spikes], reference[v], expected_ids(spec, shape), chosen,
              int(np.prod(shape)))


def test_budget_refused_before_any_simulation(monkeypatch):
    calls = []
    compiled_net, input, hidden, output = build()
    monkeypatch.setattr(compiled_net, "start_batch",
                        lambda *a, **k: calls.append(a))
    with compiled_net, pytest.raises(ConfigurationError, match="to='some/folder'"):
        compiled_net.evaluate({input: testing_images * 0.01}, {output: testing_labels},
                              callbacks=[SpikeRecorder(input, key="s", max_bytes="10kB")])
    assert calls == []


def test_streaming_reads_back_like_memory(reference, tmp_path):
    got = evaluate(lambda i, h, o: [SpikeRecorder(i, key="s", to=tmp_path / "s"),
                                    VarRecorder(h, "v", key="v", to=tmp_path / "v")])
    assert len(got["s"][0]) == N_EXAMPLES
    for k in (0, 4, N_EXAMPLES - 1):
        np.testing.assert_array_equal(got["s"][0][k], reference["spikes_input"][0][k])
        np.testing.assert_array_equal(got["s"][1][k], reference["spikes_input"][1][k])
        np.testing.assert_array_equal(got["v"][k], reference["v_hidden"][k])
    values = np.load(tmp_path / "v" / "values.npy")
    assert values.shape == (N_EXAMPLES, T, 32)


def test_conn_var_records_weights(tmp_path):
    compiled_net, input, hidden, output = build()
    conn = hidden.incoming[0]
    with compiled_net:
        _, cb_data = compiled_net.evaluate(
            {input: testing_images * 0.01}, {output: testing_labels},
            callbacks=[ConnVarRecorder(conn, "weight", per="batch", key="w",
                                       trg_neuron_filter=([0], [1]))])
        weights = compiled_net.backend.get_conn_var(conn, "weight")
    assert len(cb_data["w"]) == 3  # 23 examples in batches of 8
    np.testing.assert_array_equal(cb_data["w"][2], weights[:, [1]])


def test_recording_windows_shorter_than_the_batch(reference):
    got = evaluate(lambda i, h, o: [SpikeRecorder(i, key="a"), SpikeRecorder(h, key="b")],
                   num_recording_timesteps=7)
    for k in range(N_EXAMPLES):
        np.testing.assert_array_equal(got["a"][0][k], reference["spikes_input"][0][k])
        np.testing.assert_array_equal(got["b"][1][k], reference["spikes_hidden"][1][k])


def test_registered_names_resolve():
    from spikehooks import registry

    pop = type("Pop", (), {"name": "p", "shape": (3,)})()
    recorder = registry.create("callbacks", ("spike_recorder", {"pop": pop, "key": "s"}))
    assert isinstance(recorder, SpikeRecorder) and recorder.key == "s"
    assert registry.create("callbacks", ("var_recorder", {"pop": pop, "var": "v"})).var == "v"
