"""Validation: errors that stop a workflow, warnings about instances that never run.

Construction already rejects bad syntax and inconsistent outputs; here the
workflow is unrolled over a window to find loops at one point (an error naming
the loop) and instances that Cylc's scheduler would never run (a warning each,
with the reason), so users learn of them before a run stalls.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from ..cycling.minutes import Domain
from ..cycling.points import Point
from .model import Workflow
from .settle import Settler, Status, keys_of, reason
from .unroll import Instance, Unroller, unroll

#: Points unrolled to validate a workflow that has no final point.
ENDLESS_WINDOW = 20

#: A walk that has found no repeat after this many points stops there, so that a
#: far final point (``+P99999999999``) cannot make validation run for ever.
WALK_BUDGET = 100_000

#: Kept for callers: validation no longer stops after a number of points (see WALK_BUDGET).
LONG_WINDOW = WALK_BUDGET


@dataclass(frozen=True)
class NeverRuns:
    """An instance that can never run in the window, and why."""

    instance: Instance
    reason: str
    label: str

    def __str__(self) -> str:
        return f"{self.label} never runs: {self.reason}"


#: An instance that never runs, with its status, and whether (parent, root) move with it.
Found: TypeAlias = tuple[Instance, Status]


@dataclass(frozen=True)
class Repeat:
    """The warnings of one stretch of points (``block``), repeated ``times`` more times,
    each ``step`` keys later: the middle of a long window, known without walking it.

    ``moves`` says, for each warning, whether the parent that stops it and the missing
    root move with it (a parent at a relative offset) or stay (a fixed point).
    """

    block: tuple[Found, ...]
    moves: tuple[tuple[bool, bool], ...]
    step: int
    times: int

    def __len__(self) -> int:
        return len(self.block) * self.times


@dataclass
class Verdict:
    """What a check found: warnings at the points walked, repeats for the stretches
    jumped over, and the last point checked when the check stopped before the window's end.

    Iterating gives every warning in point order, repeats expanded.
    """

    unroller: Unroller
    keys: Domain
    walked: list[Found]
    repeats: list[tuple[int, Repeat]] = field(default_factory=list)  # (key before it, repeat)
    cut: Point | None = None
    points: int = 0

    def __len__(self) -> int:
        return len(self.walked) + sum(len(r) for _, r in self.repeats)

    def __iter__(self) -> Iterator[NeverRuns]:
        keys = self.keys
        walked = iter(self.walked)
        nxt = next(walked, None)
        for after, rep in self.repeats:
            while nxt is not None and keys.to(nxt[0].point) <= after:
                yield self.warning(*nxt)
                nxt = next(walked, None)
            yield from self.expand(rep)
        while nxt is not None:
            yield self.warning(*nxt)
            nxt = next(walked, None)

    def warning(self, inst: Instance, st: Status) -> NeverRuns:
        wf = self.unroller.workflow
        return NeverRuns(inst, reason(st, wf), f"{inst.task}[{wf.fmt(inst.point)}]")

    def expand(self, rep: Repeat) -> Iterator[NeverRuns]:
        """The warnings a repeat stands for, in point order."""
        if not rep.block:
            return
        for j in range(1, rep.times + 1):
            by = rep.step * j
            for (inst, st), mv in zip(rep.block, rep.moves, strict=True):
                yield self.warning(_move(inst, by, self.keys), self.moved(st, mv, by))

    def moved(self, st: Status, mv: tuple[bool, bool], by: int) -> Status:
        """``st`` for the instance ``by`` keys later: its parent and root moved or kept."""
        if st.runs:
            return st
        assert st.first is not None and st.root is not None
        first = _move(st.first, by, self.keys) if mv[0] else st.first
        root, why = st.root, st.why
        if mv[1]:
            root = _move(root, by, self.keys)
            why = self.unroller.why_missing(root)
        return st._replace(first=first, root=root, why=why)


def _move(inst: Instance, by: int, keys: Domain) -> Instance:
    return Instance(inst.task, keys.back(keys.to(inst.point) + by))


def validate(workflow: Workflow, start: object = None, stop: object = None) -> list[NeverRuns]:
    """Check ``workflow`` over ``[start, stop]``; raise CycleError, or return warnings.

    Without a stop or final point the first ``ENDLESS_WINDOW`` points are
    checked, and instances blocked only because the check stops there are not
    reported. A window with a stop is checked completely, in bounded time and
    memory (see :func:`check`), and every warning is listed.
    """
    return list(check(workflow, start, stop))


def check(workflow: Workflow, start: object = None, stop: object = None) -> Verdict:
    """Check ``workflow`` over ``[start, stop]``: raise CycleError, or return the verdict.

    The window is walked point by point (:class:`~prefect_cycles.graph.settle.Settler`,
    bounded memory). Between the window's edges (its start and stop, where each
    sequence starts, ends or is excluded, and the points ``[^]`` and absolute
    offsets name) every sequence repeats every ``period`` keys; once what the
    walk carries forward repeats there (the same statuses at the same places,
    one repeat apart, three times running, with nothing waiting on a later
    point), the rest of that stretch is known: it is jumped over and its
    warnings kept as a :class:`Repeat`. Workflows whose sequences or offsets
    have no fixed length in keys (month and year steps) are walked in full; a
    walk longer than ``WALK_BUDGET`` points stops there (``Verdict.cut``) and
    says so (:func:`window_notes`).
    """
    u = Unroller(workflow, start, stop)
    keys = keys_of(workflow)
    if u.stop is None:
        return _endless(u, keys)
    return _Check(u, keys).run()


def _endless(u: Unroller, keys: Domain) -> Verdict:
    """The first ``ENDLESS_WINDOW`` points of a window with no stop point, leaving out
    instances blocked only because the check stops there."""
    pts = list(itertools.islice(u.points(), ENDLESS_WINDOW))
    cut = pts[-1] if pts else u.start
    v = _Check(Unroller(u.workflow, u.start, cut), keys).run()
    v.walked = [(i, s) for i, s in v.walked if s.root is None or s.root.point <= cut]
    return v


class _Check:
    """One bounded check of a window with a stop point (see :func:`check`)."""

    def __init__(self, u: Unroller, keys: Domain) -> None:
        self.u, self.keys = u, keys
        self.settler = Settler(u, keys)
        self.period, self.edges = self._shape()

    def _shape(self) -> tuple[int | None, list[int]]:
        """The window's period and edges in keys (period None: it does not repeat)."""
        u, keys = self.u, self.keys
        assert u.stop is not None
        edges = {keys.to(u.start), keys.to(u.stop)} | {keys.to(p) for p in u.pinned()}
        period = 1
        for seq in u._seq_list:
            got = seq.shape()
            if got is None:
                return None, sorted(edges)
            period = math.lcm(period, got[0])
            edges |= got[1]
        return (period if self.settler.reach.exact else None), sorted(edges)

    def run(self) -> Verdict:
        u, keys, settler = self.u, self.keys, self.settler
        walked: list[Found] = []
        repeats: list[tuple[int, Repeat]] = []
        seen: dict[tuple, list] = {}
        stretch: tuple[int, int] | None = None
        count = 0
        cut = None
        begin: Point | None = None
        again = True
        while again:
            again = False
            for point, spawned in u.cycles(begin):
                count += 1
                walked.extend((d[0], d[2]) for d in settler.feed(point, spawned) if not d[2].runs)
                if count >= WALK_BUDGET:
                    cut = point
                    break
                if self.period is None or settler.waiting:
                    continue
                k = keys.to(point)
                lo, hi = self._stretch(k)
                if stretch != (lo, hi):
                    stretch, seen = (lo, hi), {}
                if lo >= k - settler.reach.back:
                    continue
                jump = self._try_jump(k, hi, seen, walked)
                if jump is not None:
                    landing, rep, entries = jump
                    repeats.append((k, rep))
                    settler.restore(entries)
                    seen = {}
                    begin = keys.back(landing + 1)
                    again = True
                    break
        if cut is None and settler.waiting:
            unroll(u.workflow, u.start, u.stop)  # a loop across points: raises, naming it
        walked.sort(key=_order)
        if cut is not None:  # instances waiting past the cut are not reported
            walked = [w for w in walked if w[0].point <= cut]
        return Verdict(u, keys, walked, repeats, cut, count)

    def _stretch(self, k: int) -> tuple[int, int]:
        """The edges around key ``k``: ``lo <= k <= hi``, no edge strictly between."""
        i = bisect.bisect_right(self.edges, k)
        lo = self.edges[i - 1] if i else k
        hi = self.edges[i] if i < len(self.edges) else k
        return lo, hi

    def _try_jump(
        self, k: int, hi: int, seen: dict, walked: list[Found]
    ) -> tuple[int, Repeat, list[tuple[int, Instance, Status]]] | None:
        """Jump over the rest of the stretch once the walk has repeated three times running."""
        settler, keys = self.settler, self.keys
        assert self.period is not None
        entries = settler.window(k)
        sig = (
            k % self.period,
            tuple(
                (inst.task, ek - k, st.runs, st.first_exists, st.first and st.first.task)
                for ek, inst, st in entries
            ),
        )
        history = seen.setdefault(sig, [])
        history.append((k, len(walked), entries))
        if len(history) > 3:
            del history[0]
        if len(history) < 3:
            return None
        (k0, i0, _), (k1, i1, e1), (k2, i2, e2) = history
        step = k1 - k0
        if k2 - k1 != step:
            return None
        # What is carried at k1 and k2, and the warnings of (k0, k1] and (k1, k2], must
        # match one repeat apart, each parent and root moving or staying.
        state = _moves([(i, s) for _, i, s in e1], [(i, s) for _, i, s in e2], step, keys)
        b1, b2 = (sorted(walked[a:b], key=_order) for a, b in ((i0, i1), (i1, i2)))
        block = _moves(b1, b2, step, keys)
        if state is None or block is None:
            return None
        times = (hi - 1 - settler.reach.ahead - k2) // step
        if times < 1:
            return None
        by = step * times
        v = Verdict(self.u, keys, [])
        moved = [
            (ek + by, _move(inst, by, keys), v.moved(st, mv, by))
            for (ek, inst, st), mv in zip(e2, state, strict=True)
        ]
        return k2 + by, Repeat(tuple(b2), tuple(block), step, times), moved


def _order(found: Found) -> tuple:
    """Warnings go in point order, then by task, as :func:`never_runs` sorts them."""
    return (found[0].point, found[0].task)


def _moves(
    before: list[Found], after: list[Found], step: int, keys: Domain
) -> list[tuple[bool, bool]] | None:
    """For each pair, whether the parent and root that stop it moved by ``step`` keys
    (True) or stayed (False); None when ``after`` is not ``before`` moved."""
    if len(before) != len(after):
        return None
    out = []
    for (i1, s1), (i2, s2) in zip(before, after, strict=True):
        if i2 != _move(i1, step, keys) or s1.runs != s2.runs or s1.first_exists != s2.first_exists:
            return None
        if s1.runs:
            out.append((False, False))
            continue
        mv = []
        for a, b in ((s1.first, s2.first), (s1.root, s2.root)):
            assert a is not None
            if b == a:
                mv.append(False)
            elif b == _move(a, step, keys):
                mv.append(True)
            else:
                return None
        out.append((mv[0], mv[1]))
    return out


#: A repeat that stands for more warnings than this is printed as one line, not expanded.
SHOWN_REPEAT = 1000


def warning_lines(verdict: Verdict) -> Iterator[str]:
    """``WARNING:`` lines for the command line: every warning, but a repeat of more than
    ``SHOWN_REPEAT`` warnings as one line saying what repeats, how often and how far."""
    keys, fmt = verdict.keys, verdict.unroller.workflow.fmt
    walked = iter(verdict.walked)
    nxt = next(walked, None)
    for after, rep in [*verdict.repeats, (None, None)]:
        while nxt is not None and (after is None or keys.to(nxt[0].point) <= after):
            yield f"WARNING: {verdict.warning(*nxt)}"
            nxt = next(walked, None)
        if rep is None:
            break
        if len(rep) <= SHOWN_REPEAT:
            yield from (f"WARNING: {w}" for w in verdict.expand(rep))
            continue
        first, last = rep.block[0][0].point, rep.block[-1][0].point
        end = keys.back(keys.to(rep.block[-1][0].point) + rep.step * rep.times)
        yield (
            f"WARNING: the {len(rep.block)} warning(s) above from {fmt(first)} to {fmt(last)} "
            f"repeat {rep.times} more time(s), every {_span(verdict, rep.step)}, to {fmt(end)} "
            f"({len(rep)} instances that never run)"
        )


def _span(verdict: Verdict, step: int) -> str:
    """A repeat's step as an interval: ``P4`` in integer cycling, ``PT6H``/``P2D`` in date-time."""
    if verdict.unroller.workflow.cycling.mode == "integer":
        return f"P{step}"
    days, minutes = divmod(step, 1440)
    hours, minutes = divmod(minutes, 60)
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def window_notes(
    workflow: Workflow, start: object = None, stop: object = None, verdict: Verdict | None = None
) -> list[str]:
    """What a check of the window leaves out, and a warning when nothing at all runs in it.

    ``verdict`` is the window's :func:`check`, when the caller has it already.
    """
    u = Unroller(workflow, start, stop)
    fmt = workflow.fmt
    window = f"{fmt(u.start)} to " + (fmt(u.stop) if u.stop is not None else "no stop point")
    notes = []
    if u.first_point(None) is None:
        notes.append(
            f"WARNING: no instance of any task falls in the window {window}, so a run does "
            "nothing. Fix: choose start/stop points where tasks run"
        )
    elif u.stop is not None:
        cut = (verdict or check(workflow, start, stop)).cut
        if cut is not None:
            notes.append(
                f"NOTE: the window {window} does not repeat within its first {WALK_BUDGET} "
                f"cycle points; checked those (to {fmt(cut)}). Give --stop to check another span"
            )
    return notes
