"""External triggers (Cylc xtriggers) other than the wall clock, as the model holds them.

``[[xtriggers]] x = mymod.check(point=%(point)s, n=3):PT10S`` declares a
function called with Cylc's arguments every ``PT10S`` until it returns true
(``True``, or ``(True, {results})``), for each instance that ``@x => foo``
holds. ``%(point)s``, ``%(name)s``, ``%(id)s`` and ``%(workflow)s`` in string
arguments are filled in per instance, as Cylc does; instances whose calls come
out the same share one check. Nothing here calls anything: see
:mod:`prefect_cycles.run.xtriggers`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..cycling.clock import parse_offset
from ..errors import ValidationError

__all__ = ["XTrigger", "parse_xtrigger"]

_CALL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\((.*)\)\s*(?::\s*(\S+))?\s*$", re.DOTALL)

#: Cylc's default interval between calls of an xtrigger function.
DEFAULT_INTERVAL = "PT10S"

_TEMPLATE = re.compile(r"(?<!%)%\((\w+)\)s")

#: Templates Cylc fills in (``cylc/flow/xtrigger_mgr.py`` TemplateVariables) that mean
#: something here.
TEMPLATES = ("point", "name", "id", "workflow", "workflow_name", "debug")


@dataclass(frozen=True)
class XTrigger:
    """``@label => task`` at the points of ``recurrence``, for a function xtrigger."""

    task: str
    recurrence: str
    label: str
    func: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()
    interval: str = DEFAULT_INTERVAL
    seconds: float = 10.0

    def call(self, values: dict[str, str]) -> tuple[tuple[object, ...], dict[str, object]]:
        """The arguments for one instance, templates filled in from ``values``."""

        def fill(v: object) -> object:
            if isinstance(v, str):
                return _TEMPLATE.sub(lambda m: str(values.get(m.group(1), m.group(0))), v)
            return v

        return tuple(fill(a) for a in self.args), {k: fill(v) for k, v in self.kwargs}

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.label} = {self.func}({', '.join(parts)}):{self.interval}"


def _split(text: str) -> list[str]:
    """Split arguments at commas outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _value(text: str) -> object:
    """A Python literal where it is one (``3``, ``'a'``, ``True``), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_xtrigger(text: str, *, label: str) -> tuple[str, tuple, tuple, str, float]:
    """Read a declaration: function, positional and keyword arguments, interval text, seconds."""
    m = _CALL.match(text or "")
    if m is None:
        raise ValidationError(
            f"xtrigger {label} = {text!r} is not a function call",
            text=text,
            fix="declare it like x = mymod.check(point=%(point)s):PT10S",
        )
    func, body, interval = m.group(1), m.group(2).strip(), m.group(3) or DEFAULT_INTERVAL
    args: list[object] = []
    kwargs: list[tuple[str, object]] = []
    for part in _split(body):
        key, eq, value = part.partition("=")
        if eq and re.match(r"^\s*\w+\s*$", key):
            kwargs.append((key.strip(), _value(value.strip())))
        else:
            args.append(_value(part))
    raw, duration = parse_offset(interval)
    seconds = float(duration.get_seconds())
    if seconds <= 0:
        raise ValidationError(
            f"xtrigger {label} = {text.strip()}: its interval {raw} is not positive",
            fix="give an interval such as :PT10S after the call",
        )
    return func, tuple(args), tuple(kwargs), raw, seconds
