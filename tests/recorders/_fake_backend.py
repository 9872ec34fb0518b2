"""A small backend implementing spikehooks' backend protocol, and a driver mimicking the runtime.

Every data-set example ``e`` has a fixed spike raster ``raster(e)`` (bool,
shape (T, *pop.shape)) and variable traces ``trace(e)`` (float32, (T, n)), so
expected recordings are computed without any simulation.  The recording
buffer holds ``num_recording_timesteps`` steps and raises on overflow, so a
recorder that forgets to pull fails loudly.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from spikehooks import CallbackList


class FakePop:
    def __init__(self, name, shape, record_spikes=True, rate=0.2):
        self.name = name
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.num_neurons = math.prod(self.shape)
        self.record_spikes = record_spikes
        self.rate = rate

    def __repr__(self):
        return f"FakePop({self.name!r})"


class FakeConn:
    def __init__(self, name, source, target):
        self.name = name
        self.source = source
        self.target = target


def raster(pop, example, num_timesteps):
    """Bool (T, num_neurons) spike raster of ``example`` (deterministic)."""
    rng = np.random.default_rng([zlib.crc32(pop.name.encode()), int(example)])
    return rng.random((num_timesteps, pop.num_neurons)) < pop.rate


def trace(pop, example, num_timesteps):
    """Float32 (T, num_neurons) value of V after each step of ``example``."""
    t = np.arange(num_timesteps, dtype=np.float32)[:, None]
    n = np.arange(pop.num_neurons, dtype=np.float32)[None, :]
    return (example * 1000.0 + t + n / 1024.0).astype(np.float32)


def expected_spikes(pop, example, num_timesteps, dt=1.0, ids=None):
    steps, neurons = np.nonzero(raster(pop, example, num_timesteps))
    if ids is not None:
        keep = np.isin(neurons, ids)
        steps, neurons = steps[keep], neurons[keep]
    return steps * dt, neurons.astype(np.int32)


class FakeBackend:
    name = "fake"

    def __init__(self, pops, conns=(), batch_size=4, num_timesteps=10, dt=1.0,
                 num_recording_timesteps=None):
        self.pops = list(pops)
        self.conns = list(conns)
        self.batch_size = batch_size
        self.num_timesteps = num_timesteps
        self.dt = dt
        self.num_recording_timesteps = num_recording_timesteps or num_timesteps
        self.timestep = 0
        self.num_examples_in_batch = 0
        self.example_indices = np.empty(0, dtype=np.int64)
        self.num_recording_pulls = 0
        self.var_pulls = 0
        self.weights = {c.name: np.zeros((c.source.num_neurons, c.target.num_neurons),
                                         np.float32) for c in self.conns}

    # ---------------------------------------------------------------- driving
    def start_batch(self, indices):
        self.example_indices = np.asarray(indices, dtype=np.int64)
        self.num_examples_in_batch = len(indices)
        self.timestep = 0
        self._window_start = 0
        B, T = self.batch_size, self.num_timesteps
        padded = list(indices) + [indices[-1]] * (B - len(indices))
        self._rasters = {p.name: np.stack([raster(p, e, T) for e in padded], axis=1)
                         for p in self.pops}
        self._traces = {p.name: np.stack([trace(p, e, T) for e in padded], axis=1)
                        for p in self.pops}
        self._buffers = {p.name: [] for p in self.pops if p.record_spikes}
        self._pulled = {}

    def step(self):
        t = self.timestep
        for name, rows in self._buffers.items():
            if len(rows) == self.num_recording_timesteps:
                raise RuntimeError(f"recording buffer of {name} overflowed at step {t}")
            bits = self._rasters[name][t]  # (B, N)
            n = bits.shape[1]
            words = math.ceil(n / 32)
            padded = np.zeros((bits.shape[0], words * 32), dtype=bool)
            padded[:, :n] = bits
            packed = np.packbits(padded, axis=1, bitorder="little").view("<u4")
            rows.append(packed)
        self.timestep += 1

    def end_batch(self, batch):
        for conn in self.conns:
            self.weights[conn.name] = (np.arange(self.weights[conn.name].size, dtype=np.float32)
                                       .reshape(self.weights[conn.name].shape) + 100 * batch)

    # ---------------------------------------------------------------- protocol
    def is_spike_recording_enabled(self, population):
        return population.record_spikes

    def recording_window_ready(self, timestep):
        return ((timestep + 1) % self.num_recording_timesteps == 0
                or timestep + 1 == self.num_timesteps)

    def pull_recording_buffers(self):
        self.num_recording_pulls += 1
        n_words = {p.name: math.ceil(p.num_neurons / 32) for p in self.pops}
        self._pulled = {
            name: (self._window_start,
                   np.stack(rows) if rows else
                   np.zeros((0, self.batch_size, n_words[name]), np.uint32))
            for name, rows in self._buffers.items()
        }
        self._window_start = self.timestep
        for rows in self._buffers.values():
            rows.clear()

    def get_spike_bits(self, population):
        return self._pulled[population.name]

    def get_spikes(self, population):
        raise NotImplementedError("recorders decode bits themselves")

    def get_var_names(self, population):
        return {"v": "V", "v_sum": "VSum"}

    def is_var_shared(self, population, name):
        return name == "VSum"

    def pull_var(self, population, name):
        self.var_pulls += 1

    def get_var(self, population, name):
        t = self.timestep - 1
        values = self._traces[population.name][t]
        if name in ("VSum", "v_sum"):
            return values[:, :1] * 0 + t
        return values

    def get_conn_var_names(self, connection):
        return {"weight": "g"}

    def pull_conn_var(self, connection, name):
        pass

    def get_conn_var(self, connection, name):
        return self.weights[connection.name]

    def get_learnable_state(self):
        return {}

    def set_learnable_state(self, state):
        pass


def run(backend, callbacks, num_examples, mode="test", num_epochs=1, **params):
    """Drive ``callbacks`` like the runtime does; return ``cb_data``."""
    B = backend.batch_size
    num_batches = math.ceil(num_examples / B)
    train = mode == "train"
    cbl = CallbackList(callbacks, mode=mode, backend=backend, num_batches=num_batches,
                       num_epochs=num_epochs if train else 1, global_plugins=False, **params)
    try:
        with cbl.guard():
            (cbl.on_train_begin if train else cbl.on_test_begin)()
            for epoch in range(num_epochs if train else 1):
                if train:
                    cbl.run.epoch = epoch
                    cbl.on_epoch_begin(epoch)
                for batch in range(num_batches):
                    indices = list(range(batch * B, min((batch + 1) * B, num_examples)))
                    backend.start_batch(indices)
                    cbl.run.start_batch(np.asarray(indices, dtype=np.int64))
                    cbl.on_batch_begin(batch)
                    for t in range(backend.num_timesteps):
                        cbl.on_timestep_begin(t)
                        backend.step()
                        cbl.on_timestep_end(t)
                    backend.end_batch(batch)
                    cbl.on_batch_end(batch, {})
                if train:
                    cbl.on_epoch_end(epoch, {})
            (cbl.on_train_end if train else cbl.on_test_end)({})
    finally:
        cbl.close()  # as the runtime does: the run's folders are released however it ends
    return cbl.get_data()
