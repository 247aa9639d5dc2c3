"""Integer recurrences: ``P2``, ``R1/3``, ``R2/P2``, ``P2!5`` read into sequences."""

from __future__ import annotations

import re
from typing import Literal

from .forms import (
    INT_ABSOLUTE,
    INT_RELATIVE,
    INTEGER_FORMS,
    INTEGER_HINT,
    Bad,
    NeedsFinal,
    match_form,
)
from .sequence import Arith, Exclusions, IntSequence, Sequence

Form = Literal["forward", "backward", "span"]


def read_integer(text: str, main: str, excluded: list[str], init: int, fin: int | None) -> Sequence:
    base, start, stop = _integer_arith(main, init, fin)
    points: set[int] = set()
    ariths: list[Arith] = []
    for item in excluded:
        if INT_RELATIVE.fullmatch(item):
            raise Bad(
                f"cannot exclude the relative point {item!r}",
                "exclude an absolute point (P1!5) or a recurrence (P1!P3, P1!R1//-P1)",
            )
        if INT_ABSOLUTE.fullmatch(item):
            points.add(int(item))
            continue
        try:
            ariths.append(_integer_arith(item, start, stop)[0])
        except NeedsFinal:
            raise
        except Bad as exc:
            raise Bad(f"in the exclusion {item!r}: {exc.why}", exc.fix) from None
    return IntSequence(text, base, init, fin, Exclusions(points, ariths, []))


def _integer_arith(
    expr: str, ctx_start: int, ctx_stop: int | None
) -> tuple[Arith, int, int | None]:
    """The points of one integer recurrence, with the start and stop Cylc gives its exclusions."""
    found = match_form(INTEGER_FORMS, expr)
    if found is None:
        raise Bad(f"{expr!r} is not an integer recurrence", INTEGER_HINT)
    g, form = found
    reps_text = g.get("reps")
    reps = int(reps_text) if reps_text else None
    start_text, end_text, step_text = g.get("start") or None, g.get("end") or None, g.get("step")
    start = ctx_start if start_text is None else _int_point(start_text, ctx_start)
    stop: int | None
    if end_text is not None:
        stop = _int_point(end_text, ctx_stop)
    else:
        stop = ctx_stop
        if stop is None and form != "forward":
            raise NeedsFinal()
    step = _int_step(step_text) if step_text else None

    if form == "forward":
        if step is None or (reps is not None and reps <= 1):
            return Arith(start, 0, None), start, start
        if reps:
            stop = start + step * (reps - 1)
        elif ctx_stop is not None:
            if step == 0:
                raise Bad(
                    "a zero interval (P0) repeats forever at one point",
                    "write R1 for the initial point or R1/P0 for the final point",
                )
            stop = ctx_stop - (ctx_stop - start) % step
    elif form == "span":
        if reps != 1:
            raise Bad(
                f"Cylc cannot read R{reps}/START/END in integer cycling",
                f"give the interval instead: R{reps}/{start_text}/P<n>",
            )
        return Arith(start, 0, None), start, start
    else:
        assert stop is not None
        if reps is not None and reps <= 1:
            return Arith(stop, 0, None), stop, stop
        assert step is not None
        if reps is not None:
            start = stop - step * (reps - 1)
        else:
            if ctx_stop is None:
                raise NeedsFinal()
            if step == 0:
                raise Bad("a zero interval (P0) cannot be counted back", "write R1/P0")
            start = ctx_start - (ctx_stop - ctx_start) % step
    if step:
        # Cylc's own arithmetic, reproduced as is (see the module notes).
        if start < ctx_start:
            start = ctx_start + (ctx_start - start) % step
        if stop is not None and ctx_stop is not None and stop > ctx_stop:
            stop = ctx_stop - step + (ctx_stop - start) % step
    return Arith(start, step or 0, stop if step else None), start, stop


def _int_point(expr: str, context: int | None) -> int:
    """An integer point: absolute (``5``) or relative to ``context`` (``+P2``)."""
    m = INT_RELATIVE.fullmatch(expr)
    if m:
        if context is None:
            raise NeedsFinal()
        n = int(m.group(2))
        return context + (-n if m.group(1) == "-" else n)
    if INT_ABSOLUTE.fullmatch(expr):
        return int(expr)
    if re.search(r"\d\s*[+-]\s*P\d", expr):
        fix = (
            "Cylc cannot offset ^ or $ in integer recurrences: write +P1 (or R1/+P1) "
            "for a point after the initial point, and R1//-P1 for one before the final point"
        )
    else:
        fix = "use a whole number (5), or an offset +P2 from ^ (start) or -P1 from $ (end)"
    raise Bad(f"{expr!r} is not an integer cycle point", fix)


def _int_step(text: str) -> int:
    m = re.fullmatch(r"P(\d+)", text)
    if not m:
        raise Bad(f"{text!r} is not an integer interval", "write an interval as P<n>, e.g. P2")
    return int(m.group(1))


# -- date-time cycling ---------------------------------------------------------------
