"""A SpikeInput data set is validated in one screen and flattened once per run: the same
errors as the example-by-example checks, and the same spikes as batch-by-batch flattening."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import ConfigurationError, Connection, InferenceCompiler, Network, Population
from spikehooks.connectivity import Dense
from spikehooks.data import PreprocessedSpikes, preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput, _spike_examples
from spikehooks.neurons.input import _check_each


class _Pop:
    name = "inp"
    num_neurons = 3


def _good(num=6, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for e in range(num):
        count = int(rng.integers(0, 8)) if e else 0  # example 0 has no spikes
        out.append(preprocess_spikes(np.sort(rng.uniform(0, 9, count)),
                                     rng.integers(0, 3, count), 3))
    return out


def _bad_cases():
    good = _good()
    end, times = good[2].end_spikes, good[2].spike_times
    nan = times.astype(np.float64).copy()
    nan[-1] = np.nan
    return {
        "not spikes": object(),
        "wrong size": PreprocessedSpikes(end[:2], times[:int(end[1])]),
        "bool times": PreprocessedSpikes(end, np.ones(len(times), bool)),
        "too few times": PreprocessedSpikes(end, times[:-1]),
        "NaN time": PreprocessedSpikes(end, nan),
        "inf time": PreprocessedSpikes(end, np.full(len(times), np.inf)),
    }


def _message(examples):
    with pytest.raises(ConfigurationError) as info:
        SpikeInput().prepare_input(examples, _Pop())
    return str(info.value)


@pytest.mark.parametrize("case", list(_bad_cases()))
@pytest.mark.parametrize("where", [0, 3, 5])
def test_the_screen_refuses_what_the_checks_refuse_naming_the_first_bad_example(case, where,
                                                                                monkeypatch):
    examples = _good()
    examples[where] = _bad_cases()[case]
    # A second, different fault later on: the first one is named.
    examples.append(_bad_cases()["wrong size" if case != "wrong size" else "NaN time"])
    message = _message(examples)
    with pytest.raises(ConfigurationError) as info:
        _check_each(examples, "input of population 'inp'", 3)
    assert message == str(info.value)
    assert f"example {where} " in message
    # Spike times screened in several pieces find the same fault.
    monkeypatch.setattr(_spike_examples, "_CHUNK", 3)
    assert _message(examples) == message


def test_valid_sets_pass_the_screen_or_the_checks_with_their_spike_counts():
    examples = _good()
    prepared = SpikeInput().prepare_input(examples, _Pop())
    assert list(prepared) == examples and prepared.cache == {}
    want = np.array([len(e.spike_times) for e in examples])
    np.testing.assert_array_equal(prepared.num_spikes, want)
    assert prepared.num_spikes.dtype == np.int64 and want[0] == 0 and want.sum() > 5
    # What the screen leaves to the checks (times as lists, float counts) passes them.
    odd = [PreprocessedSpikes(e.end_spikes.astype(float), list(e.spike_times))
           for e in examples]
    assert _spike_examples.all_valid(odd, 3) is None
    np.testing.assert_array_equal(SpikeInput().prepare_input(odd, _Pop()).num_spikes, want)
    np.testing.assert_array_equal(_spike_examples.all_valid(examples, 3), want)


def test_max_spikes_names_the_first_batch_over_it_with_its_total():
    examples = _good(12, seed=3)
    prepared = SpikeInput().prepare_input(examples, _Pop())
    order = np.random.default_rng(1).permutation(12)
    batches = [order[i:i + 5] for i in range(0, 12, 5)]
    totals = [sum(len(examples[i].spike_times) for i in b) for b in batches]
    limit = sorted(totals)[1]
    first = next(i for i, t in enumerate(totals) if t > limit)
    for given in (prepared, examples):  # (a plain list counts its examples' spikes)
        with pytest.raises(ConfigurationError, match=f"got {totals[first]} spikes in batch "
                                                     f"{first} for max_spikes={limit}."):
            SpikeInput(max_spikes=limit).check_batches(given, batches, _Pop())
        SpikeInput(max_spikes=max(totals)).check_batches(given, batches, _Pop())


pytest.importorskip("numba")


def _two_inputs():
    """Two SpikeInput populations (their times joined for the kernel) into a LIF layer."""
    net = Network()
    with net:
        a = Population(SpikeInput(max_spikes=500), 4, name="a")
        b = Population(SpikeInput(max_spikes=500), 3, name="b")
        lif = Population(LeakyIntegrateFire(v_thresh=0.5, tau_mem=10.0), 9, record_spikes=True,
                         name="lif")
        out = Population(LeakyIntegrate(readout="sum_var"), 2, name="out")
        Connection(a, lif, Dense(Normal(0.5, 0.3)))
        Connection(b, lif, Dense(Normal(0.4, 0.3)))
        Connection(lif, out, Dense(Normal(0.0, 0.5)))
    rng = np.random.default_rng(5)

    def data(n, num):
        sets = []
        for e in range(num):
            count = 0 if e == 2 else int(rng.integers(1, 25))
            sets.append(preprocess_spikes(np.sort(rng.uniform(0, 14, count)),
                                          rng.integers(0, n, count), n))
        return sets

    return net, {a: data(4, 7), b: data(3, 7)}, out


@pytest.mark.parametrize("batch_size, threads", [(1, 1), (3, 2), (4, 1)])
def test_a_data_set_flattened_once_gives_the_numpy_backends_readouts(batch_size, threads,
                                                                     monkeypatch):
    """Table per data set, batch-by-batch flattening (tables off) and the NumPy backend:
    the same readouts bit for bit, with padding (7 examples) and an example without spikes."""
    from spikehooks.backends.compiled_backend import _batch_setup, _inputs

    flattened = []
    original = _batch_setup.batch_spike_times
    monkeypatch.setattr(_batch_setup, "batch_spike_times",
                        lambda *args: flattened.append(1) or original(*args))
    results, batch_calls = {}, {}
    for name, backend, limit in (("numpy", "numpy", None),
                                 ("table", ("compiled", {"num_threads": threads}), None),
                                 ("batches", ("compiled", {"num_threads": threads}), 0)):
        if limit is not None:
            monkeypatch.setattr(_inputs, "TABLE_BYTES", limit)
        net, x, out = _two_inputs()
        compiled = InferenceCompiler(16, batch_size=batch_size, backend=backend).compile(net)
        flattened.clear()
        with compiled:
            # Twice: the second run flattens its data set again, and joins it once.
            results[name] = [compiled.predict(x, out, callbacks=[])[0][out] for _ in range(2)]
        batch_calls[name] = len(flattened)
    # Batch by batch: two populations, every batch of both runs; with tables: never.
    assert batch_calls == {"numpy": 0, "table": 0, "batches": 4 * -(-7 // batch_size)}
    for name in ("table", "batches"):
        for got, want in zip(results[name], results["numpy"], strict=True):
            assert got.tobytes() == want.tobytes()
    assert np.abs(results["numpy"][0]).max() > 0


def test_the_table_holds_every_example_as_one_batch_and_a_padding_sentinel():
    from spikehooks.backends.compiled_backend._inputs import batch_spike_times, spike_table

    given = _good(5, seed=2)
    # Times of other dtypes, cast to float32 as each example's own cast does.
    given[1] = PreprocessedSpikes(given[1].end_spikes,
                                  given[1].spike_times.astype(np.float64) + 1e-9)
    given[2] = PreprocessedSpikes(given[2].end_spikes, given[2].spike_times.astype(np.int32))
    for odd in (False, True):
        if odd:  # lists of times: checked example by example
            given[3] = PreprocessedSpikes(given[3].end_spikes, list(given[3].spike_times))
        examples = SpikeInput().prepare_input(given, _Pop())
        times, first = spike_table(examples, 3)
        want_times, want_pointer = batch_spike_times(list(examples), 5, 3)
        assert times[:-1].tobytes() == want_times.tobytes()
    assert (given[1].spike_times.astype(np.float32) != given[1].spike_times).any()
    np.testing.assert_array_equal(times[:-1], want_times)
    np.testing.assert_array_equal(first.reshape(-1), want_pointer)
    assert np.isinf(times[-1]) and first.shape == (5, 3)
    # Kept for the run: the same arrays again.
    assert spike_table(examples, 3)[0] is times
