"""Losses (values and gradients) and optimisers (update formulas, state)."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import registry
from spikehooks.errors import ConfigurationError
from spikehooks.losses import (
    MeanSquareError,
    RelativeMeanSquareError,
    SparseCategoricalCrossentropy,
)
from spikehooks.optimisers import SGD, Adam

PRED = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])


def _numeric_grad(loss, pred, target, eps=1e-6):
    grad = np.zeros_like(pred)
    for index in np.ndindex(pred.shape):
        up, down = pred.copy(), pred.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (loss.value_and_grad(up, target)[0] - loss.value_and_grad(down, target)[0])
        grad[index] /= 2 * eps
    return grad


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (SparseCategoricalCrossentropy(), np.array([1, 2])),
        (RelativeMeanSquareError(1.5), np.array([0, 2])),
        (MeanSquareError(), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])),
    ],
)
def test_loss_gradient_matches_numeric_derivative(loss, target):
    _, grad = loss.value_and_grad(PRED, target)
    np.testing.assert_allclose(grad, _numeric_grad(loss, PRED, target), atol=1e-8)


def test_cross_entropy_value_is_mean_negative_log_softmax():
    value, _ = SparseCategoricalCrossentropy().value_and_grad(PRED, np.array([1, 2]))
    logs = PRED - np.log(np.exp(PRED).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-(logs[0, 1] + logs[1, 2]) / 2)


def test_relative_mse_is_zero_when_wrong_outputs_lag_by_delta():
    t = np.array([[2.0, 4.0, 4.0]])  # correct output 0 fires 2 ms before the others
    value, grad = RelativeMeanSquareError(2.0).value_and_grad(-t, np.array([0]))
    assert value == 0.0
    assert not grad.any()


def test_losses_resolve_by_registered_name():
    loss = registry.create("losses", "sparse_categorical_crossentropy")
    assert isinstance(loss, SparseCategoricalCrossentropy)


def test_labels_out_of_range_are_rejected():
    with pytest.raises(ConfigurationError, match=r"must lie in \[0, 3\)"):
        SparseCategoricalCrossentropy().check_labels(np.array([0, 3]), 3, "output")


def test_adam_steps_follow_the_bias_corrected_formula():
    weight = np.array([1.0, -2.0], dtype=np.float32)
    opt = Adam(alpha=0.1, beta1=0.9, beta2=0.99, epsilon=1e-8)
    grads = [np.array([0.5, -1.0]), np.array([0.25, 2.0])]
    m = v = np.zeros(2)
    expected = weight.astype(np.float64)
    for step, g in enumerate(grads):
        opt.update({"w": weight}, {"w": g})
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        mhat, vhat = m / (1 - 0.9 ** (step + 1)), v / (1 - 0.99 ** (step + 1))
        expected = expected - 0.1 * mhat / (np.sqrt(vhat) + 1e-8)
    np.testing.assert_allclose(weight, expected, rtol=1e-6)
    assert opt.step == 2


def test_sgd_with_momentum_accumulates_velocity():
    weight = np.zeros(1, dtype=np.float32)
    opt = SGD(alpha=0.5, momentum=0.5)
    for _ in range(2):
        opt.update({"w": weight}, {"w": np.ones(1)})
    assert weight[0] == pytest.approx(-(0.5 * 1.0 + 0.5 * 1.5))


def test_optimiser_state_round_trip_resumes_bitwise():
    weights = [np.array([0.3, -0.7], dtype=np.float32) for _ in range(2)]
    first, second = Adam(alpha=0.01), Adam()
    first.update({"w": weights[0]}, {"w": np.array([1.0, 2.0])})
    weights[1][:] = weights[0]
    second.load_state_dict(first.state_dict())
    assert second.alpha == 0.01
    for opt, w in zip((first, second), weights, strict=True):
        opt.update({"w": w}, {"w": np.array([-0.5, 0.1])})
    assert weights[0].tobytes() == weights[1].tobytes()


def test_hyperparameters_are_plain_attributes_listed_in_param_names():
    opt = Adam()
    assert opt.param_names == ("alpha", "beta1", "beta2", "epsilon")
    opt.alpha = 0.5
    assert opt.state_dict()["params"]["alpha"] == 0.5
