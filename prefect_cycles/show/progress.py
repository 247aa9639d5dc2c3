"""The progress view of ``prefect-cycles run``, drawn with rich.

One table row per cycle point (done, running, waiting, failed, blocked, not
run), an overall bar with the rate so far and an estimate of the time left,
and at the end what failed or was blocked, and why. It renders a
:class:`~prefect_cycles.show.tally.Tally` and knows nothing of Prefect: the runner
fills in the flow run's name, link and outcome.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich import box
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..cycling.points import Point
from .tally import PointCount, Tally

#: Columns of the per-point table, after the point itself.
COLUMNS = ("Done", "Running", "Waiting", "Failed", "Blocked", "Not run")

#: How many failed, blocked or never-run instances the final view names.
MAX_NAMED = 20


def clock(seconds: float | None) -> str:
    """``h:mm:ss``, or ``-:--:--`` when unknown."""
    if seconds is None:
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _rate(per_second: float | None) -> str:
    """Instances per second, or per minute or hour when slower (clock-bound runs)."""
    if not per_second:
        return "-- instances/s"
    if per_second >= 1:
        return f"{per_second:.1f} instances/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:.1f} instances/min"
    return f"{per_second * 3600:.1f} instances/h"


@dataclass
class Outcome:
    """How the run ended: its state, and the instances to name with reasons."""

    state: str
    failed: list[tuple[str, str]] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)
    never_run: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ProgressView:
    """A rich renderable of a run's tally; give it to ``rich.live.Live`` or print it.

    ``max_rows`` bounds the table for a live view: it shows the oldest
    unfinished points and a line for the points left out. The runner sets
    ``clock_wait`` to (how many instances wait for the wall clock, the next
    one's name, its UTC time) while any do, and ``clock_last`` to the latest of
    those times, which the time-left estimate never undercuts.
    """

    def __init__(
        self,
        tally: Tally,
        fmt: Callable[[Point], str],
        title: str,
        *,
        max_rows: int | None = None,
    ) -> None:
        self.tally = tally
        self.fmt = fmt
        self.title = title
        self.max_rows = max_rows
        self.clock_wait: tuple[int, str, dt.datetime] | None = None
        self.clock_last: dt.datetime | None = None  # the latest clock time known to be waited for
        self.run_name: str | None = None
        self.run_url: str | None = None
        self.outcome: Outcome | None = None
        self._began: float | None = None
        self._ended: float | None = None
        tally.on_event(self._first_event)

    def _first_event(self) -> None:
        if self._began is None:
            self._began = time.monotonic()

    def finish(self, outcome: Outcome) -> None:
        """The run is over: freeze the clock and show the outcome."""
        self.outcome = outcome
        self._ended = time.monotonic()

    def elapsed(self) -> float:
        if self._began is None:
            return 0.0
        return (self._ended or time.monotonic()) - self._began

    def __rich__(self) -> RenderableType:
        rows = self.tally.rows()
        parts: list[RenderableType] = [self._header(), self._table(rows), self._overall(rows)]
        if self.clock_wait is not None and self.outcome is None:
            parts.append(self._clock(*self.clock_wait))
        if self.outcome is not None:
            parts.extend(self._outcome(self.outcome))
        return Group(*parts)

    # -- pieces ---------------------------------------------------------------------

    def _header(self) -> Text:
        text = Text(self.title, style="bold")
        if self.run_name:
            text.append(f"  flow run '{self.run_name}'", style="magenta")
        elif self.outcome is None:
            text.append("  (starting the flow run...)", style="dim")
        if self.run_url:
            text.append(f"\n{self.run_url}", style="bright_blue")
        return text

    def _table(self, rows: list[PointCount]) -> Table:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("Point", no_wrap=True)
        for name in COLUMNS:
            table.add_column(name, justify="right", no_wrap=True)
        shown, before, after = self._window(rows)
        if before:
            table.add_row(Text(f"... {before} earlier point(s), finished", style="dim"))
        for row in shown:
            table.add_row(*self._cells(row))
        if after:
            table.add_row(Text(f"... {after} later point(s)", style="dim"))
        return table

    def _window(self, rows: list[PointCount]) -> tuple[list[PointCount], int, int]:
        """The rows to show: all of them, or ``max_rows`` from just before the oldest busy one."""
        if self.max_rows is None or len(rows) <= self.max_rows:
            return rows, 0, 0
        busy = next((i for i, r in enumerate(rows) if not r.finished), len(rows))
        first = max(0, min(busy - 1, len(rows) - self.max_rows))
        shown = rows[first : first + self.max_rows]
        return shown, first, len(rows) - first - len(shown)

    def _cells(self, row: PointCount) -> list[Text]:
        failed = row.failed + row.handled  # a routed failure is still a failed task run
        values = (row.done, row.running, row.waiting, failed, row.blocked, row.not_run)
        styles = ("green", "yellow", "", "bold red" if row.failed else "yellow", "red", "dim")
        style = "green" if row.finished and not (row.failed or row.blocked) else ""
        cells = [Text(self.fmt(row.point), style=style)]
        for value, s in zip(values, styles, strict=True):
            cells.append(Text(str(value), style=s if value else "dim"))
        return cells

    def _overall(self, rows: list[PointCount]) -> RenderableType:
        known = self.tally.known_total
        total = sum(r.total for r in rows)
        resolved = sum(r.resolved for r in rows)
        done = sum(r.done for r in rows)
        failed = sum(r.failed for r in rows)
        handled = sum(r.handled for r in rows)
        blocked = sum(r.blocked for r in rows)
        elapsed = self.elapsed()
        rate = resolved / elapsed if elapsed > 0 and resolved else None
        line = Table.grid(padding=(0, 1))
        line.add_row(
            Text("Overall", style="bold"),
            ProgressBar(total=float(total) if known else None, completed=resolved, width=24),
            Text(f"{done}/{total} done" if known else f"{done} done", style="bold"),
            Text(f"{failed} failed", style="bold red" if failed else "dim")
            # failures an optional output routed on (a:fail? => recover): not the run's failure
            + (Text(f" ({handled} handled)", style="yellow") if handled else Text("")),
            Text(f"{blocked} blocked", style="red" if blocked else "dim"),
        )

        timing = Text(f"elapsed {clock(elapsed)}, ", style="dim")
        timing.append(_rate(rate))
        if known and self.outcome is None:
            timing.append(f", about {clock(self._left(total - resolved, rate))} left")
        return Group(line, timing)

    def _left(self, instances: int, rate: float | None) -> float | None:
        """Seconds left: at the rate so far, and never before the last known clock time."""
        left = instances / rate if rate else None
        if self.clock_last is not None and instances:
            wait = (self.clock_last - dt.datetime.now(dt.timezone.utc)).total_seconds()
            left = max(left or 0.0, wait, 0.0)
        return left

    def _clock(self, count: int, name: str, due: dt.datetime) -> Text:
        wait = (due - dt.datetime.now(dt.timezone.utc)).total_seconds()
        return Text(
            f"Waiting for the clock: {count} instance(s); next {name} "
            f"at {due:%Y-%m-%dT%H:%M:%SZ}, in {clock(max(wait, 0))}",
            style="cyan",
        )

    def _outcome(self, outcome: Outcome) -> list[RenderableType]:
        style = "bold green" if outcome.state == "Completed" else "bold red"
        parts: list[RenderableType] = [Text(f"Flow run {outcome.state}", style=style)]
        for title, items, s in (
            ("Failed", outcome.failed, "red"),
            ("Blocked", outcome.blocked, "red"),
            ("Never run", outcome.never_run, "dim"),
        ):
            if not items:
                continue
            text = Text(f"{title}:", style=s)
            for name, why in items[:MAX_NAMED]:
                text.append(f"\n  {name}" + (f": {why}" if why else ""))
            if len(items) > MAX_NAMED:
                text.append(f"\n  ... and {len(items) - MAX_NAMED} more")
            parts.append(text)
        parts.extend(Text(note) for note in outcome.notes)
        return parts
