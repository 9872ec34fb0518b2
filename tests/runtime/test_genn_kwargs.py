"""mlGeNN's ``**genn_kwargs`` and the pygenn names its MPI examples import."""

from __future__ import annotations

import pytest

from spikehooks import ConfigurationError
from spikehooks.backends.genn_backend import GeNNBackend
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.compilers._genn_kwargs import backend_kwargs


def test_genn_preferences_are_kept_and_reach_only_the_genn_backend():
    from spikehooks.backends.genn_backend import DeviceSelect

    compiler = InferenceCompiler(10, device_select_method=DeviceSelect.MANUAL,
                                 manual_device_id=1)
    assert compiler.genn_kwargs == {"device_select_method": DeviceSelect.MANUAL,
                                    "manual_device_id": 1}
    explicit = {"genn_preferences": {"manual_device_id": 0}}
    merged = backend_kwargs(GeNNBackend, compiler.genn_kwargs, explicit)
    # The backend's own genn_preferences win over the compiler's keywords.
    assert merged["genn_preferences"] == {"device_select_method": DeviceSelect.MANUAL,
                                          "manual_device_id": 0}
    from spikehooks.backends.numpy_backend import NumpyBackend

    assert backend_kwargs(NumpyBackend, compiler.genn_kwargs, {"accumulation": "blas"}) == {
        "accumulation": "blas"}


def test_a_network_compiles_on_the_numpy_backend_with_genn4_keywords():
    from spikehooks import InputLayer, Layer, SequentialNetwork
    from spikehooks.backends.genn_backend import DeviceSelect_MANUAL
    from spikehooks.connectivity import Dense
    from spikehooks.neurons import LeakyIntegrate, SpikeInput

    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(max_spikes=10), 2)
        Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2)
    compiler = EventPropCompiler(5, "sparse_categorical_crossentropy", backend="numpy",
                                 selectGPUByDeviceID=True, deviceSelectMethod=DeviceSelect_MANUAL)
    compiled = compiler.compile(net)
    assert compiled.backend.name == "numpy"


@pytest.mark.parametrize("make", [
    lambda: InferenceCompiler(10, batchsize=32),
    lambda: EventPropCompiler(10, "sparse_categorical_crossentropy", optimizer="adam"),
], ids=["inference", "eventprop"])
def test_an_unknown_keyword_is_refused_naming_it(make):
    with pytest.raises(ConfigurationError, match=r"GeNN model preferences.*got \['(batchsize|"
                                                 r"optimizer)'\]"):
        make()


def test_device_select_names_have_genns_members_and_genn4_spellings():
    from spikehooks.backends import genn_backend

    assert genn_backend.DeviceSelect_MANUAL == genn_backend.DeviceSelect.MANUAL
    assert genn_backend.BlockSizeSelect_OCCUPANCY == genn_backend.BlockSizeSelect.OCCUPANCY
    assert [m.name for m in genn_backend.DeviceSelect] == ["OPTIMAL", "MOST_MEMORY", "MANUAL"]
    with pytest.raises(AttributeError, match="DeviceSelect_NONE"):
        genn_backend.DeviceSelect_NONE  # noqa: B018
