"""Benchmarks of spikehooks: scripts that measure and return JSON-able figures.

Every ``benchmarks/<name>.py`` (names not starting with ``_``) defines
``main(argv=None) -> dict`` and can be run alone (``python -m benchmarks.<name>``)
or by the harness, which runs each one in its own subprocess and collects the
results, with a description of the machine, into one JSON file::

    python -m benchmarks [--quick] [--only NAME] [--out FILE]

Shared helpers (machine description, BLAS thread pinning, median timing,
JSON writing) live in :mod:`benchmarks._common`.  Performance targets live
here, never in timed unit tests.
"""
