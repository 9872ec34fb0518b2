"""EventProp training's array maths: forward and backward passes over a graph.

The training loop itself (epochs, batches, callbacks, validation) is
:class:`spikehooks.compilers.CompiledTrainingNetwork`; this package holds the
numerics it calls, on plain :class:`Graph` records and NumPy arrays:

- :func:`build_graph`: a network and its backend -> :class:`Graph`;
- :func:`forward` / :class:`ForwardRecorder`: the forward pass, computed or
  recorded from the backend's step observer, as a :class:`ForwardResult`;
- :func:`output_drive`: the loss and its drive of the adjoint system;
- :func:`backward`: the adjoint pass, giving the weight gradients;
- :class:`FiniteGuard`: the end-of-batch check for NaN and inf.
"""

from ._backward import BackwardResult, OutputDrive, backward
from ._drive import output_drive
from ._finite import FiniteGuard, check_mode, first_non_finite
from ._forward import ForwardResult, forward
from ._graph import Conn, Graph, Layer, make_conn, make_layer
from ._network_graph import build_graph
from ._recorder import ForwardRecorder

__all__ = [
    "BackwardResult",
    "Conn",
    "FiniteGuard",
    "ForwardRecorder",
    "ForwardResult",
    "Graph",
    "Layer",
    "OutputDrive",
    "backward",
    "build_graph",
    "check_mode",
    "forward",
    "first_non_finite",
    "make_conn",
    "make_layer",
    "output_drive",
]
