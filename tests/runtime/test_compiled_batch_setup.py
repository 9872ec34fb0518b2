"""The compiled backend's per-batch setup: its one-copy full reset leaves the state the NumPy
backend's reset leaves, and SpikeInput populations loaded from data-set tables and from
example lists, in any mix, give the spikes of the NumPy backend."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

import test_compiled_backend as every_model  # noqa: E402
import test_compiled_delays as delays  # noqa: E402

from spikehooks import InferenceCompiler  # noqa: E402
from spikehooks.backends.numpy_backend import NumpyBackend  # noqa: E402
from spikehooks.compilers import _data  # noqa: E402


def _state(backend):
    """Every array a reset writes, copied."""
    lay = backend._layout
    return ([lay.fstate.copy(), lay.spikes.copy()]
            + [pst.spikes_f.copy() for pst in backend._pops.values() if pst.spikes_f is not None]
            + [backend.timestep, backend._window_start])


def _after_a_batch(network, x, populations_out):
    compiled = InferenceCompiler(every_model.STEPS, batch_size=3, rng_seed=2,
                                 backend=("compiled", {"num_threads": 1})).compile(network)
    compiled.__enter__()
    compiled.predict(x, populations_out, callbacks=[])
    return compiled.backend


@pytest.mark.parametrize("which", ["every model", "delays"])
@pytest.mark.parametrize("switches", [(True, True), (True, False), (False, True)])
def test_the_one_copy_reset_leaves_the_numpy_backends_reset_state(which, switches):
    states = []
    for reset in ("compiled", "numpy"):
        if which == "every model":
            net, pops = every_model._network()
            x, outs = every_model._inputs(pops, 5), [pops["avg"], pops["total"]]
        else:
            net, inp, _, out = delays._network()
            x, outs = {inp: delays._data(5)[0]}, [out]
        backend = _after_a_batch(net, x, outs)
        before = _state(backend)
        assert before[-2] > 0 and np.abs(before[0]).max() > 0 and before[1].any()
        reset_vars, reset_in_syn = switches
        if reset == "compiled":
            backend.reset(reset_vars=reset_vars, reset_in_syn=reset_in_syn)
        else:
            NumpyBackend.reset(backend, reset_vars=reset_vars, reset_in_syn=reset_in_syn)
        states.append(_state(backend))
    for got, want in zip(*states, strict=True):
        np.testing.assert_array_equal(got, want)
    # A full reset changed the state (the comparison means something).
    assert not np.array_equal(states[0][0], before[0])


def test_spike_inputs_from_tables_and_from_lists_in_any_mix_give_the_numpy_spikes():
    """Two SpikeInput populations, batch after batch: one from its data set's table, the
    other from example lists, then both from tables, then one from a list again."""
    import test_spike_examples as examples

    readouts = {}
    for backend in ("numpy", ("compiled", {"num_threads": 1})):
        net, x, out = examples._two_inputs()
        a, b = list(x)
        compiled = InferenceCompiler(16, batch_size=2, backend=backend).compile(net)
        prepared, _ = _data.prepare_inputs(net, x)
        plans = [{a: "table", b: "list"}, {a: "table", b: "table"}, {a: "list", b: "table"},
                 {a: "table", b: "table"}, {a: "list", b: "list"}, {a: "table", b: "table"}]
        got = []
        with compiled:
            for step, plan in enumerate(plans):
                indices = np.array([step % 7, (3 * step + 1) % 7])[:1 + step % 2]
                compiled.backend.reset()
                for pop, how in plan.items():
                    by_index = getattr(compiled.backend, "set_input_examples", None)
                    if how == "list" or by_index is None:
                        compiled.backend.set_input(pop, [prepared[pop][i] for i in indices])
                    else:
                        assert by_index(pop, prepared[pop], indices)
                compiled.backend.num_examples_in_batch = len(indices)
                compiled.backend.run(16)
                got.append(compiled.backend.get_readout(out)[:len(indices)])
        readouts[compiled.backend.name] = got
    for g, w in zip(readouts["compiled"], readouts["numpy"], strict=True):
        assert g.tobytes() == w.tobytes()
    assert sum(np.abs(w).sum() for w in readouts["numpy"]) > 0


def test_spike_record_tables_are_set_per_list_of_populations():
    """The same list again (a training loop's every batch) starts a new batch with the
    tables it set; a new list sets its own constants."""
    net, inp, hid, out = delays._network()
    compiled = InferenceCompiler(10, batch_size=2, backend=("compiled", {"num_threads": 1})
                                 ).compile(net)
    backend = compiled.backend
    n = hid.num_neurons
    first = [(inp, None), (hid, tuple(np.full(n, v, np.float32) for v in (1.0, 2.0, 3.0)))]
    backend.start_records(first)
    flags, consts, _, _, state, _ = backend._records.kernel_args()
    s0 = backend.spike_column(hid)
    np.testing.assert_array_equal(consts[s0:s0 + n], np.tile([1.0, 2.0, 3.0], (n, 1)))
    rows = [backend._layout_index(p) for p in (inp, hid, out)]
    assert list(flags[rows]) == [1, 2, 0]
    state[:] = 7  # records of a batch: a new start clears them
    backend.start_records(first)
    assert not backend._records.kernel_args()[4].any()
    second = [(hid, tuple(np.full(n, v, np.float32) for v in (4.0, 5.0, 6.0)))]
    backend.start_records(second)
    flags, consts = backend._records.kernel_args()[:2]
    np.testing.assert_array_equal(consts[s0:s0 + n], np.tile([4.0, 5.0, 6.0], (n, 1)))
    assert list(flags[rows]) == [0, 2, 0]
