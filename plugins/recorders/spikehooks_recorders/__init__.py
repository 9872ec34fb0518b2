"""spikehooks-recorders: spike, variable and connection recorders for spikehooks.

Recorders are callbacks: pass them to ``evaluate``/``train`` and read their
data from ``cb_data[key]``.  Beyond mlGeNN they filter by epoch and phase,
decimate in time, refuse runs over a memory budget and stream to ``.npy``
files (see docs/recording.md).
"""

from __future__ import annotations

from ._gating import BUDGET_ENV, parse_bytes
from ._reading import LazyList, SpikeHandle, open_recording
from ._streaming import RecordingError
from .conn_var_recorder import ConnVarRecorder
from .spike_recorder import BYTES_PER_SPIKE, SpikeRecorder
from .var_recorder import VarRecorder

__all__ = [
    "BUDGET_ENV",
    "BYTES_PER_SPIKE",
    "ConnVarRecorder",
    "LazyList",
    "RecordingError",
    "SpikeHandle",
    "SpikeRecorder",
    "VarRecorder",
    "open_recording",
    "parse_bytes",
]
