"""The flow parameters of a cyclic flow, checked before Prefect coerces them.

Prefect validates flow parameters with pydantic, which turns ``start=True``
into point 1 without a word and answers ``runahead=5`` with a pydantic error
that says nothing of cycling. These checks run first, in
``CyclicFlow.validate_parameters``, for plain calls and deployment runs alike,
and fail the flow run before any task starts with one message naming the
parameter, the value and what it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import CycleError
from ..graph.model import Workflow, runahead_limit

__all__ = ["check_parameters"]

_RERUN_TAKES = "text such as 'foo[3..]', 'bar', '*', or a list of such texts"


def check_parameters(workflow: Workflow, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with start/stop as the flow's annotations want them; CycleError if bad."""
    out = dict(parameters)
    for name in ("start", "stop"):
        if name in out:
            out[name] = _point(workflow, name, out[name])
    if "runahead" in out:
        value = out["runahead"]
        if value is None:
            del out["runahead"]  # the workflow's own limit (the parameter's default)
        else:
            _runahead(workflow, value)
    if "rerun" in out:
        _rerun(out["rerun"])
    return out


def _point(workflow: Workflow, name: str, value: Any) -> Any:
    integer = workflow.cycling.mode == "integer"
    if integer:
        takes = "a whole number such as 3 (this workflow cycles in integers)"
    else:
        takes = "a date-time as text, such as '20200101T00Z' (this workflow cycles in date-times)"
    if value is None or value == "":
        return None
    if isinstance(value, (bool, float)) or (integer and not isinstance(value, (int, str))):
        raise _bad(name, value, f"{takes}, or None for the workflow's own")
    try:
        point = workflow.cycling.point(value)
    except (CycleError, ValueError, TypeError, OverflowError) as exc:
        raise _bad(name, value, f"{takes}, or None for the workflow's own", _why(exc)) from None
    return point if integer else workflow.fmt(point)


def _runahead(workflow: Workflow, value: Any) -> None:
    takes = "text such as 'P4' (five active cycles)" + (
        "" if workflow.cycling.mode == "integer" else " or a duration such as 'PT12H'"
    )
    if not isinstance(value, str):
        raise _bad("runahead", value, takes)
    try:
        runahead_limit(value, workflow.cycling)
    except CycleError as exc:
        raise _bad("runahead", value, takes, _why(exc)) from None


def _rerun(value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, str):
                raise _bad("rerun", value, _RERUN_TAKES, f"{item!r} in it is not text")
        return
    raise _bad("rerun", value, _RERUN_TAKES)


def _why(exc: Exception) -> str:
    """An error's message without its ``. Fix: ...``, to embed in another message."""
    return str(exc).split(". Fix: ", 1)[0] if str(exc) else type(exc).__name__


def _bad(name: str, value: Any, takes: str, why: str | None = None) -> CycleError:
    kind = type(value).__name__
    problem = f"flow parameter {name}={value!r} ({kind}) is not valid"
    if why:
        problem += f": {why.rstrip('.')}"
    return CycleError(problem, fix=f"{name} takes {takes}")
