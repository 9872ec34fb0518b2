"""EventProp training's array maths: forward and backward passes over a graph.

The training loop itself (epochs, batches, callbacks, validation) is
:class:`spikehooks.compilers.CompiledTrainingNetwork`; this package holds the
numerics it calls, on plain :class:`Graph` records and NumPy arrays:

- :func:`build_graph`: a network and its backend -> :class:`Graph`;
- :func:`forward` / :class:`ForwardRecorder` / :class:`TraceRecorder`: the
  forward pass, computed, recorded from the backend's step observer, or read
  from the compiled backend's trace, as a :class:`ForwardResult`;
- :func:`output_drive`: the loss and its drive of the adjoint system;
- :func:`backward`: the adjoint pass, giving the weight gradients (compiled
  on the compiled backend: ``_backward_compiled``);
- :class:`FiniteGuard`: the end-of-batch check for NaN and inf;
- e-prop: :func:`build_eprop_layout` (what a network trains, checked) and
  :class:`EPropRecorder` (the per-step factors and the batch's gradients).
"""

from ._backward import BackwardResult, OutputDrive, backward
from ._drive import output_drive
from ._eprop import EPropRecorder
from ._eprop_layout import EPropLayout
from ._eprop_layout import build_layout as build_eprop_layout
from ._finite import FiniteGuard, check_mode, first_non_finite
from ._forward import ForwardResult, forward
from ._graph import Conn, Graph, Layer, make_conn, make_layer
from ._network_graph import build_graph
from ._recorder import ForwardRecorder
from ._trace_recorder import TraceRecorder, make_forward_recorder

__all__ = [
    "BackwardResult",
    "Conn",
    "EPropLayout",
    "EPropRecorder",
    "FiniteGuard",
    "ForwardRecorder",
    "ForwardResult",
    "TraceRecorder",
    "Graph",
    "Layer",
    "OutputDrive",
    "backward",
    "build_eprop_layout",
    "build_graph",
    "check_mode",
    "forward",
    "first_non_finite",
    "make_conn",
    "make_forward_recorder",
    "make_layer",
    "output_drive",
]
