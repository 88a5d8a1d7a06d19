"""Wiring for ``lens-proxy serve``: the observer before the server exists, then the side port, the reloader,
the SIGHUP handler and the metrics sampler once it listens; ``close`` undoes them.

One process or many: everything here is per process. With several worker processes the supervisor sets
``PROMETHEUS_MULTIPROC_DIR`` first (``proxy.ops.metrics.enable_multiprocess``), gives each worker the same
side port (``reuse_port``) or a socket, and forwards SIGHUP to each (``Ops.reload`` is what the handler
calls).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from proxy.ops.http import ANONYMOUS, BasicAuth, HttpSide, Request, Response, as_json, text
from proxy.ops.observe import Observer

log = logging.getLogger("lens_proxy.ops")
SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class OpsSettings:
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    slow_ms: float = 1000
    reload_interval: float = 2.0
    http_reuse_port: bool = False
    http_socket: Any = None  # bound by the supervisor of --workers, served by every worker


def make_observer(settings: OpsSettings) -> Observer:
    """The hooks for the server; metrics only when the side port is on (nothing else would read them)."""
    metrics = None
    if settings.http_port is not None:
        from proxy.ops.metrics import process_metrics

        metrics = process_metrics()
    return Observer(metrics, slow_ms=settings.slow_ms)


class Ops:
    """The running operations side of one server process."""

    def __init__(self, server: Any, settings: OpsSettings) -> None:
        from proxy.ops.health import HealthChecker
        from proxy.ops.reload import Reloader

        self.server = server
        self.context = server.context
        self.settings = settings
        self.observer: Observer = self.context.ops
        self.metrics = self.observer.metrics
        self.reloader = Reloader(self.context, metrics=self.metrics)
        self.health = HealthChecker(self.context, lens_status=self.reloader.status)
        self.http: HttpSide | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="lens-ops")
        self._tasks: list[asyncio.Task[Any]] = []
        self._dictionary: Any = None
        self.auth = BasicAuth(self.context.auth_method, self.context.users, self.context.auth_secret)
        self.started_at = time.time()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.settings.reload_interval > 0:
            self._tasks.append(asyncio.create_task(self.reloader.poll(self.settings.reload_interval)))
        try:
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no SIGHUP here
            log.debug("no SIGHUP handler", exc_info=True)
        if self.settings.http_port is None:
            return
        from proxy.ops.dictionary import Dictionary

        self._dictionary = Dictionary(self.context, backends=self.context.backends,
                                      wire_address=(self.server.host, self.server.port),
                                      lens_status=self.reloader.status)
        routes = {"/metrics": self._metrics, "/healthz": self._healthz, "/readyz": self._readyz,
                  "/": self._dictionary_page, "/login": self._login}
        self.http = HttpSide(routes, host=self.settings.http_host, port=self.settings.http_port,
                             reuse_port=self.settings.http_reuse_port, sock=self.settings.http_socket)
        await self.http.start()
        if self.metrics is not None:
            self.sample()
            self._tasks.append(asyncio.create_task(self._sampling()))
        log.info("HTTP side port listening on %s:%d (/metrics, /healthz, /readyz, data dictionary at /)",
                 self.settings.http_host, self.http.port, extra={"event": "http_listening", "port": self.http.port})

    def reload(self) -> None:
        """SIGHUP: re-validate every lens now (the supervisor of worker processes forwards it to each)."""
        log.info("SIGHUP: reloading lenses", extra={"event": "reload_requested", "pid": os.getpid()})
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.get_running_loop().create_task(self.reloader.reload_all(force=True)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.close()
        self.health.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- metrics sampled off the query path ----------------------------------------------------------------

    async def _sampling(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            try:
                self.sample()
            except Exception:  # a sample is never worth the server
                log.warning("metrics sample failed", exc_info=True)

    def sample(self) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        scheduler = self.server.scheduler  # proxy.scheduler: statements queued in its lanes, its threads
        metrics.queue_depth.set(sum(scheduler.queued.values()))
        metrics.worker_threads.set(scheduler.config.light_threads + (scheduler.config.heavy_slots or os.cpu_count() or 2))
        sessions = list(self.context.sessions.values())
        metrics.in_flight.set(sum(len(getattr(s, "_inflight", ())) for s in sessions))
        per_lens = collections.Counter(s.database for s in sessions)
        for name in self.context.lenses:
            metrics.sessions.labels(name).set(per_lens.get(name, 0))
        from proxy.ops.metrics import sample_process

        sample_process(metrics)

    # -- routes ----------------------------------------------------------------------------------------------

    async def _metrics(self, request: Request) -> Response:
        assert self.metrics is not None
        self.sample()
        body, content_type = await asyncio.get_running_loop().run_in_executor(self._pool, self.metrics.exposition)
        return Response(200, body, content_type)

    async def _healthz(self, request: Request) -> Response:
        return as_json(200, {"status": "ok", "pid": os.getpid(), "uptime_seconds": round(time.time() - self.started_at, 3)})

    async def _readyz(self, request: Request) -> Response:
        readiness = await self.health.readiness()
        if self.metrics is not None:
            for status in readiness.backends:
                self.metrics.backend_up.labels(status.name).set(1 if status.up else 0)
        return as_json(200 if readiness.ready else 503, readiness.as_json())

    async def _viewer(self, request: Request) -> tuple[str | None, Response | None]:
        """(the user viewing, or None with the 401 to send)."""
        given = self.auth.credentials(request)
        if not self.auth.required:
            return (given[0] if given else ANONYMOUS), None
        if given is not None:
            ok = await asyncio.get_running_loop().run_in_executor(self._pool, self.auth.check, *given)
            if ok:
                return given[0], None
        return None, _challenge()

    async def _dictionary_page(self, request: Request) -> Response:
        user, refusal = await self._viewer(request)
        if refusal is not None:
            return refusal
        assert self._dictionary is not None and user is not None
        body, csp = await asyncio.get_running_loop().run_in_executor(self._pool, self._dictionary.page, user)
        return Response(200, body, "text/html; charset=utf-8", (("Content-Security-Policy", csp),))

    async def _login(self, request: Request) -> Response:
        if self.auth.credentials(request) is None:
            return _challenge()
        return Response(302, b"", headers=(("Location", "/"),))


def _challenge() -> Response:
    response = text(401, "authentication required\n")
    response.headers = (("WWW-Authenticate", 'Basic realm="lens-proxy", charset="UTF-8"'),)
    return response
