"""Demo-data generators, one per shipped lens.

The proxy serves lenses over tables that, in a real DataOS install, live in Icebase. To demo and test it
without one we synthesise those raw tables into a DuckDB file (attached as the ``icebase`` catalog), so
every lens entity's own SQL runs unchanged. Each generator is keyed by the lens name so the CLI can pick
the right one; all share the signature of :func:`proxy.generate.customer_360.generate`.
"""

from __future__ import annotations

from . import customer_360

GENERATORS = {"customer_360": customer_360.generate}

__all__ = ["GENERATORS"]
