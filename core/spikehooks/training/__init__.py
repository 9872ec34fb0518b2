"""EventProp training internals: array-level forward and backward passes.

Private to :mod:`spikehooks.compilers.event_prop_compiler`; the tests use the
kernels directly on :class:`~spikehooks.training._graph.Graph` records.
"""
