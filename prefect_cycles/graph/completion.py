"""Completion: which outputs a task instance must reach to be done, as Cylc 8 decides it.

A finished instance is *complete* when its outputs satisfy its completion
expression; an incomplete one blocks the workflow (it is reported as failed)
however it ended. Cylc derives the expression from the graph's required and
optional outputs (``get_completion_expression`` in ``cylc/flow/task_outputs.py``):

1. every required output, joined by ``and``;
2. if success or failure is optional: ``(required and succeeded) or failed``
   (or plain ``succeeded or failed``);
3. if submission is optional: ``or submit_failed``;
4. if expiry is optional: ``or expired``.

A task may give its own (flow.cylc ``[runtime][foo]completion = succeeded and
(x or y)``, ``@cycle(..., completion=...)``); it must agree with the graph:
an output optional in the graph can't be required by the expression, a
required one must be referenced and can't be optional there, and a graph's
``:expired?``/``:submit-failed?`` must be allowed by it. Names are written
with ``_`` for ``-`` (``submit_failed``); ``finished`` can't be used. Nothing
here knows of Prefect.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from ..errors import ValidationError
from .outputs import OUTPUT_ALIASES, Outputs

__all__ = ["Completion", "completion_for", "default_expression"]

#: The standard outputs a completion expression may name (as variables).
STANDARD = ("expired", "submitted", "submit-failed", "started", "succeeded", "failed")

_ALLOWED = (ast.Expression, ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or)


def variable(output: str) -> str:
    """An output as a completion expression names it: ``submit-failed`` -> ``submit_failed``."""
    return output.replace("-", "_")


def default_expression(task: str, outputs: Outputs) -> str:
    """Cylc's completion expression for ``task`` from the graph's uses of its outputs."""
    required = sorted(
        variable(o) for o in outputs.used(task) if outputs.required(task, o) and o != "finished"
    )
    if outputs.required(task, "succeeded") and "succeeded" not in required:
        required = sorted({*required, "succeeded"})
    parts: list[str] = []
    if required:
        joined = " and ".join(required)
        parts.append(f"({joined})" if len(required) > 1 else joined)
    if outputs.required(task, "succeeded") is False or outputs.required(task, "failed") is False:
        if required:
            parts = [f"({parts[0]} and succeeded) or failed"]
        else:
            parts.append("succeeded or failed")
    if (
        outputs.required(task, "submitted") is False
        or outputs.required(task, "submit-failed") is False
    ):
        parts.append("submit_failed")
    if outputs.required(task, "expired") is False:
        parts.append("expired")
    return " or ".join(parts)


def _parse(task: str, expr: str) -> ast.Expression:
    where = f"[runtime][{task}]completion = {expr}"
    if "submit-failed" in expr:
        raise ValidationError(
            f"{where}: write submit_failed, not submit-failed, in completion expressions",
            task=task,
            fix="replace the hyphen with an underscore",
        )
    if "-" in expr:
        raise ValidationError(
            f"{where}: outputs with '-' are written with '_' in completion expressions",
            task=task,
            fix="replace hyphens with underscores in output names",
        )
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise ValidationError(
            f"{where} is not a valid expression",
            task=task,
            fix="join output names with 'and', 'or' and parentheses, e.g. succeeded and (x or y)",
        ) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValidationError(
                f"{where} uses {type(node).__name__}, which completion expressions don't allow",
                task=task,
                fix="use only output names, 'and', 'or' and parentheses",
            )
    return tree


def _eval(node: ast.AST, values: Mapping[str, bool]) -> bool:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.Name):
        return values[node.id]
    assert isinstance(node, ast.BoolOp)
    results = (_eval(v, values) for v in node.values)
    return all(results) if isinstance(node.op, ast.And) else any(results)


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


@dataclass(frozen=True)
class Completion:
    """One task's completion expression, ready to judge a finished instance's outputs."""

    task: str
    expression: str
    tree: ast.Expression
    variables: frozenset[str]

    def complete(self, reached: Collection[str]) -> bool:
        """Whether an instance that reached ``reached`` (output names) is complete."""
        got = {variable(o) for o in reached}
        return _eval(self.tree, {v: v in got for v in self.variables})

    def __str__(self) -> str:
        return self.expression


def completion_for(task: str, outputs: Outputs, expression: str | None = None) -> Completion:
    """``task``'s completion: ``expression`` checked against the graph, or Cylc's default."""
    custom = outputs.custom(task)
    known = {variable(o) for o in (*STANDARD, *custom)}
    if not expression or not expression.strip():
        text = default_expression(task, outputs)
        tree = _parse(task, text)
        return Completion(task, text, tree, frozenset(known | _names(tree)))
    tree = _parse(task, expression)
    where = f"[runtime][{task}]completion = {expression}"
    for name in sorted(_names(tree) - known):
        if name == "finished" or OUTPUT_ALIASES.get(name) == "finished":
            raise ValidationError(
                f"{where}: the finished output can't be used in completion expressions",
                task=task,
                fix="write (succeeded or failed) instead",
            )
        alias = OUTPUT_ALIASES.get(name.replace("_", "-"))
        if alias is not None:
            raise ValidationError(
                f"{where}: write {variable(alias)!r}, not {name!r}, in completion expressions",
                task=task,
                fix=f"use the full output name {variable(alias)}",
            )
        raise ValidationError(
            f"{where}: {name!r} is not an output of {task}",
            task=task,
            fix=f'declare it ([runtime][{task}][[outputs]] {name} = "a message", or '
            f"@cycle(..., outputs=[{name!r}])), or use one of: {', '.join(sorted(known))}",
        )
    comp = Completion(task, expression.strip(), tree, frozenset(known))
    _check_against_graph(comp, outputs)
    return comp


def _expression_optional(comp: Completion) -> dict[str, bool]:
    """For each variable the expression names: True when it is optional there (Cylc's test:
    the expression still holds with that output missing, expiry and submit-failure off)."""
    out = {}
    for name in _names(comp.tree):
        values = {v: v != name for v in comp.variables}
        values["expired"] = values["submit_failed"] = False
        out[name] = _eval(comp.tree, values)
    return out


def _check_against_graph(comp: Completion, outputs: Outputs) -> None:
    """Cylc's consistency rules between the graph's ``?`` and a user's completion."""
    task, expr = comp.task, comp.expression
    graph: dict[str, bool | None] = {}
    for out in (*STANDARD, *outputs.custom(task)):
        req = outputs.required(task, out)
        graph[variable(out)] = None if req is None else not req  # True = optional
    if graph["succeeded"] is True and graph["failed"] is None:
        graph["failed"] = True  # failure is implicitly optional when success is
    in_expr = _expression_optional(comp)
    pre = {"submit_failed", "expired"}
    for var in sorted(set(graph) | set(in_expr)):
        g, e = graph.get(var), in_expr.get(var)
        name = f"{task}:{var.replace('_', '-')}"
        if g is True and e is False:
            problem = f"{name} is optional in the graph (?), but required in the completion"
        elif g is False and e is None:
            problem = f"{name} is required in the graph, but not referenced in the completion"
        elif g is True and e is None and var in pre:
            problem = (
                f"{name} is permitted in the graph but the completion does not allow it; "
                f"try completion = {expr} or {var}"
            )
        elif g is False and e is True and var not in pre:
            problem = f"{name} is required in the graph, but optional in the completion"
        else:
            continue
        raise ValidationError(
            f"{problem} expression ({expr})",
            task=task,
            fix="make the graph's '?' and the completion expression agree (an output the "
            "expression needs must be required in the graph, one it may go without optional)",
        )
