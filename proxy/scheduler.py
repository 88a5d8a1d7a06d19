"""Engine work in two lanes, so light queries are not stuck behind heavy ones.

Measured (bench/bench_speed.py, fairness): with one pool, 24 clients of point queries beside 2 clients of
heavy aggregates lost ~half their throughput and doubled their p99, because every runnable thread got an
equal share of the two cores: the heavy queries' threads (ours, and the engine's own workers) outnumber a
point query's one. Queues alone do not fix that (a point query that waits for nothing still shares the CPU);
priorities do. So:

* **light lane**: a pool of threads at normal priority; a query whose plan ran in under ``light_cutoff``
  seconds last time (smoothed), or has not run yet, runs here, on its own thread (a point query needs no
  parallelism);
* **heavy lane**: a pool of ``heavy_slots`` threads (admission: more heavy queries wait in its queue, FIFO)
  whose CPU priority is lowered by ``heavy_nice`` (Linux ``setpriority`` per thread), as are the engine's
  own worker threads (``lower_priority``): alone, a heavy query still gets every core; beside light queries,
  the kernel runs the light ones first.

A plan's cost is learned from its runs (``proxy.plans.cost_update``): the first run of a heavy query takes
the light lane once. ``queue_depth`` and ``running`` per lane are read by the metrics.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("lens_proxy.scheduler")
LANES = ("light", "heavy")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    light_threads: int = 16  # light queries in flight (each its own thread; DuckDB releases the GIL)
    heavy_slots: int = 0  # heavy queries running at once (0: the number of cores); more wait, FIFO
    light_cutoff: float = 0.05  # seconds: a plan whose smoothed engine time is below this is light
    heavy_nice: int = 10  # how much lower the heavy lane's and the engine workers' CPU priority is (0: same)


class Scheduler:
    def __init__(self, config: SchedulerConfig | None = None) -> None:
        self.config = config or SchedulerConfig()
        slots = self.config.heavy_slots or (os.cpu_count() or 2)
        self._pools = {
            "light": ThreadPoolExecutor(self.config.light_threads, thread_name_prefix="lens-light"),
            "heavy": ThreadPoolExecutor(slots, thread_name_prefix="lens-heavy",
                                        initializer=_nice_this_thread, initargs=(self.config.heavy_nice,)),
        }
        self._lock = threading.Lock()
        self.queued = dict.fromkeys(LANES, 0)
        self.running = dict.fromkeys(LANES, 0)
        self.submitted = dict.fromkeys(LANES, 0)
        self.waited = dict.fromkeys(LANES, 0.0)  # seconds spent queued, summed

    def lane_for(self, cost: float) -> str:
        """The lane of a statement whose engine time was ``cost`` seconds (smoothed; negative: unknown)."""
        return "heavy" if cost >= self.config.light_cutoff else "light"

    def submit(self, lane: str, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        with self._lock:
            self.queued[lane] += 1
            self.submitted[lane] += 1
        return self._pools[lane].submit(self._run, lane, time.perf_counter(), fn, args)

    def _run(self, lane: str, submitted: float, fn: Callable[..., Any], args: tuple) -> Any:
        with self._lock:
            self.queued[lane] -= 1
            self.running[lane] += 1
            self.waited[lane] += time.perf_counter() - submitted
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.running[lane] -= 1

    def stats(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for lane in LANES:
            out[f"scheduler_{lane}_queue_depth"] = self.queued[lane]
            out[f"scheduler_{lane}_running"] = self.running[lane]
            out[f"scheduler_{lane}_submitted_total"] = self.submitted[lane]
            out[f"scheduler_{lane}_wait_seconds_total"] = self.waited[lane]
        return out

    def shutdown(self, wait: bool = True) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait)


def _nice_this_thread(nice: int) -> None:
    if nice > 0 and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:  # not permitted here: the lane still bounds admission
            log.debug("cannot lower the heavy lane's priority", exc_info=True)


def lower_priority(thread_ids: Iterable[int], nice: int) -> int:
    """Lower the CPU priority of these threads (the engine's own workers) by ``nice``; how many changed."""
    changed = 0
    if nice <= 0 or not hasattr(os, "setpriority"):
        return 0
    for tid in thread_ids:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            changed += 1
        except OSError:
            pass
    return changed


def thread_ids() -> set[int]:
    """This process's threads (Linux); empty elsewhere."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()
