"""Deep R's rule on hand-made weights: dormancy, activation, row capacity, L1, state."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from spikehooks.connectivity import FixedProbability, OneToOne
from spikehooks.errors import ConfigurationError
from spikehooks.optimisers import Adam
from spikehooks.training._deep_r import DeepR, binomial_inverse_cdf, row_capacity


class _Backend:
    """The two live arrays Deep R reads: weights and the sparse mask."""

    def __init__(self, conn, weight, mask):
        self.conn, self.weight, self.mask = conn, weight, mask

    def get_weight(self, conn):
        assert conn is self.conn
        return self.weight

    def get_weight_mask(self, conn):
        assert conn is self.conn
        return self.mask


def _setup(weight, mask, connectivity=None, l1=0.0, batch=1, seed=3):
    conn = SimpleNamespace(name="c", connectivity=connectivity or FixedProbability(0.5, 0.0))
    backend = _Backend(conn, np.array(weight, np.float32), np.array(mask, bool))
    deep_r = DeepR(backend, [conn], l1, batch, seed)
    deep_r.initialise()
    return deep_r, backend


def _adam_with_moments(shape):
    opt = Adam()
    opt.update({"c/weight": np.zeros(shape, np.float32)}, {"c/weight": np.ones(shape)})
    return opt


@pytest.mark.parametrize("n, p, q", [(10, 0.5, 0.9), (128, 0.1, 0.9999 ** (1 / 784)),
                                     (40, 0.3, 0.5), (7, 0.9, 0.999), (50, 0.02, 0.99)])
def test_row_capacity_is_the_binomial_quantile_genn_uses(n, p, q):
    cdf = np.cumsum([math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)])
    want = int(np.argmax(cdf >= q - 1e-15))
    assert binomial_inverse_cdf(q, n, p) == want
    assert binomial_inverse_cdf(q, n, 0.0) == 0 and binomial_inverse_cdf(q, n, 1.0) == n


def test_capacity_of_a_drawn_loaded_and_one_to_one_structure():
    mask = np.zeros((784, 128), bool)
    mask[0, :5] = True
    drawn = SimpleNamespace(connectivity=FixedProbability(0.1, 0.0))
    assert row_capacity(drawn, mask) == binomial_inverse_cdf(0.9999 ** (1 / 784), 128, 0.1)
    loaded = FixedProbability(0.1, 0.0)
    loaded.mask = mask
    assert row_capacity(SimpleNamespace(connectivity=loaded), mask) == 5
    assert row_capacity(SimpleNamespace(connectivity=OneToOne(1.0)), np.eye(4, dtype=bool)) == 1


def test_signs_come_from_active_weights_and_a_fair_draw_elsewhere():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(60, 50)).astype(np.float32)
    mask = rng.random((60, 50)) < 0.2
    weight[~mask] = 0.0
    weight[mask.nonzero()[0][0], mask.nonzero()[1][0]] = 0.0   # exactly 0 counts as excitatory
    deep_r, _ = _setup(weight, mask)
    inh = deep_r.rewired[0].inhibitory
    np.testing.assert_array_equal(inh[mask], weight[mask] < 0.0)
    assert 0.45 < inh[~mask].mean() < 0.55   # 2,400 fair coin flips


def test_a_weight_crossing_zero_goes_dormant_and_a_dormant_one_becomes_active():
    weight = np.array([[0.5, -0.3, 0.0, 0.0, 0.0, 0.0],
                       [0.0, 0.0, 0.2, 0.4, 0.0, 0.0],
                       [-0.4, 0.0, 0.0, 0.0, 0.7, 0.0],
                       [0.0, 0.0, 0.0, 0.0, -0.1, 0.3]], np.float32)
    mask = weight != 0.0
    deep_r, backend = _setup(weight, mask)
    rc = deep_r.rewired[0]
    signs = rc.inhibitory.copy()
    opt = _adam_with_moments(weight.shape)
    # The optimiser pushed an excitatory weight below 0 and an inhibitory one above 0.
    backend.weight[0, 0] = -0.01
    backend.weight[2, 0] = 0.02
    kept = mask.copy()
    kept[0, 0] = kept[2, 0] = False
    before = backend.weight.copy()
    deep_r.rewire(opt)
    assert rc.num_rewirings == 2 and rc.num_failed_rewirings == 0
    assert rc.mask.sum() == mask.sum() == 8
    np.testing.assert_array_equal(rc.inhibitory, signs)   # signs never change
    new = rc.mask & ~kept
    assert new.sum() == 2
    np.testing.assert_array_equal(backend.weight[new], 0.0)
    np.testing.assert_array_equal(backend.weight[~rc.mask], 0.0)
    np.testing.assert_array_equal(backend.weight[kept], before[kept])
    for slot in ("m", "v"):
        moments = opt._slots[slot]["c/weight"]
        assert np.all(moments[new] == 0.0) and np.all(moments[kept] > 0.0)
        assert moments[0, 0] == moments[2, 0] == 0.0


def test_a_full_row_rejects_the_draw_and_counts_it():
    # OneToOne: every row holds one synapse, so the one freed row must take the activation.
    weight = np.eye(5, dtype=np.float32)
    deep_r, backend = _setup(weight, np.eye(5, dtype=bool), connectivity=OneToOne(1.0), seed=11)
    rc = deep_r.rewired[0]
    backend.weight[3, 3] = -0.5
    deep_r.rewire(_adam_with_moments((5, 5)))
    np.testing.assert_array_equal(rc.mask.sum(axis=1), 1)
    assert rc.num_rewirings == 1 and rc.num_failed_rewirings > 0   # seed 11 hits full rows first
    assert backend.weight[3].sum() == 0.0


def test_row_choice_is_the_one_at_a_time_loop_on_the_same_draws():
    deep_r, _ = _setup(np.ones((6, 4), np.float32), np.ones((6, 4), bool))
    row_length = np.array([3, 0, 4, 1, 2, 4])
    capacity = 4
    twin = np.random.default_rng()
    twin.bit_generator.state = deep_r.rng.bit_generator.state
    got, failed = deep_r._choose_rows(row_length, 9, capacity)
    want, want_failed, remaining = np.zeros(6, np.int64), 0, 9
    while remaining:
        for row in twin.integers(0, 6, size=remaining):
            if row_length[row] + want[row] < capacity:
                want[row] += 1
                remaining -= 1
            else:
                want_failed += 1
    np.testing.assert_array_equal(got, want)
    assert failed == want_failed and got.sum() == 9
    assert np.all(row_length + got <= capacity)


def test_l1_adds_c_times_batch_size_towards_zero_on_active_synapses_only():
    weight = np.array([[0.5, -0.3, 0.0], [0.0, 0.2, -0.1]], np.float32)
    mask = weight != 0.0
    deep_r, _ = _setup(weight, mask, l1=0.01, batch=4)
    grads = {"c/weight": np.full((2, 3), 0.25)}
    deep_r.add_l1(grads)
    want = np.array([[0.25 + 0.04, 0.25 - 0.04, 0.25], [0.25, 0.25 + 0.04, 0.25 - 0.04]])
    np.testing.assert_allclose(grads["c/weight"], want, rtol=0, atol=1e-15)
    off, _ = _setup(weight, mask, l1=0.0, batch=4)
    grads = {"c/weight": np.full((2, 3), 0.25)}
    off.add_l1(grads)
    np.testing.assert_array_equal(grads["c/weight"], 0.25)


def test_state_round_trips_and_a_foreign_state_is_refused_unchanged():
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(8, 9)).astype(np.float32)
    mask = rng.random((8, 9)) < 0.4
    weight[~mask] = 0.0
    deep_r, backend = _setup(weight, mask)
    state = deep_r.state_dict()
    backend.weight[mask] *= -1.0   # every synapse flips: all rewired
    flipped = backend.weight.copy()
    deep_r.rewire(_adam_with_moments(weight.shape))
    first = deep_r.rewired[0].mask.copy()
    deep_r.load_state(state)
    np.testing.assert_array_equal(deep_r.rewired[0].mask, mask)
    backend.weight[...] = flipped
    deep_r.rewire(_adam_with_moments(weight.shape))   # the same draws again
    np.testing.assert_array_equal(deep_r.rewired[0].mask, first)
    assert deep_r.rewired[0].num_rewirings == mask.sum()
    assert not np.array_equal(first, mask)
    deep_r.load_state(state)
    bad = {**state, "connections": {"c": {**state["connections"]["c"],
                                          "mask": np.zeros((9, 8), bool)}}}
    with pytest.raises(ConfigurationError, match=r"deep_r must hold masks and signs of shapes "
                                                 r"\{'c': \(8, 9\)\}"):
        deep_r.load_state(bad)
    with pytest.raises(ConfigurationError, match="training state deep_r must hold rng"):
        deep_r.load_state(None)
    np.testing.assert_array_equal(deep_r.rewired[0].mask, mask)
