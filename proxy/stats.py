"""The server's own counters, for the metrics endpoint (issue 13) and the bench: one object per process.

Everything here is a plain number updated on the event loop or under the GIL (an increment or an add is
atomic enough for counters read once a scrape); ``snapshot()`` returns them as a flat dict of
name -> value (Prometheus-style names, without the ``lens_proxy_`` prefix), which a metrics layer can export
as it likes (``prometheus_client``'s multiprocess mode when ``--workers`` > 1: each worker writes its own).

Stages: seconds spent, summed over statements, in ``compile`` (parse + rewrite + render on a plan miss),
``queue`` (waiting for an engine slot, the scheduler), ``engine`` (execution through the first rows) and
``encode`` (DataRows); ``statements`` counts statements answered, ``plans_*`` the shape cache,
``result_cache_*`` the result cache, ``scheduler_*`` the lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServerStats:
    statements: int = 0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("compile", "queue", "engine", "encode"), 0.0))
    stage_count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("compile", "queue", "engine", "encode"), 0))
    sources: list[Any] = field(default_factory=list)  # objects with a ``stats()`` -> dict (caches, scheduler)

    def add(self, stage: str, seconds: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds
        self.stage_count[stage] = self.stage_count.get(stage, 0) + 1

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {"statements_total": self.statements}
        for stage, seconds in self.stage_seconds.items():
            out[f"stage_{stage}_seconds_total"] = seconds
            out[f"stage_{stage}_total"] = self.stage_count.get(stage, 0)
        for source in self.sources:
            out.update(source.stats())
        return out
