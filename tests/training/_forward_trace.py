"""Record one batch's forward trace from a compiled training network, as train() does."""

from __future__ import annotations

from typing import Any

import numpy as np


def record_forward(net: Any, inputs: dict, num_examples: int, steps: int) -> Any:
    """Simulate examples ``0 .. num_examples - 1`` of ``inputs`` for ``steps`` timesteps
    with the network's forward recorder listening; return its ``ForwardResult``."""
    net.start_batch(np.arange(num_examples), inputs)
    net._recorder.begin()
    net._observing = True
    net.backend.add_step_observer(net._observe)
    try:
        net.backend.run(steps)
    finally:
        net.backend.remove_step_observer(net._observe)
        net._observing = False
    return net._recorder.result()
