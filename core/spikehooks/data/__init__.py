"""Data helpers: spike trains in mlGeNN's format, latency encoders, small data sets.

- :class:`PreprocessedSpikes`, :func:`preprocess_spikes`: one example's spikes
  grouped by neuron, the input format of ``SpikeInput`` populations.
- :func:`linear_latency_encode_data`, :func:`log_latency_encode_data`: static
  data to one spike per input (mlGeNN's encoders).
- :func:`make_yin_yang`, :func:`encode_yin_yang`,
  :func:`generate_yin_yang_dataset`: the Yin-Yang data set and its
  time-to-first-spike encoding.
- :func:`load_digits`: scikit-learn's embedded digits, split (optional extra
  ``datasets``).
- :func:`get_dataset_size`, :func:`split_dataset`, :func:`batch_dataset`,
  :func:`permute_dataset`: mlGeNN's helpers for ``{key: examples}`` dicts.
- :func:`preprocess_tonic_spikes`, :func:`calc_max_spikes`,
  :func:`calc_latest_spike_time`, :func:`batch_spikes`,
  :func:`calc_start_spikes`: mlGeNN's helpers for event data sets (tonic's
  structured arrays, no tonic needed); :func:`generate_shd_like_events`, a
  small generated data set with SHD's shape and dtype.
"""

from __future__ import annotations

from .datasets import batch_dataset, get_dataset_size, permute_dataset, split_dataset
from .digits import DigitsSplit, load_digits
from .encoding import linear_latency_encode_data, log_latency_encode_data
from .events import (
    batch_spikes,
    calc_latest_spike_time,
    calc_max_spikes,
    calc_start_spikes,
    generate_shd_like_events,
    preprocess_tonic_spikes,
)
from .spikes import PreprocessedSpikes, preprocess_spikes
from .yin_yang import (
    CLASS_NAMES,
    encode_yin_yang,
    generate_yin_yang_dataset,
    make_yin_yang,
    yin_yang_class,
)

__all__ = [
    "CLASS_NAMES",
    "DigitsSplit",
    "PreprocessedSpikes",
    "batch_dataset",
    "batch_spikes",
    "calc_latest_spike_time",
    "calc_max_spikes",
    "calc_start_spikes",
    "encode_yin_yang",
    "generate_shd_like_events",
    "generate_yin_yang_dataset",
    "get_dataset_size",
    "linear_latency_encode_data",
    "load_digits",
    "log_latency_encode_data",
    "make_yin_yang",
    "permute_dataset",
    "preprocess_spikes",
    "preprocess_tonic_spikes",
    "split_dataset",
    "yin_yang_class",
]
