"""A callback reading the recording buffers once per batch, for the compiled-backend tests."""

from __future__ import annotations

from spikehooks import Callback


class SpikesAtBatchEnd(Callback):
    """Pulls the recording buffers once per batch: no per-step hook, so run() is one kernel call.

    ``get_data()`` returns ``("spikes", {population name: [(times, ids) per example]})``.
    """

    def __init__(self, pops):
        self.pops = pops
        self.spikes = {p.name: [] for p in pops}

    def set_params(self, backend, **kwargs):
        self.backend = backend

    def on_batch_end(self, batch, metrics):
        self.backend.pull_recording_buffers()
        for pop in self.pops:
            self.spikes[pop.name].extend(self.backend.get_spikes(pop))

    def get_data(self):
        return "spikes", self.spikes
