"""Task outputs: their names, and which are required and which optional.

A task's outputs are ``succeeded``, ``failed``, ``started``, the job outputs
``submitted``, ``submit-failed`` and ``expired``, the pseudo-output
``finished`` (succeeded or failed), and the custom outputs a task declares
(:meth:`Outputs.declare`; flow.cylc's ``[runtime][foo][[outputs]]``). Cylc 8 decides for each
output whether it is *required* (the task is incomplete without it) or
*optional* (written ``?``) from every place the graph uses it, and
:class:`Outputs` applies the same rules to the uses both front ends report:

- every use sets the output's optionality, wherever it is (left or right of
  ``=>``, with or without an offset); ``:start`` without ``?`` makes
  ``started`` required;
- an output is required everywhere or optional everywhere: a use that
  disagrees with an earlier one is an error naming both places;
- if ``succeeded`` and ``failed`` are both used, both must be optional;
- ``:expired`` and ``:submit-failed`` must be optional (``?``); ``submitted``
  and ``submit-failed``, when both used, must both be optional;
- a custom output must be declared for its task before a graph uses it;
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

import re
from dataclasses import dataclass, replace

from ..errors import GraphSyntaxError, ValidationError

#: Canonical task outputs; ``finished`` means succeeded or failed.
OUTPUTS = (
    "succeeded",
    "failed",
    "started",
    "finished",
    "submitted",
    "submit-failed",
    "expired",
)

#: Outputs that can only be optional (Cylc: "foo:expired must be optional").
MUST_BE_OPTIONAL = ("expired", "submit-failed")

#: Pairs of outputs of which at most one can come: both must be optional if both are used.
OPPOSITES = (("succeeded", "failed"), ("submitted", "submit-failed"))

#: What a custom output may be called (as Cylc's task message triggers).
CUSTOM_OUTPUT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

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
    "submitted": "submitted",
    "submit": "submitted",
    "submit-failed": "submit-failed",
    "submit-fail": "submit-failed",
    "expired": "expired",
    "expire": "expired",
}

_SHORT = {
    "succeeded": "",
    "failed": ":fail",
    "started": ":start",
    "finished": ":finish",
    "submitted": ":submit",
    "submit-failed": ":submit-fail",
    "expired": ":expire",
}


def short(output: str) -> str:
    """How a graph string writes ``task:output`` after the task name (``""`` for success)."""
    return _SHORT.get(output, f":{output}")


class OutputConflictError(GraphSyntaxError, ValidationError):
    """Uses of a task output that Cylc's rules for required and optional outputs refuse.

    Both a :class:`GraphSyntaxError` (as graph strings report it) and a
    :class:`ValidationError` (as decorator rules report it), so that a
    conflict between uses from either front end is caught either way.
    """


def output_name(
    text: str, *, task: str | None = None, where: str | None = None, custom: bool = False
) -> str:
    """The canonical name of an output qualifier (``fail`` -> ``failed``), or a clear error.

    With ``custom``, any other well-formed name is taken as a custom output
    (whether the task declares it is :meth:`Outputs.use`'s check).
    """
    got = OUTPUT_ALIASES.get(text)
    if got is not None:
        return got
    if custom and isinstance(text, str) and CUSTOM_OUTPUT.match(text):
        return text
    on = f" on {task}" if task else ""
    at = f" in {where}" if where else ""
    raise GraphSyntaxError(
        f"unknown output :{text}{on} (unknown output {text!r}){at}",
        task=task,
        fix="use one of :succeeded, :failed, :started, :finish, :submitted, :submit-failed, "
        ":expired (or :succeed, :fail, :start, :submit, :submit-fail, :expire), or a custom "
        "output the task declares ([runtime][TASK][[outputs]], @cycle(outputs=[...]))",
    ) from None


def _at(where: str) -> str:
    """`` in WHERE`` for a message, or nothing."""
    return f" in {where}" if where else ""


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
        # task -> output -> its uses so far; indexed by task so that one task's
        # table costs its own outputs, not every use in the graph (linear building).
        self._uses: dict[str, dict[str, _Use]] = {}
        self._finish: dict[str, str] = {}  # task -> first ':finish' use
        self._custom: dict[str, dict[str, str]] = {}  # task -> custom output -> message

    def copy(self) -> Outputs:
        """An independent copy, to check more uses against before keeping them."""
        new = Outputs()
        new._uses = {t: {o: replace(u) for o, u in outs.items()} for t, outs in self._uses.items()}
        new._finish = dict(self._finish)
        new._custom = {k: dict(v) for k, v in self._custom.items()}
        return new

    def declare(self, task: str, outputs: dict[str, str], where: str = "") -> None:
        """Declare ``task``'s custom outputs (name -> message), as ``[[outputs]]`` does."""
        at = f" in {where}" if where else ""
        for name, message in outputs.items():
            if name in OUTPUT_ALIASES or not isinstance(name, str) or not CUSTOM_OUTPUT.match(name):
                raise ValidationError(
                    f"{task!r} declares a custom output {name!r}{at}, which "
                    + (
                        "is the name of a standard output"
                        if name in OUTPUT_ALIASES
                        else "is not a valid output name"
                    ),
                    task=task,
                    fix="name custom outputs with letters, digits, _ and - (not starting with "
                    "a digit), other than succeeded, failed, started, submitted, expired...",
                )
            self._custom.setdefault(task, {})[name] = str(message or name)

    def custom(self, task: str) -> dict[str, str]:
        """``task``'s declared custom outputs: name -> message."""
        return dict(self._custom.get(task, {}))

    def use(
        self, task: str, output: str, optional: bool, where: str, *, family: bool = False
    ) -> None:
        """Record that ``task:output`` is used (optional when ``optional``) at ``where``.

        ``family`` marks a use through a family trigger (``FAM:fail-any?``): it
        only sets a default, which plain uses of the member override.
        """
        output = output_name(output, task=task, where=where, custom=True)
        # ``where`` may quote a line of thousands of tasks: worded only on an error.
        if output not in OUTPUT_ALIASES and output not in self._custom.get(task, {}):
            raise GraphSyntaxError(
                f"unknown output :{output} on {task} (undefined custom output "
                f"{task}:{output}){_at(where)}",
                task=task,
                fix=f'declare it: [runtime][{task}][[outputs]] {output} = "a message" in '
                f"flow.cylc, @cycle(..., outputs=[{output!r}]) on the task, or "
                f"outputs={{{task!r}: [{output!r}]}}; or use a standard output",
            )
        if output in MUST_BE_OPTIONAL and not optional:
            raise OutputConflictError(
                f"output {task}:{output} must be optional{_at(where)}",
                task=task,
                fix=f"write {task}{short(output)}? (optional=True in on()): a task can "
                f"only be {output} instead of running, so Cylc never requires it",
            )
        check_finish(task, output, optional, where)
        if output == "finished":
            self._finish.setdefault(task, where)
            for out in ("succeeded", "failed"):
                self.use(task, out, True, where, family=family)
            return
        mine = self._uses.setdefault(task, {})
        before = mine.get(output)
        if before is None:
            mine[output] = _Use(optional, optional, not family, where, where)
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
                    f"{task}{short(output)} directly (with or without '?') to settle it",
                )
        else:
            before.optional, before.fixed, before.where = optional, True, where
        for pair in OPPOSITES:
            if output in pair:
                other = pair[1] if output == pair[0] else pair[0]
                self._check_opposites(task, output, other, where, family)

    def _check_opposites(
        self, task: str, output: str, other: str, where: str, family: bool
    ) -> None:
        """Opposite outputs (succeeded and failed...), when both are used, must both be
        optional (Cylc's test)."""
        uses = self._uses[task]
        theirs = uses.get(other)
        if theirs is None:
            return
        mine = uses[output]
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
        first, second = sorted((output, other), key=OUTPUTS.index)
        if first == "succeeded":
            fix = (
                f"make both optional, with '?' in graph strings ({task}? and {task}:fail?) "
                f"and optional=True in @cycle() and on(), or wait for {task}:finish instead"
            )
        else:
            fix = (
                f"make both optional, with '?' in graph strings ({task}:submit? and "
                f"{task}:submit-fail?) and optional=True in on()"
            )
        raise OutputConflictError(
            f"outputs {task}:{first} and {task}:{second} are both used, so both must be "
            f"optional{how}: {task}:{output} is {_req(mine.optional)} in {mine_at}; "
            f"{task}:{other} {verb} {_req(opt)} in {at}",
            task=task,
            fix=fix,
        )

    def _fix(self, task: str, output: str) -> str:
        finish = (
            " (':finish' makes succeeded and failed optional)"
            if task in self._finish and output in ("succeeded", "failed")
            else ""
        )
        return (
            f"mark {task}:{output} optional everywhere it is used, or nowhere: with '?' in "
            f"graph strings ({task}{short(output)}?), optional=True in @cycle() and on()" + finish
        )

    def optional(self, task: str, output: str) -> bool:
        """Whether ``task:output`` is optional, as the uses so far settle it."""
        if output == "finished":
            return True
        uses = self._uses.get(task, {})
        got = uses.get(output)
        if got is not None:
            return got.optional
        # Success is required unless succeeded or failed is used: a task used
        # only with ':fail' may succeed or fail.
        return output == "succeeded" and "failed" in uses

    def table(self, task: str) -> dict[str, bool]:
        """``task``'s outputs -> True when optional: succeeded, every output used, finished."""
        out = {"succeeded": self.optional(task, "succeeded")}
        for output, got in self._uses.get(task, {}).items():
            out[output] = got.optional
        if task in self._finish:
            out["finished"] = True
        return out

    def required(self, task: str, output: str) -> bool | None:
        """Cylc's view of one output: True required, False optional, None never used.

        Success is required when neither succeeded nor failed is used, as
        Cylc's ``tweak_outputs`` has it.
        """
        uses = self._uses.get(task, {})
        got = uses.get(output)
        if got is not None:
            return not got.optional
        if output == "succeeded" and "failed" not in uses:
            return True
        return None

    def used(self, task: str) -> list[str]:
        """The outputs of ``task`` that some use names (not ``finished``)."""
        return list(self._uses.get(task, {}))
