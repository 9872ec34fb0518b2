"""Small networks, a spy callback and the table runner shared by the reliability tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from spikehooks import Callback, InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.compilers import EventPropCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal
from spikehooks.neurons import (
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
from spikehooks.synapses import Exponential

N_IN, N_HID, N_OUT, STEPS = 6, 5, 3, 10



class Spy(Callback):
    """Records which hooks ran; proves that a refused run simulated nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def on_batch_begin(self, batch: int) -> None:
        self.calls.append(("batch_begin", batch))

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        self.calls.append(("batch_end", batch))


def inference_net(record_hidden: bool = True, batch_size: int = 2) -> dict[str, Any]:
    """IF input 6 -> LIF 5 -> LI 3 (sum_var), compiled for 10 timesteps of 1 ms."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), N_IN, name="input")
        hidden = Layer(Dense(Normal(mean=0.5, sd=0.2)), LeakyIntegrateFire(tau_mem=10.0), N_HID,
                       record_spikes=record_hidden, name="hidden")
        out = Layer(Dense(Normal(sd=0.3)), LeakyIntegrate(readout="sum_var"), N_OUT,
                    name="output")
    compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=batch_size,
                                 rng_seed=1).compile(network)
    x = np.random.default_rng(0).uniform(0.0, 1.0, (8, N_IN)).astype(np.float32)
    y = np.arange(8) % N_OUT
    return {"network": network, "compiled": compiled, "input": inp, "hidden": hidden,
            "output": out, "x": x, "y": y}


def training_net(batch_size: int = 4, **compiler_kwargs: Any) -> dict[str, Any]:
    """SpikeInput 6 -> LIF 5 -> LI 3 (avg_var), compiled for EventProp (Adam unless given)."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=64), N_IN, name="input")
        Layer(Dense(Normal(mean=1.5, sd=0.5)),
              LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, scale_i=True), N_HID,
              Exponential(5.0, scale_i=True), name="hidden")
        out = Layer(Dense(Normal(sd=0.5)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"), N_OUT,
                    Exponential(5.0, scale_i=True), name="output")
    settings = {"optimiser": ("adam", {"alpha": 0.01}), **compiler_kwargs}
    compiled = EventPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                                 batch_size=batch_size, rng_seed=1, **settings).compile(network)
    rng = np.random.default_rng(0)
    x = [preprocess_spikes(rng.uniform(0.0, 8.0, N_IN), np.arange(N_IN), N_IN)
         for _ in range(8)]
    y = np.arange(8) % N_OUT
    return {"network": network, "compiled": compiled, "input": inp, "output": out,
            "x": x, "y": y}


def xy(net: dict[str, Any], x: Any = None, y: Any = None,
       **kwargs: Any) -> tuple[dict, dict, dict]:
    """``(x dict, y dict, kwargs)`` for a catalogue net, its own data where none is given."""
    return ({net["input"]: net["x"] if x is None else x},
            {net["output"]: net["y"] if y is None else y}, kwargs)


def weights(compiled: Any) -> dict[str, np.ndarray]:
    """A copy of the learnable state of a compiled network."""
    return {k: np.array(v, copy=True) for k, v in compiled.backend.get_learnable_state().items()}


def assert_same_weights(before: dict[str, np.ndarray], compiled: Any) -> None:
    after = weights(compiled)
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


@dataclass
class Ctx:
    """What a case may use: a temporary folder, fixtures, and objects it leaves for ``after``."""

    tmp_path: Any
    monkeypatch: Any
    fake_dist: Any
    spy: Spy = field(default_factory=Spy)
    saved: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One wrong use: what to do, what must be raised, and what must be left untouched.

    ``names`` and ``fix`` are regular expressions searched in the message:
    the offending object (population, class, file...) and the hint phrase.
    ``after(ctx)`` checks that nothing was half-done.
    """

    id: str
    act: Callable[[Ctx], Any]
    error: type[BaseException]
    names: str
    fix: str
    after: Callable[[Ctx], None] | None = None
    warns: type[Warning] | None = None
    xfail: str | None = None


def params(cases: list[Case]) -> list[Any]:
    """``pytest.param`` per case, with its id; a known bug is a strict xfail with its reason."""
    return [pytest.param(case, id=case.id,
                         marks=[pytest.mark.xfail(strict=True, reason=case.xfail)]
                         if case.xfail else [])
            for case in cases]


def run_case(case: Case, ctx: Ctx) -> None:
    """Run ``case.act`` and check the error, its message and the state left behind."""
    if case.warns is not None:
        with pytest.warns(case.warns), pytest.raises(case.error) as info:
            case.act(ctx)
    else:
        with pytest.raises(case.error) as info:
            case.act(ctx)
    assert type(info.value) is case.error or issubclass(type(info.value), case.error)
    message = str(info.value)
    assert re.search(case.names, message), f"{case.id}: object not named in {message!r}"
    assert re.search(case.fix, message), f"{case.id}: no fix in {message!r}"
    if case.after is not None:
        case.after(ctx)


def nothing_simulated(ctx: Ctx) -> None:
    """After a refused run: the spy saw no batch and the backend never stepped.

    ``ctx.saved["stepped"]``: the case ran the network on purpose before the refused call.
    """
    assert ctx.spy.calls == []
    compiled = ctx.saved.get("compiled")
    if compiled is not None and not ctx.saved.get("stepped"):
        assert compiled.backend.timestep == 0


def weights_unchanged(ctx: Ctx) -> None:
    assert_same_weights(ctx.saved["weights"], ctx.saved["compiled"])
    nothing_simulated(ctx)


def nothing_added(ctx: Ctx) -> None:
    """After a refused population/connection: the network holds only what it held before."""
    network = ctx.saved["network"]
    assert [p.name for p in network.populations] == ctx.saved["populations"]
    assert [c.name for c in network.connections] == ctx.saved["connections"]
