"""Print the scheduler's prerequisites of task instances, as JSON.

Run by the Python interpreter of the suite's Cylc installation (never by the
project's): it builds Cylc's own ``WorkflowConfig`` for a run with the given
start and stop points and asks each task definition for the prerequisites
the scheduler would give an instance (``TaskDef.get_prereqs``). Every
prerequisite is listed, satisfied or not, and whichever side of an ``|``.

stdin:  {"flow_file": str, "start": str, "stop": str, "instances": ["1/foo", ...]}
stdout: {"integer": bool, "initial": str, "start": str, "final": str | null,
         "prerequisites": {"1/foo": ["0/foo", ...], ...}}
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    request = json.load(sys.stdin)

    from cylc.flow.config import WorkflowConfig
    from cylc.flow.cycling.loader import get_point
    from cylc.flow.scheduler_cli import RunOptions

    options = RunOptions(
        startcp=request["start"],
        stopcp=request["stop"],
        run_mode="simulation",
    )
    config = WorkflowConfig("differential", request["flow_file"], options)

    prerequisites: dict[str, list[str]] = {}
    for instance in request["instances"]:
        cycle, name = instance.split("/", 1)
        tdef = config.taskdefs[name]
        point = get_point(cycle).standardise()
        parents = {key.get_id() for prereq in tdef.get_prereqs(point) for key in prereq}
        prerequisites[instance] = sorted(parents)

    json.dump(
        {
            "integer": config.cfg["scheduling"]["cycling mode"] == "integer",
            "initial": str(config.initial_point),
            "start": str(config.start_point),
            "final": None if config.final_point is None else str(config.final_point),
            "prerequisites": prerequisites,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
