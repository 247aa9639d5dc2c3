"""The ``prefect-cycles`` command.

Prefect's CLI has no plugin hook, so cyclic workflows get their own command,
built like Prefect's on cyclopts. It imports Prefect only when the source is a
Python file that does, so ``graph`` and ``validate`` on a flow.cylc answer fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import cyclopts

from .errors import CycleError

app = cyclopts.App(
    name="prefect-cycles",
    help="Cyclic workflows for Prefect: inspect, validate and run Cylc-style cycle graphs.",
    version_flags=["--version"],
    result_action="return_value",
)

Source = Annotated[
    str,
    cyclopts.Parameter(
        help="A flow.cylc, a directory holding one, or a Python entrypoint path/to/file.py:name."
    ),
]


@app.command
def graph(
    source: Source,
    start: str | None = None,
    stop: str | None = None,
    *,
    reference: bool = True,
) -> None:
    """Print the unrolled graph of SOURCE from START to STOP.

    With --reference (the default) the text is exactly Cylc 8.5's
    ``cylc graph --reference`` format, listing only the instances that run.

    Parameters
    ----------
    start
        First cycle point (default: the initial point; later = warm start).
    stop
        Last cycle point (default: the final point).
    reference
        Cylc's sorted reference text format.
    """
    from .reference import window_reference_text
    from .sources import load_workflow

    wf, _notices = load_workflow(source)
    sys.stdout.write(window_reference_text(wf, start, stop))


@app.command
def validate(source: Source, start: str | None = None, stop: str | None = None) -> None:
    """Check SOURCE: exit 0 with warnings about instances that never run, or 1 with the error.

    Parameters
    ----------
    start
        First cycle point to check (default: the initial point).
    stop
        Last cycle point to check (default: the final point, or 20 points on).
    """
    from .sources import load_workflow
    from .validate import validate as check

    wf, notices = load_workflow(source)
    for note in notices:
        print(f"NOTICE: {note}")
    warnings = check(wf, start, stop)
    for w in warnings:
        print(f"WARNING: {w}")
    print(
        f"Valid: {wf.name} ({len(wf.tasks)} tasks, {wf.cycling.mode} cycling)"
        + (f", {len(warnings)} warning(s)" if warnings else "")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command; a CycleError becomes one line on stderr and exit status 1."""
    try:
        app(argv if argv is not None else sys.argv[1:], exit_on_error=True)
    except CycleError as exc:
        print(f"prefect-cycles: error: {exc}", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
