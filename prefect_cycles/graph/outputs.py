"""Task outputs: their names, and which are required and which optional.

A task's outputs are ``succeeded``, ``failed``, ``started`` and the
pseudo-output ``finished`` (succeeded or failed). Cylc 8 decides for each
output whether it is *required* (the task is incomplete without it) or
*optional* (written ``?``) from every place the graph uses it, and
:class:`Outputs` applies the same rules to the uses both front ends report:

- every use sets the output's optionality, wherever it is (left or right of
  ``=>``, with or without an offset); ``:start`` without ``?`` makes
  ``started`` required;
- an output is required everywhere or optional everywhere: a use that
  disagrees with an earlier one is an error naming both places;
- if ``succeeded`` and ``failed`` are both used, both must be optional;
- ``:finish`` can't take ``?``; it makes ``succeeded`` and ``failed`` optional;
- success is required by default only if neither ``succeeded`` nor ``failed``
  is used, so a task used only with ``:fail`` may succeed or fail;
- a family trigger only sets a default, which a plain use of the member
  overrides; two family triggers that default an output differently are an
  error.

Each use names its place (``"graph section 'P1', line 2 ('a => b?')"``,
``"@cycle('P1') on task 't'"``) so that a conflict can name both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import GraphSyntaxError, ValidationError

#: Canonical task outputs; ``finished`` means succeeded or failed.
OUTPUTS = ("succeeded", "failed", "started", "finished")

#: Every spelling Cylc accepts, mapped to the canonical output.
OUTPUT_ALIASES = {
    "succeeded": "succeeded",
    "succeed": "succeeded",
    "failed": "failed",
    "fail": "failed",
    "started": "started",
    "start": "started",
    "finished": "finished",
    "finish": "finished",
}

_SHORT = {"succeeded": "", "failed": ":fail", "started": ":start", "finished": ":finish"}


class OutputConflictError(GraphSyntaxError, ValidationError):
    """Uses of a task output that Cylc's rules for required and optional outputs refuse.

    Both a :class:`GraphSyntaxError` (as graph strings report it) and a
    :class:`ValidationError` (as decorator rules report it), so that a
    conflict between uses from either front end is caught either way.
    """


def output_name(text: str, *, task: str | None = None, where: str | None = None) -> str:
    """The canonical name of an output qualifier (``fail`` -> ``failed``), or a clear error."""
    try:
        return OUTPUT_ALIASES[text]
    except KeyError:
        on = f" on {task}" if task else ""
        at = f" in {where}" if where else ""
        raise GraphSyntaxError(
            f"unknown output :{text}{on} (unknown output {text!r}: custom outputs are not "
            f"supported){at}",
            task=task,
            fix="use one of :succeeded, :failed, :started, :finish (or :succeed, :fail, :start)",
        ) from None


def check_finish(
    task: str, output: str, optional: bool, where: str | None = None, *, family: bool = False
) -> None:
    """Refuse ``:finish?``: ``:finish`` already makes succeeded and failed optional.

    ``output`` is ``finished`` or, for a family (``family=True``), a qualifier
    such as ``finish-all``.
    """
    if not optional or not (output == "finished" or output.startswith("finish")):
        return
    spelled = "finish" if output == "finished" else output
    whose = "the members' " if family else ""
    raise GraphSyntaxError(
        f"{'family ' if family else ''}pseudo-output {task}:{spelled} can't be optional"
        + (f" in {where}" if where else ""),
        task=task,
        fix=f"drop the '?' (or optional=True): {task}:{spelled} already makes "
        f"{whose}succeeded and failed optional",
    )


@dataclass
class _Use:
    """What the uses of one output so far say about it."""

    optional: bool  # as settled; until a plain use fixes it, the family default
    default: bool  # what family triggers default it to (the first use, if plain)
    fixed: bool  # a plain use (not a family trigger) has settled it
    where: str  # the use that settled it (or the first family trigger)
    default_where: str  # the first use


def _req(optional: bool) -> str:
    return "optional" if optional else "required"


class Outputs:
    """Which outputs of which tasks are required or optional, from every use reported.

    :meth:`use` checks each use against the earlier ones as it arrives, as Cylc
    does, and raises :class:`OutputConflictError` naming both places and the fix.
    """

    def __init__(self) -> None:
        self._uses: dict[tuple[str, str], _Use] = {}
        self._finish: dict[str, str] = {}  # task -> first ':finish' use

    def copy(self) -> Outputs:
        """An independent copy, to check more uses against before keeping them."""
        new = Outputs()
        new._uses = {k: replace(v) for k, v in self._uses.items()}
        new._finish = dict(self._finish)
        return new

    def use(
        self, task: str, output: str, optional: bool, where: str, *, family: bool = False
    ) -> None:
        """Record that ``task:output`` is used (optional when ``optional``) at ``where``.

        ``family`` marks a use through a family trigger (``FAM:fail-any?``): it
        only sets a default, which plain uses of the member override.
        """
        output = output_name(output, task=task, where=where)
        check_finish(task, output, optional, where)
        if output == "finished":
            self._finish.setdefault(task, where)
            for out in ("succeeded", "failed"):
                self.use(task, out, True, where, family=family)
            return
        before = self._uses.get((task, output))
        if before is None:
            self._uses[(task, output)] = _Use(optional, optional, not family, where, where)
        elif before.fixed:
            if not family and optional != before.optional:
                raise OutputConflictError(
                    f"output {task}:{output} is {_req(optional)} in {where} but "
                    f"{_req(before.optional)} in {before.where}; {task}:{output} can't be "
                    "both required and optional",
                    task=task,
                    fix=self._fix(task, output),
                )
        elif family:
            if optional != before.default:
                raise OutputConflictError(
                    f"output {task}:{output} defaults to both required and optional through "
                    f"family triggers: {_req(optional)} in {where} but "
                    f"{_req(before.default)} in {before.default_where}",
                    task=task,
                    fix=f"use '?' alike on every family trigger that covers {task}, or use "
                    f"{task}{_SHORT[output]} directly (with or without '?') to settle it",
                )
        else:
            before.optional, before.fixed, before.where = optional, True, where
        if output in ("succeeded", "failed"):
            self._check_opposites(task, output, where, family)

    def _check_opposites(self, task: str, output: str, where: str, family: bool) -> None:
        """Succeeded and failed, when both are used, must both be optional (Cylc's test)."""
        other = "failed" if output == "succeeded" else "succeeded"
        theirs = self._uses.get((task, other))
        if theirs is None:
            return
        mine = self._uses[(task, output)]
        mine_at = mine.where if family and mine.fixed else where
        if family or not theirs.fixed:
            if not mine.optional or not theirs.default:
                how = " (via family trigger defaults)"
                verb, opt, at = "defaults to", theirs.default, theirs.default_where
            elif not theirs.optional:
                how, verb, opt, at = " (via family trigger)", "is", theirs.optional, theirs.where
            else:
                return
        elif not mine.optional or not theirs.optional:
            how, verb, opt, at = "", "is", theirs.optional, theirs.where
        else:
            return
        raise OutputConflictError(
            f"outputs {task}:succeeded and {task}:failed are both used, so both must be "
            f"optional{how}: {task}:{output} is {_req(mine.optional)} in {mine_at}; "
            f"{task}:{other} {verb} {_req(opt)} in {at}",
            task=task,
            fix=f"make both optional, with '?' in graph strings ({task}? and {task}:fail?) "
            f"and optional=True in @cycle() and on(), or wait for {task}:finish instead",
        )

    def _fix(self, task: str, output: str) -> str:
        finish = (
            " (':finish' makes succeeded and failed optional)"
            if task in self._finish and output in ("succeeded", "failed")
            else ""
        )
        return (
            f"mark {task}:{output} optional everywhere it is used, or nowhere: with '?' in "
            f"graph strings ({task}{_SHORT[output]}?), optional=True in @cycle() and on()" + finish
        )

    def optional(self, task: str, output: str) -> bool:
        """Whether ``task:output`` is optional, as the uses so far settle it."""
        if output == "finished":
            return True
        got = self._uses.get((task, output))
        if got is not None:
            return got.optional
        # Success is required unless succeeded or failed is used: a task used
        # only with ':fail' may succeed or fail.
        return output == "succeeded" and (task, "failed") in self._uses

    def table(self, task: str) -> dict[str, bool]:
        """``task``'s outputs -> True when optional: succeeded, every output used, finished."""
        out = {"succeeded": self.optional(task, "succeeded")}
        for (name, output), got in self._uses.items():
            if name == task:
                out[output] = got.optional
        if task in self._finish:
            out["finished"] = True
        return out
