"""proxy.scheduler: lanes by learned cost, admission, and the heavy lane's lower CPU priority."""

from __future__ import annotations

import os
import threading
import time

import pytest

from proxy.plans import Plan, cost_update
from proxy.router import split
from proxy.scheduler import Scheduler, SchedulerConfig


def test_lanes_follow_the_learned_cost() -> None:
    scheduler = Scheduler(SchedulerConfig(light_cutoff=0.05))
    plan = Plan(split("SELECT 1")[0], ())
    assert scheduler.lane_for(plan.cost) == "light"  # never run: light, once
    cost_update(plan, 0.4)
    assert scheduler.lane_for(plan.cost) == "heavy"
    for _ in range(12):
        cost_update(plan, 0.001)
    assert scheduler.lane_for(plan.cost) == "light"
    scheduler.shutdown()


def test_heavy_slots_admit_in_order_and_light_work_is_not_queued_behind() -> None:
    scheduler = Scheduler(SchedulerConfig(heavy_slots=1, light_threads=2))
    gate = threading.Event()
    order: list[str] = []
    first = scheduler.submit("heavy", lambda: (gate.wait(5), order.append("heavy 1")))
    second = scheduler.submit("heavy", lambda: order.append("heavy 2"))
    time.sleep(0.05)
    assert scheduler.stats()["scheduler_heavy_queue_depth"] == 1  # the second waits for the slot
    assert scheduler.submit("light", lambda: "light").result(5) == "light"  # not behind the heavy ones
    gate.set()
    first.result(5), second.result(5)
    assert order == ["heavy 1", "heavy 2"]
    assert scheduler.stats()["scheduler_heavy_submitted_total"] == 2
    scheduler.shutdown()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are a Linux feature")
def test_the_heavy_lane_runs_at_lower_priority() -> None:
    scheduler = Scheduler(SchedulerConfig(heavy_nice=7))
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    heavy = scheduler.submit("heavy", lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(5)
    light = scheduler.submit("light", lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(5)
    assert (light, heavy) == (mine, min(19, mine + 7))
    scheduler.shutdown()
