"""``--workers N``: N server processes sharing one listening port, so every core serves clients.

One asyncio process holding the GIL tops out at a few thousand round trips a second; PostgreSQL uses a
process per connection. Here a **supervisor** binds the port, forks N workers that all accept on that
socket (the kernel hands each connection to one of them), and then only supervises: it prints the
"serving" line once every worker is up, forwards SIGTERM/SIGINT (fast shutdown) and SIGHUP (reload) to each
worker, restarts a worker that died, and exits 0 once all have stopped. Each worker opens its own backends
(its own read-only DuckDB connection) after the fork: nothing with threads is ever forked.

Across workers:

* **cancel**: a session's BackendKeyData pid carries its worker's number in its low ``WORKER_BITS`` bits; a
  CancelRequest that lands on another worker is sent on, verbatim, to the owner's control socket (a Unix
  socket per worker in a private directory), which handles it exactly as if it had arrived there;
* **max_connections**: each worker publishes its connection count in a shared memory slot; a new
  connection is refused (53300) when the sum is over the limit;
* **metrics**: ``PROMETHEUS_MULTIPROC_DIR`` is set (a fresh directory, unless the operator set one) before
  the fork, so a ``prometheus_client`` registry in each worker writes its own files and any worker's
  /metrics can aggregate them (``prometheus_client.multiprocess.MultiProcessCollector``); ``LENS_PROXY_WORKER``
  is the worker's number.
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lens_proxy.workers")
WORKER_BITS = 6  # up to 64 workers; the rest of the pid is random
MAX_WORKERS = 1 << WORKER_BITS
_SLOT = struct.Struct("q")


def worker_of(pid: int) -> int:
    return pid & (MAX_WORKERS - 1)


@dataclass
class Peers:
    """What a worker knows of the others: their control sockets and the shared connection counts."""

    index: int
    count: int
    control_dir: Path
    counts: mmap.mmap

    def control_path(self, index: int) -> Path:
        return self.control_dir / f"worker-{index}.sock"

    def publish(self, connections: int) -> None:
        _SLOT.pack_into(self.counts, self.index * _SLOT.size, connections)

    def total(self) -> int:
        return sum(_SLOT.unpack_from(self.counts, i * _SLOT.size)[0] for i in range(self.count))

    async def forward_cancel(self, packet: bytes, pid: int) -> None:
        """Send a CancelRequest on to the worker that owns ``pid`` (nothing when that is this one)."""
        import asyncio

        owner = worker_of(pid)
        if owner == self.index or owner >= self.count:
            return
        try:
            _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(self.control_path(owner))), 5)
            writer.write(packet)
            await writer.drain()
            writer.close()
        except (OSError, asyncio.TimeoutError):
            log.info("could not forward a cancel request to worker %d", owner)


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The port every worker accepts on (bound once, here, before any fork)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def supervise(count: int, host: str, port: int, run_worker: Callable[[socket.socket, Peers, int], int],
              announce: Callable[[int], None]) -> int:
    """Bind, fork ``count`` workers running ``run_worker(sock, peers, ready_fd)``, supervise until SIGTERM
    or SIGINT; returns the exit code. ``announce(port)`` runs once every worker is ready."""
    sock = listening_socket(host, port)
    control_dir = Path(tempfile.mkdtemp(prefix="lens-proxy-"))
    counts = mmap.mmap(-1, MAX_WORKERS * _SLOT.size)
    own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(control_dir / "metrics")
        (control_dir / "metrics").mkdir()
    ready_r, ready_w = os.pipe()
    children: dict[int, int] = {}  # pid -> worker index
    stopping = False

    supervisor = os.getpid()

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(ready_r)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_DFL)
                _die_with(supervisor)
                os.environ["LENS_PROXY_WORKER"] = str(index)
                os.environ["LENS_PROXY_WORKERS"] = str(count)  # engines share the memory (backends.duck)
                code = run_worker(sock, Peers(index, count, control_dir, counts), ready_w)
            except BaseException:  # noqa: BLE001 - a worker must never return into the supervisor's code
                logging.getLogger("lens_proxy.workers").exception("worker %d failed", index)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = index

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM if signum == signal.SIGINT else signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    code = 0
    try:
        for index in range(count):
            spawn(index)
        if not _wait_ready(ready_r, count, children, lambda: stopping):
            forward(signal.SIGTERM, None)
            stopping = True
            code = 1
        elif not stopping:
            announce(sock.getsockname()[1])
        restarts = 0
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            index = children.pop(pid, None)
            _metrics_gone(pid)
            if index is None or stopping:
                continue
            log.error("worker %d exited (%s); starting it again", index, os.waitstatus_to_exitcode(status))
            restarts += 1
            if restarts > 10 * count:
                log.error("workers keep dying: giving up")
                forward(signal.SIGTERM, None)
                code = 1
                continue
            spawn(index)
    finally:
        sock.close()
        os.close(ready_r)
        os.close(ready_w)
        shutil.rmtree(control_dir, ignore_errors=True)
    return code


def _die_with(supervisor: int) -> None:
    """A worker gets SIGTERM (fast shutdown) when its supervisor dies, even by SIGKILL, instead of serving on
    alone (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor:  # it died before the call above took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _metrics_gone(pid: int) -> None:
    """A worker exited: its live gauges (connections, sessions) leave the summed /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from proxy.ops.metrics import worker_exited

        worker_exited(pid)


def _wait_ready(ready_r: int, count: int, children: dict[int, int], stopping: Callable[[], bool]) -> bool:
    """Until every worker wrote its byte: False when one died first (it said why on stderr)."""
    import select

    ready = 0
    deadline = time.monotonic() + 300
    while ready < count and time.monotonic() < deadline and not stopping():
        try:
            readable, _, _ = select.select([ready_r], [], [], 0.2)
        except InterruptedError:
            continue
        if readable:
            ready += len(os.read(ready_r, count))
            continue
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid:
            children.pop(pid, None)
            return False
    return ready >= count
