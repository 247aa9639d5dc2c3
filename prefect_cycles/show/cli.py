"""The ``prefect-cycles`` command.

Prefect's CLI has no plugin hook, so cyclic workflows get their own command,
built like Prefect's on cyclopts. It imports Prefect only when the source is a
Python file that does, so ``graph`` and ``validate`` on a flow.cylc answer fast.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Annotated, Literal

import cyclopts

from ..errors import CycleError

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


SetVars = Annotated[
    tuple[str, ...],
    cyclopts.Parameter(
        name=["--set", "-s"],
        negative=(),
        help="A Jinja2 template variable NAME=VALUE, VALUE a Python literal "
        "(Cylc's -s: --set N=3 --set \"NAME='fcst'\"); repeat for more.",
    ),
]
SetFile = Annotated[
    Path | None,
    cyclopts.Parameter(
        name=["--set-file", "-S"],
        help="A file of template variables, one NAME=VALUE a line (Cylc's --set-file).",
    ),
]


def _template_vars(set_: tuple[str, ...], set_file: Path | None) -> dict[str, object]:
    """--set over --set-file, as Cylc orders them."""
    from ..frontends.templates import load_set_file, parse_set

    values: dict[str, object] = load_set_file(set_file) if set_file is not None else {}
    values.update(parse_set(set_))
    return values


GraphFormat = Literal["text", "dot", "mermaid", "svg", "png", "reference"]


@app.command
def graph(
    source: Source,
    start: str | None = None,
    stop: str | None = None,
    *,
    format: Annotated[GraphFormat | None, cyclopts.Parameter(name=["--format", "-f"])] = None,
    collapsed: bool = False,
    output: Annotated[Path | None, cyclopts.Parameter(name=["--output", "-o"])] = None,
    reference: bool = False,
    max_points: int = 100,
    set: SetVars = (),
    set_file: SetFile = None,
) -> None:
    """Draw SOURCE: its unrolled window from START to STOP, or its cycle definition.

    The window groups each task instance by cycle point, left to right in time;
    optional edges are dashed, conditional (|) edges dotted, and instances that
    never run are faded with the reason. --collapsed draws the definition
    instead: one node per task, edges labelled with offsets and outputs.

    Examples:

    - ``prefect-cycles graph flow.cylc 1 4`` (text for the terminal)
    - ``prefect-cycles graph wf.py:flow --collapsed -f mermaid``
    - ``prefect-cycles graph flow.cylc 1 4 -o seed.png`` (needs Graphviz)
    - ``prefect-cycles graph --reference flow.cylc 1 4`` (Cylc's reference text)

    Parameters
    ----------
    start
        First cycle point (default: the initial point; later = warm start).
    stop
        Last cycle point (default: the final point, or 5 points on when there is none).
    format
        text (default; for a terminal), dot (Graphviz), mermaid (GitHub, docs),
        svg or png (need Graphviz's dot program), or reference.
        Default with --output: from the file's suffix.
    collapsed
        Draw the cycle definition (one node per task), not the window.
    output
        Write to this file instead of standard output.
    reference
        Print exactly Cylc 8.5's ``cylc graph --reference`` text (the same as
        --format reference): sorted, only the instances that run. Any window:
        the text is written as it is made, in memory that does not grow with it.
    max_points
        Draw at most this many cycle points of the window (a longer window is
        drawn over its first ones, with a warning). The reference text is never cut.
    """
    from .sources import load_workflow

    fmt = _graph_format(format, reference, collapsed, output)
    if output is None and fmt == "png" and sys.stdout.isatty():  # before any work is done
        raise CycleError(
            "PNG is a binary image, not for a terminal",
            fix="write it to a file with --output graph.png, or redirect standard output",
        )
    wf, _notices = load_workflow(source, _template_vars(set, set_file))
    if fmt == "reference":
        from .reference import window_reference_lines

        lines = window_reference_lines(wf, start, stop)
        lines = itertools.chain([next(lines)], lines)  # the whole window settled: errors first
        if output is None:
            for line in lines:
                sys.stdout.write(line + "\n")
            return
        from .render import open_output

        with open_output(output) as out:  # streamed: any window
            out.writelines(line + "\n" for line in lines)
        return
    from .render import picture

    pic = picture(wf, start, stop, collapsed=collapsed, max_points=max_points)
    if pic.notice:
        print(f"WARNING: {pic.notice}", file=sys.stderr)
    data: str | bytes = pic.render(fmt)
    if output is not None:
        from .render import write_picture

        write_picture(output, data)
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)


def _graph_format(format: str | None, reference: bool, collapsed: bool, output: Path | None) -> str:
    """The format ``graph`` writes, checking that the options agree."""
    if reference:
        if format not in (None, "reference"):
            raise CycleError(
                f"--reference and --format {format} ask for two different formats",
                fix="give one of them (--reference is --format reference)",
            )
        format = "reference"
    if format is None and output is not None:
        from .render import format_for

        format = format_for(output)
    if format == "reference" and collapsed:
        raise CycleError(
            "the reference text lists a window's instances; it has no collapsed form",
            fix="drop --collapsed, or choose --format text, dot or mermaid",
        )
    return format or "text"


def _named_start(recurrence: str) -> str:
    """The absolute start point a recurrence names (``R/2024-01-01T00Z/PT6H``: its date-time)."""
    for part in recurrence.split("!", 1)[0].split(","):
        for piece in part.strip().split("/"):
            if piece[:1].isdigit():
                return piece
    raise CycleError(
        f"the recurrence {recurrence!r} counts from the initial point, and none was given",
        text=recurrence,
        fix="give --initial, e.g. --initial 1 or --initial 20200101T00Z",
    )


@app.command
def validate(
    source: Source,
    start: str | None = None,
    stop: str | None = None,
    *,
    set: SetVars = (),
    set_file: SetFile = None,
) -> None:
    """Check SOURCE: exit 0 with warnings about instances that never run, or 1 with the error.

    Parameters
    ----------
    start
        First cycle point to check (default: the initial point).
    stop
        Last cycle point to check (default: the final point, or 20 points on). A long
        window is checked completely by its repeat period (see docs/cli.md).
    """
    from ..graph.validate import check, warning_lines, window_notes
    from .sources import load_workflow

    wf, notices = load_workflow(source, _template_vars(set, set_file))
    for note in notices:
        print(f"NOTICE: {note}")
    verdict = check(wf, start, stop)
    for note in window_notes(wf, start, stop, verdict):
        print(note)
    for line in warning_lines(verdict):
        print(line)
    count = len(verdict)
    print(
        f"Valid: {wf.name} ({len(wf.tasks)} tasks, {wf.cycling.mode} cycling)"
        + (f", {count} warning(s)" if count else "")
    )


@app.command
def render(source: Source, *, set: SetVars = (), set_file: SetFile = None) -> None:
    """Print SOURCE's flow.cylc after %include and Jinja2, as ``cylc view -j`` does.

    Template variables come from --set and --set-file, then from a
    rose-suite.conf beside the file ([template variables] or
    [jinja2:suite.rc]). Line numbers in errors from graph and validate refer
    to this text. A file with no #!Jinja2 line only has its %include files
    inlined.

    Examples:

    - ``prefect-cycles render path/to/workflow --set MEMBERS=3``
    - ``prefect-cycles render flow.cylc --set-file vars.txt``
    """
    from ..frontends.flowcylc import find_flow_file
    from ..frontends.templates import render_file

    text = render_file(find_flow_file(source), None, _template_vars(set, set_file))
    sys.stdout.write("".join(line.rstrip() + "\n" for line in text.splitlines()))


@app.command
def points(
    recurrence: str,
    *,
    initial: Annotated[str | None, cyclopts.Parameter(name=["--initial", "-i"])] = None,
    final: Annotated[str | None, cyclopts.Parameter(name=["--final", "-f"])] = None,
    limit: int = 20,
    time_zone: str | None = None,
) -> None:
    """List the cycle points RECURRENCE gives, one per line, as Cylc writes them.

    For learning and debugging recurrences before putting them in a graph:
    the points are those a graph section headed RECURRENCE runs at, in a
    workflow with these initial (^) and final ($) points. Notes (cut off, no
    points) go to standard error, so the list pipes cleanly.

    Examples:

    - ``prefect-cycles points P2 --initial 1 --final 10`` (1 3 5 7 9)
    - ``prefect-cycles points 'R1/$' --initial 1 --final 10`` (10)
    - ``prefect-cycles points 'P1!(3,5)' --initial 1 --final 6`` (1 2 4 6)
    - ``prefect-cycles points T00 --initial 20200101T06Z --limit 3`` (daily from 2 Jan)
    - ``prefect-cycles points 'PT6H!T18' --initial 20200101T00Z --final 20200102T00Z``

    Parameters
    ----------
    recurrence
        A graph section heading as Cylc writes it. Integer cycling: P2, R1, R1/3,
        R1/$, +P1/P2, R3/2/P2, R2/P2, P2!5, P1!(3,5). Date-time cycling: PT6H,
        P1D, P1M, T00, +PT6H/PT12H, R1/$, PT6H!T18. A comma list is a union.
        One that starts with - goes last, after --: ``points -i 1 -f 9 -- -P1/P3``.
    initial
        The initial cycle point (^). Its form picks the cycling mode: digits
        (1, 10) for integer cycling, an ISO 8601 date-time (20200101T00Z) for
        date-time cycling. Default: the start point the recurrence itself
        names (R/2024-01-01T00Z/PT6H, R3/2/P2); needed when it names none (P2).
    final
        The final cycle point ($), e.g. 10, 20200105T00Z or +P9 (from the
        initial point). Without one a recurrence may go on forever.
    limit
        Print at most this many points.
    time_zone
        Date-time cycling: the zone of points written without one (default Z, UTC).
    """
    from ..cycling.points import IntegerCycling, cycling_for
    from ..errors import PointError
    from ..graph.model import Workflow

    if limit < 1:
        raise CycleError(f"--limit {limit} prints nothing", fix="give --limit 1 or more")
    if initial is None:
        initial = _named_start(recurrence)
    if time_zone is not None and isinstance(cycling_for(initial), IntegerCycling):
        raise PointError(
            "--time-zone applies to date-time cycling, and the initial point "
            f"{initial!r} is an integer",
            fix="drop --time-zone, or give a date-time initial point such as 20200101T00Z",
        )
    wf = Workflow.create(initial, final, time_zone=time_zone)
    found = 0
    for point in wf.sequence(recurrence).points(wf.initial, wf.final):
        if found == limit:
            print(
                f"prefect-cycles: cut off after {limit} points; there are more "
                f"(raise --limit{'' if wf.final is not None else ', or give --final'})",
                file=sys.stderr,
            )
            break
        print(wf.fmt(point))
        found += 1
    if not found:
        span = wf.fmt(wf.initial) + (f" to {wf.fmt(wf.final)}" if wf.final is not None else " on")
        print(f"prefect-cycles: {recurrence} gives no points from {span}", file=sys.stderr)


FlowSource = Annotated[
    str,
    cyclopts.Parameter(
        help="A Python entrypoint path/to/file.py:name naming a cyclic flow "
        "(made by cyclic_flow(...)), whose tasks run the graph."
    ),
]


@app.command(name="run")
def run_command(
    source: FlowSource,
    start: str | None = None,
    stop: str | None = None,
    *,
    runahead: str | None = None,
    rerun: str | None = None,
    quiet: Annotated[bool, cyclopts.Parameter(negative=())] = False,
) -> int:
    """Run the cyclic flow SOURCE from START to STOP here, with a live progress view.

    The flow runs in this process as a real Prefect flow run: against
    PREFECT_API_URL when set (it then shows in that server's UI), else on a
    temporary local server. The view has one row per cycle point (how many
    instances are done, running, waiting, failed, blocked, not run) and the
    overall progress, rate and time left (with a stop point). Prefect's log
    lines print above it. When standard output is not a terminal, the final
    view is printed once at the end. Ctrl-C stops the run: Prefect marks the
    flow run Crashed.

    Exit status: 0 when every instance completed, 1 when the flow run did not
    (the view names each failed and blocked instance and why), 130 on Ctrl-C.

    Examples:

    - ``prefect-cycles run examples/seed.py:seed 1 3``
    - ``prefect-cycles run flows.py:forecast 20200101T00Z 20200103T00Z --runahead P2``
    - ``prefect-cycles run examples/seed.py:seed 1 4 --rerun "bar[3..]"``

    Parameters
    ----------
    start
        First cycle point (default: the flow's initial point; later = warm start).
    stop
        Last cycle point (default: the flow's final point; with neither it runs
        until a task stops the cycling, or Ctrl-C).
    runahead
        Runahead limit for this run: P2 = at most three cycle points active at
        once; in date-time cycling also a span such as PT12H (default: the flow's).
    rerun
        Run these instances again although they completed before, and everything
        downstream of them: "foo" (every foo in the window), "foo[3..]" (foo from
        point 3 on), "foo[3..5]", "*" (the whole window); comma-separated. Other
        instances that completed in an earlier run of the window come back Cached.
    quiet
        Show only Prefect's warnings and errors, not its info log lines.
    """
    from .runner import run_with_progress

    return run_with_progress(source, start, stop, runahead, rerun=rerun, quiet=quiet)


#: Exit statuses of every command: success; an error in what the command was
#: given to read or run (a CycleError, or a flow run that did not complete);
#: a command line that cannot be read; Ctrl-C.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    """Run the command; any error is one line on stderr, with its documented exit status.

    A CycleError exits 1; a command line cyclopts cannot read (a missing or
    unknown argument) exits 2, as argparse does, with the same one-line style.
    """
    try:
        result = app(
            argv if argv is not None else sys.argv[1:], exit_on_error=False, print_error=False
        )
    except CycleError as exc:
        print(f"prefect-cycles: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except cyclopts.CycloptsError as exc:
        message = " ".join(str(exc).split())
        print(f"prefect-cycles: error: {message} (see prefect-cycles --help)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("prefect-cycles: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
