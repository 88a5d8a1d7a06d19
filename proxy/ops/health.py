"""Liveness and readiness: is the process serving, and can it answer queries on every lens right now.

``/healthz`` answers from the event loop itself (if it answers, the loop runs). ``/readyz`` probes every
backend with ``SELECT 1`` through the backend seam (a cursor, a query, its rows, close), in a thread of its
own so a probe never takes a query worker, with a timeout; a backend whose previous probe still hangs is
reported down without a second probe piling up. Probes are shared for ``CACHE_SECONDS`` so a burst of
probes costs one round trip per backend. Every configured lens must be loaded (a lens whose latest edit
did not validate is still loaded: the previous version serves, and the report says so).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass, field
from typing import Any

from proxy.backends.base import next_batch

PROBE_TIMEOUT = 5.0
CACHE_SECONDS = 1.0


@dataclass
class BackendStatus:
    name: str
    up: bool
    error: str = ""
    seconds: float = 0.0


@dataclass
class Readiness:
    ready: bool
    backends: list[BackendStatus] = field(default_factory=list)
    lenses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "backends": {b.name: {"up": b.up, "seconds": round(b.seconds, 4), **({"error": b.error} if b.error else {})}
                         for b in self.backends},
            "lenses": self.lenses,
        }


def probe(backend: Any) -> None:
    """``SELECT 1`` on a fresh cursor of ``backend``; raises whatever the engine raises."""
    cursor = backend.cursor()
    try:
        reader = cursor.execute("SELECT 1")
        while next_batch(reader) is not None:
            pass
    finally:
        cursor.close()


class HealthChecker:
    def __init__(self, context: Any, *, timeout: float = PROBE_TIMEOUT, lens_status: Any = None) -> None:
        self.context = context  # proxy.session.ServerContext
        self.timeout = timeout
        self.lens_status = lens_status  # () -> {lens: {...}} from the reloader, or None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="lens-health")
        self._running: dict[int, concurrent.futures.Future[None]] = {}
        self._last: tuple[float, list[BackendStatus]] | None = None  # the latest probes, shared a while
        self._lock = asyncio.Lock()

    def backends(self) -> dict[str, Any]:
        """Distinct backends by name (several lenses may share one)."""
        out: dict[str, Any] = {}
        for lens, backend in self.context.backends.items():
            out.setdefault(getattr(backend, "name", lens), backend)
        return out

    async def readiness(self) -> Readiness:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < CACHE_SECONDS:
                statuses = self._last[1]
            else:
                statuses = list(await asyncio.gather(*(self._probe(name, b) for name, b in self.backends().items())))
                self._last = (time.monotonic(), statuses)
        lenses = self._lenses()
        ready = all(s.up for s in statuses) and all(v.get("loaded") for v in lenses.values())
        return Readiness(ready, statuses, lenses)

    def _lenses(self) -> dict[str, dict[str, Any]]:
        extra = self.lens_status() if self.lens_status is not None else {}
        out = {}
        for name in self.context.backends:
            info = {"loaded": name in self.context.lenses, **extra.get(name, {})}
            out[name] = info
        return out

    async def _probe(self, name: str, backend: Any) -> BackendStatus:
        started = time.perf_counter()
        running = self._running.get(id(backend))
        if running is not None and not running.done():
            return BackendStatus(name, False, f"the previous probe has not returned (>{self.timeout:g} s)")
        future = self._pool.submit(probe, backend)
        self._running[id(backend)] = future
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout)
        except asyncio.TimeoutError:
            return BackendStatus(name, False, f"no answer within {self.timeout:g} s", time.perf_counter() - started)
        except Exception as e:  # the engine's own error: the backend is not usable
            text = getattr(e, "message", None) or str(e) or type(e).__name__
            return BackendStatus(name, False, text.splitlines()[0][:500], time.perf_counter() - started)
        return BackendStatus(name, True, "", time.perf_counter() - started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
