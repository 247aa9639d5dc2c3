"""The one exception family of prefect-cycles.

Every error a user can cause is a :class:`CycleError` (a ``ValueError``), so
``except ValueError`` or ``except CycleError`` catches all bad input, and the
message always says what is wrong, where (task, point or text) and how to fix it.
"""

from __future__ import annotations


class CycleError(ValueError):
    """Bad input to prefect-cycles: names the task, point or text at fault and the fix."""

    def __init__(
        self,
        message: str,
        *,
        task: str | None = None,
        point: object = None,
        text: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.task = task
        self.point = point
        self.text = text
        self.fix = fix
        parts = [message]
        where = []
        if task is not None and repr(task) not in message:
            where.append(f"task {task!r}")
        if point is not None and str(point) not in message:
            where.append(f"point {point}")
        if text is not None and text not in message:
            where.append(f"in {text!r}")
        if where:
            parts.append(f" ({', '.join(where)})")
        if fix:
            parts.append(f". Fix: {fix}")
        super().__init__("".join(parts))


class PointError(CycleError):
    """A cycle point or interval that cannot be read, or one of the wrong cycling mode."""


class RecurrenceError(CycleError):
    """A recurrence expression (``P1``, ``R1/$``, ``T00!T06``...) that cannot be read."""


class GraphSyntaxError(CycleError):
    """A Cylc graph string or flow.cylc that cannot be read."""


class ValidationError(CycleError):
    """A workflow that reads fine but cannot be run as written (loops, missing tasks...)."""


class CyclicDependencyError(ValidationError):
    """Tasks that depend on each other at one point; ``loop`` holds the instances in order."""

    def __init__(self, message: str, *, loop: list[str], fix: str | None = None) -> None:
        self.loop = loop
        super().__init__(message, fix=fix)


class CyclicFlowFailed(CycleError):
    """A cyclic flow run that did not complete: instances failed, or others were blocked.

    Raised by a plain call of the flow (``fl()``, or a subflow call); with
    ``return_state=True`` the Failed state's result is this error. ``summary``
    holds the run's counts and lists (the same dict a completed run returns),
    ``failed`` and ``blocked`` the instances by task run name, ``unsaved`` the
    instances that completed but whose results could not be stored.
    """

    def __init__(self, message: str, *, summary: dict, fix: str | None = None) -> None:
        self.reason = message
        self.summary = dict(summary)
        self.failed: list[str] = list(self.summary.get("failed", []))
        self.blocked: list[str] = list(self.summary.get("blocked", []))
        self.unsaved: list[str] = list(self.summary.get("unsaved", []))
        super().__init__(message, task=None, fix=fix)

    def __reduce__(self) -> tuple:
        """Pickle by the keyword arguments (results, process pools and the API need it)."""
        return (_rebuild_failed, (type(self), self.reason, self.summary, self.fix))


def _rebuild_failed(
    cls: type[CyclicFlowFailed], message: str, summary: dict, fix: str | None
) -> CyclicFlowFailed:
    return cls(message, summary=summary, fix=fix)
