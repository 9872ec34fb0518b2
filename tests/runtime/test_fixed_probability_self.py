"""FixedProbability's ``allow_self_connections``, with mlGeNN's meaning and order, on every backend.

mlGeNN asks GeNN for its no-autapse draw when a population is connected to
itself and ``allow_self_connections`` is False (the default): each pair
``i != j`` exists with probability ``p`` and no neuron reaches itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.backends.genn_backend._plan import make_plan
from spikehooks.connectivity import FixedProbability
from spikehooks.errors import ConfigurationError
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput

N = 300
P = 0.2


def _network(allow: bool | None, recurrent: bool = True):
    """A LIF population connected to itself (or to a second one) by FixedProbability(P)."""
    net = Network()
    with net:
        inp = Population(SpikeInput(), N, name="inp")
        hidden = Population(LeakyIntegrateFire(), N, name="hidden")
        target = hidden if recurrent else Population(LeakyIntegrateFire(), N, name="other")
        Connection(inp, hidden, FixedProbability(0.1, 0.5))
        connectivity = (FixedProbability(P, 0.5) if allow is None
                        else FixedProbability(P, 0.5, allow))
        conn = Connection(hidden, target, connectivity, name="rec")
    return net, conn


def _mask(backend: str, allow: bool | None, recurrent: bool = True) -> np.ndarray:
    net, conn = _network(allow, recurrent)
    compiled = InferenceCompiler(evaluate_timesteps=2, backend=backend,
                                 rng_seed=7).compile(net)
    mask = compiled.backend.get_weight_mask(conn)
    weight = compiled.backend.get_weight(conn)
    # Absent synapses have weight 0, present ones the constant weight.
    np.testing.assert_array_equal(weight, np.where(mask, np.float32(0.5), np.float32(0.0)))
    return mask


BACKENDS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("numba") is None, reason="needs numba"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_recurrent_draw_has_no_self_connections(backend):
    mask = _mask(backend, None)
    assert mask.shape == (N, N) and mask.dtype == np.bool_
    assert not np.any(np.diagonal(mask))
    # Each of the N * (N - 1) off-diagonal pairs exists with probability P:
    # the count is Binomial(N (N - 1), P); 6 standard deviations of slack.
    pairs = N * (N - 1)
    count = int(mask.sum())
    assert abs(count - P * pairs) < 6 * np.sqrt(pairs * P * (1 - P)), count


@pytest.mark.parametrize("backend", BACKENDS)
def test_allowing_self_connections_draws_the_diagonal_like_any_pair(backend):
    allowed, refused = _mask(backend, True), _mask(backend, False)
    # Same random stream: only the diagonal differs.
    off = ~np.eye(N, dtype=bool)
    np.testing.assert_array_equal(allowed[off], refused[off])
    diagonal = int(np.diagonal(allowed).sum())
    assert diagonal > 0
    assert abs(diagonal - P * N) < 6 * np.sqrt(N * P * (1 - P)), diagonal
    np.testing.assert_array_equal(_mask(backend, None), refused)


@pytest.mark.parametrize("backend", BACKENDS)
def test_between_two_populations_every_pair_is_drawn(backend):
    # mlGeNN only uses the no-autapse draw when the source is the target.
    refused, allowed = _mask(backend, False, recurrent=False), _mask(backend, True, False)
    np.testing.assert_array_equal(refused, allowed)
    assert np.diagonal(refused).sum() > 0


def test_genn_backend_plan_has_the_same_synapses_as_the_numpy_backend():
    for allow in (False, True):
        net, conn = _network(allow)
        plan = make_plan(net, batch_size=1, dt=1.0, num_timesteps=2, rng_seed=7,
                         genn_backend="single_threaded_cpu")
        synapses = plan.connections[net.connections.index(conn)].mask
        assert synapses is not None and (allow or not np.any(np.diagonal(synapses)))
        np.testing.assert_array_equal(synapses, _mask("numpy", allow))


def test_positional_order_is_mlgenns():
    # mlGeNN: FixedProbability(p, weight, allow_self_connections=False, delay=0).
    conn = FixedProbability(0.1, 0.5, True, 3)
    assert conn.allow_self_connections is True and conn.delay == 3
    assert FixedProbability(0.1, 0.5).allow_self_connections is False
    assert "allow_self_connections=False" in repr(FixedProbability(0.1, 0.5))


def test_a_delay_given_where_mlgenn_expects_the_flag_is_refused():
    with pytest.raises(ConfigurationError, match=r"FixedProbability allow_self_connections "
                                                 r"must be True or False; got 2\..*delay="):
        FixedProbability(0.1, 0.5, 2)
