"""VarRecorder and ConnVarRecorder against the fake backend."""

from __future__ import annotations

import numpy as np
import pytest
from _fake_backend import FakeBackend, FakeConn, FakePop, run, trace

from spikehooks.errors import ConfigurationError
from spikehooks_recorders import ConnVarRecorder, VarRecorder

T = 10


def make(batch_size=4):
    a, b = FakePop("a", 6), FakePop("b", (2, 3))
    conn = FakeConn("a_b", a, b)
    return FakeBackend([a, b], [conn], batch_size=batch_size, num_timesteps=T, dt=0.5), a, b, conn


def test_rows_are_values_after_each_step():
    backend, a, _, _ = make()
    data = run(backend, [VarRecorder(a, "v", key="v")], num_examples=5)["v"]
    assert len(data) == 5
    assert data[3].dtype == np.float32 and data[3].shape == (T, 6)
    np.testing.assert_array_equal(data[3], trace(a, 3, T))


def test_backend_name_via_genn_var_and_var():
    backend, a, _, _ = make()
    data = run(backend, [VarRecorder(a, genn_var="V", key="x"), VarRecorder(a, "V", key="y")], 2)
    np.testing.assert_array_equal(data["x"][1], data["y"][1])


def test_unknown_variable_lists_the_population_variables():
    backend, a, _, _ = make()
    with pytest.raises(ConfigurationError, match=r"got 'u'.*v \(V\), v_sum \(VSum\)"):
        run(backend, [VarRecorder(a, "u", key="v")], 1)


def test_var_and_genn_var_exclusive():
    with pytest.raises(ConfigurationError, match="exactly one of var= and genn_var="):
        VarRecorder(FakePop("a", 3), "v", genn_var="V")


def test_neuron_filter_selects_columns_in_id_order():
    backend, _, b, _ = make()
    data = run(backend, [VarRecorder(b, "v", key="v", neuron_filter=([1, 0], [2, 0]))], 2)["v"]
    np.testing.assert_array_equal(data[1], trace(b, 1, T)[:, [0, 5]])


def test_shared_variable_ignores_neuron_filter_with_warning():
    backend, a, _, _ = make()
    with pytest.warns(UserWarning, match="shared by all neurons; neuron_filter is ignored"):
        data = run(backend, [VarRecorder(a, "v_sum", key="s", neuron_filter=[1])], 1)["s"]
    np.testing.assert_array_equal(data[0][:, 0], np.arange(T, dtype=np.float32))


def test_record_every_keeps_steps_k_minus_1():
    backend, a, _, _ = make()
    rec = VarRecorder(a, "v", key="v", record_every=3)
    data = run(backend, [rec], 2)["v"]
    np.testing.assert_array_equal(data[1], trace(a, 1, T)[[2, 5, 8]])
    np.testing.assert_array_equal(rec.times_ms(), [1.0, 2.5, 4.0])


@pytest.mark.parametrize("every", [0, 1.5, True])
def test_record_every_validated(every):
    with pytest.raises(ConfigurationError, match="record_every must be an int >= 1"):
        VarRecorder(FakePop("a", 3), "v", record_every=every)


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_var_same_for_any_batch_size(batch_size):
    backend, a, _, _ = make(batch_size)
    data = run(backend, [VarRecorder(a, "v", key="v", example_filter=[5, 0, 6])], 7)["v"]
    for got, example in zip(data, [0, 5, 6], strict=True):
        np.testing.assert_array_equal(got, trace(a, example, T))


def test_estimate_is_exact():
    backend, a, _, _ = make()
    rec = VarRecorder(a, "v", key="v", neuron_filter=[0, 1])
    data = run(backend, [rec], 8)["v"]
    assert rec.estimated_bytes == sum(d.nbytes for d in data) == 2 * T * 8 * 4


# ------------------------------------------------------------------ connections
def test_conn_var_per_batch():
    backend, _, _, conn = make()
    data = run(backend, [ConnVarRecorder(conn, "weight", per="batch", key="w")], 8)["w"]
    assert len(data) == 2
    assert data[1].dtype == np.float32 and data[1].shape == (6, 6)
    np.testing.assert_array_equal(data[1], np.arange(36, dtype=np.float32).reshape(6, 6) + 100)


def test_conn_var_filters_and_batches_with_selected_examples():
    backend, _, _, conn = make()
    rec = ConnVarRecorder(conn, "g", per="batch", key="w", example_filter=[9],
                          src_neuron_filter=[5, 1],
                          trg_neuron_filter=np.index_exp[1, :2])
    data = run(backend, [rec], 12)["w"]
    assert rec.batches == [(None, 2)]
    full = np.arange(36, dtype=np.float32).reshape(6, 6) + 200
    np.testing.assert_array_equal(data[0], full[np.ix_([1, 5], [3, 4])])


def test_conn_var_epochs_in_training():
    backend, _, _, conn = make()
    rec = ConnVarRecorder(conn, "weight", per="batch", key="w", epochs=lambda e: e % 2 == 1)
    run(backend, [rec], 4, mode="train", num_epochs=4)
    assert rec.batches == [(1, 0), (3, 0)]


def test_conn_var_unknown_name():
    backend, _, _, conn = make()
    with pytest.raises(ConfigurationError, match=r"weight \(g\)"):
        run(backend, [ConnVarRecorder(conn, "w", per="batch", key="w")], 1)


def test_conn_var_recorder_mlgenn_layout_is_per_example_per_timestep():
    backend, _, _, conn = make()
    rec = ConnVarRecorder(conn, genn_var="g", key="w", example_filter=[1, 9],
                          src_neuron_filter=[5, 1])
    initial = backend.get_conn_var(conn, "g").copy()
    data = run(backend, [rec], 12)["w"]
    assert len(data) == 2
    for array in data:
        assert array.dtype == np.float32 and array.shape == (backend.num_timesteps, 2, 6)
    # Rows are the selected sources in ascending id order. Example 1 ran in batch 0
    # (initial weights), example 9 in batch 2, after the fake backend set the weights
    # to arange + 100 at the end of batch 1.
    np.testing.assert_array_equal(data[0], np.broadcast_to(initial[[1, 5]], (T, 2, 6)))
    after_batch_1 = np.arange(36, dtype=np.float32).reshape(6, 6) + 100
    np.testing.assert_array_equal(data[1], np.broadcast_to(after_batch_1[[1, 5]], (T, 2, 6)))


def test_conn_var_recorder_takes_a_layer_and_one_variable_name():
    backend, _, _, conn = make()

    class LayerLike:
        connection = conn

    assert ConnVarRecorder(LayerLike(), "g").conn is conn
    with pytest.raises(ConfigurationError, match="genn_var= \\(mlGeNN's name\\) or var="):
        ConnVarRecorder(conn, "g", var="weight")
    with pytest.raises(ConfigurationError, match="per='batch' to stream"):
        ConnVarRecorder(conn, "g", to="somewhere")
