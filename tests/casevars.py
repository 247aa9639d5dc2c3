"""The template variables a differential case's headers give (``# set:``, ``# set-file:``).

The harness passes them to both tools on the command line; tests that load
the cases in-process pass them as ``template_vars``.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect_cycles.frontends.templates import load_set_file, parse_set

_HEADER = re.compile(r"^#\s*(set|set-file)\s*:\s*(.*?)\s*$")


def case_template_vars(flow: Path) -> dict[str, object]:
    """``--set`` values over ``--set-file`` ones, as the command line orders them."""
    from_file: dict[str, object] = {}
    given: dict[str, object] = {}
    for line in flow.read_text().splitlines():
        m = _HEADER.match(line)
        if m and m[1] == "set-file":
            from_file.update(load_set_file(flow.parent / m[2]))
        elif m:
            given.update(parse_set([m[2]]))
    return {**from_file, **given}
