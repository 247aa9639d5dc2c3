"""Print a workflow's cycle points and a short window over it, as JSON.

Run by the Python interpreter of the sweep's Cylc installation (never by the
project's), so the points are Cylc's own: the initial point as Cylc resolves
it (``now``, ``next(T00)``...), the final point, and the Nth cycle point of
the union of the workflow's sequences, to draw the window initial..Nth.
Template variables come as Cylc's own ``cylc graph`` options
(``--set-file``), and cylc-rose (when installed) adds a rose-suite.conf's.

argv:   FLOW_DIR N [cylc graph options...]
stdout: {"integer": bool, "initial": str, "final": str | null, "stop": str, "points": int,
         "graph": the text of ``cylc graph --reference`` over initial..stop}
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    directory, count, *options = sys.argv[1:]
    from cylc.flow.scripts.graph import get_config, get_option_parser, graph_reference

    opts, _ = get_option_parser().parse_args([*options, directory])
    config = get_config("sweep", opts, f"{directory}/flow.cylc")
    initial = config.initial_point
    final = config.final_point
    points = set()
    for seq in config.sequences:
        point = seq.get_first_point(initial)
        for _ in range(int(count)):
            if point is None or (final is not None and point > final):
                break
            points.add(point)
            point = seq.get_next_point(point)
    ordered = sorted(points)[: int(count)]
    stop = ordered[-1] if ordered else initial
    # What `cylc graph --reference DIR INITIAL STOP` prints, from a fresh config as the
    # command builds one, without starting Cylc again.
    lines: list[str] = []
    graph_reference(
        get_option_parser().parse_args(["--reference", *options, directory])[0],
        "sweep",
        str(initial),
        str(stop),
        f"{directory}/flow.cylc",
        write=lines.append,
    )
    json.dump(
        {
            "integer": config.cfg["scheduling"]["cycling mode"] == "integer",
            "initial": str(initial),
            "final": None if final is None else str(final),
            "stop": str(stop),
            "points": len(ordered),
            "graph": "".join(line + "\n" for line in lines),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
