"""Wide fan-ins in the scheduler: the same answers, whatever order the parents finish in.

The scheduler once re-checked a child's whole prerequisite expression each time
one of its parents finished, so ``m1 & ... & mN => end`` cost N squared (723 µs
per instance at 2,000 tasks per cycle); it now resumes a top-level AND where
the last check stopped and re-checks only children that lost a possible parent.
"""

from __future__ import annotations

import random

from prefect_cycles import from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.scheduler import Scheduler

N = 200
MEMBERS = [f"m{i}" for i in range(N)]


def wide(extra: str = "") -> dict[str, str]:
    return {
        "P1": "start => " + " & ".join(MEMBERS) + "\n" + " & ".join(MEMBERS) + " => end" + extra
    }


def test_end_is_ready_only_after_its_last_parent_in_any_order() -> None:
    sched = Scheduler(from_graph(wide(), 1, 1))
    (start,) = sched.ready()
    sched.started(start.instance)
    sched.finished(start.instance, True)
    members = [r.instance for r in sched.ready()]
    assert len(members) == N
    random.Random(7).shuffle(members)
    for k, inst in enumerate(members):
        sched.started(inst)
        sched.finished(inst, True)
        ready = sched.ready()
        if k < N - 1:
            assert ready == [], f"end released after {k + 1} of {N} parents"
    (end,) = ready
    assert end.instance == Instance("end", 1)
    assert len(end.parents) == N


def test_a_failed_member_blocks_the_fan_in_and_an_absent_optional_output_skips_it() -> None:
    graph = wide("\nstart => side?\n" + " & ".join(MEMBERS) + " & side:fail? => mend")
    sched = Scheduler(from_graph(graph, 1, 1))
    todo = sched.ready()
    while todo:
        for item in todo:
            inst = item.instance
            sched.started(inst)
            sched.finished(inst, inst.task != MEMBERS[3])  # m3 fails (required: blocks end)
        todo = sched.ready()
    assert [i for i, _ in sched.blocked()] == [Instance("end", 1)]
    assert Instance("mend", 1) in sched.skipped  # side succeeded: its :fail never comes
    assert sched.failed == [Instance(MEMBERS[3], 1)]
