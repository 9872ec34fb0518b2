"""Checkpoints, schedules, recorders and serialisers work unchanged on convolutional networks."""

from __future__ import annotations

import numpy as np
from _nets import STEPS, conv_net, inputs, kernel

from spikehooks import EventPropCompiler, InferenceCompiler
from spikehooks.optimisers import Adam

W_OUT = kernel(2, (16, 3))
LABELS = np.array([0, 1, 2, 1, 0, 2])


def _train(num_epochs, callbacks, resume_from=None):
    net, inp, hidden, last, out = conv_net(kernel(), W_OUT)
    compiled = EventPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                                 optimiser=Adam(0.01), batch_size=3).compile(net)
    with compiled:
        compiled.train({inp: inputs(6)}, {out: LABELS}, num_epochs=num_epochs,
                       callbacks=callbacks, shuffle=False, resume_from=resume_from)
        return compiled.backend.get_learnable_state(), hidden


def test_checkpoint_resume_gives_the_kernel_of_an_uninterrupted_run(tmp_path):
    from spikehooks_checkpoint import Checkpoint

    straight, hidden = _train(3, [])
    _train(2, [Checkpoint(path=tmp_path / "ckpt")])
    resumed, _ = _train(3, [Checkpoint(path=tmp_path / "ckpt")], resume_from="latest")
    key = f"{hidden.connection.name}/weight"
    assert resumed[key].shape == (3, 3, 1, 4)
    assert not np.array_equal(straight[key], kernel())
    for name, value in straight.items():
        np.testing.assert_array_equal(resumed[name], value)


def test_learning_rate_schedule_reaches_the_kernel_update(tmp_path):
    from spikehooks_schedules import OptimiserParamSchedule

    frozen, hidden = _train(2, [OptimiserParamSchedule("alpha", lambda epoch, alpha: 1e-12)])
    key = f"{hidden.connection.name}/weight"
    np.testing.assert_allclose(frozen[key], kernel(), atol=1e-9)


def test_saved_kernels_load_into_a_fresh_network(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained, hidden = _train(1, [])
    net, inp, fresh_hidden, last, out = conv_net(kernel(9), W_OUT)
    compiled = InferenceCompiler(evaluate_timesteps=STEPS).compile(net)
    with compiled:
        compiled.backend.set_learnable_state(trained)
        compiled.save(("trained",))
    net2, *_ = conv_net(kernel(9), W_OUT)
    net2.load(("trained",))
    conv = net2.populations[1].incoming[0].connectivity
    np.testing.assert_array_equal(conv.weight, trained[f"{hidden.connection.name}/weight"])


def test_var_recorder_filters_a_3d_population_like_numpy():
    from spikehooks_recorders import VarRecorder

    net, inp, hidden, last, out = conv_net(kernel(), W_OUT)
    compiled = InferenceCompiler(evaluate_timesteps=STEPS).compile(net)
    with compiled:
        _, data = compiled.evaluate({inp: inputs(1)}, {out: np.zeros(1, int)}, callbacks=[
            VarRecorder(hidden, "v", key="all"),
            VarRecorder(hidden, "v", key="chan1", neuron_filter=np.s_[:, :, 1]),
            VarRecorder(hidden, "v", key="pairs", neuron_filter=([0, 3], [2, 1], [3, 0]))])
    full = data["all"][0].reshape(STEPS, 4, 4, 4)
    np.testing.assert_array_equal(data["chan1"][0], full[:, :, :, 1].reshape(STEPS, -1))
    np.testing.assert_array_equal(data["pairs"][0], full[:, [0, 3], [2, 1], [3, 0]])
    assert np.abs(full).max() > 0


def test_conn_var_recorder_records_the_dense_weights_of_a_convolution():
    from spikehooks_recorders import ConnVarRecorder

    net, inp, hidden, last, out = conv_net(kernel(), W_OUT)
    compiled = InferenceCompiler(evaluate_timesteps=STEPS).compile(net)
    with compiled:
        _, data = compiled.evaluate({inp: inputs(1)}, {out: np.zeros(1, int)}, callbacks=[
            ConnVarRecorder(hidden.connection, "weight", key="g",
                            src_neuron_filter=([0, 2], [1, 3], [0, 0]),
                            trg_neuron_filter=np.s_[0, 1, :])])
    dense = hidden.connection.connectivity.expand(kernel())
    # Flat C-order ids: sources (0, 1, 0) -> 1 and (2, 3, 0) -> 15, both under the
    # kernel of targets (0, 1, f) -> 4 + f.
    recorded = data["g"][0]  # one (2, 4) block per timestep
    assert recorded.shape == (STEPS, 2, 4)
    for block in recorded:
        np.testing.assert_array_equal(block, dense[np.ix_([1, 15], [4, 5, 6, 7])])
    assert np.abs(recorded).max() > 0
