"""Converters from trained ANNs (given as numpy arrays) to spiking networks."""

from __future__ import annotations

from .few_spike import FewSpike as FewSpike
from .few_spike import Relu as Relu
