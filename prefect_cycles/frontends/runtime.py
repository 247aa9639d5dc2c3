"""What a flow.cylc says about run time, beyond the graph: outputs, completion, expiry, queues.

- ``[runtime][foo][[outputs]] out1 = "message"``: custom outputs, which the
  graph may trigger on (``foo:out1 => bar``); a family's outputs go to its
  members. Declared before the graph is read, since the graph checks them.
- ``[runtime][foo]completion = succeeded and (x or y)``: the task's own
  completion expression (:mod:`prefect_cycles.graph.completion`).
- ``[scheduling][[special tasks]]clock-expire = foo(-P1D), FAM``: an instance
  not started by point + offset expires instead of running.
- ``[scheduling][[queues]][[[name]]] limit = 2, members = FAM, foo``: at most
  ``limit`` active instances of the members at once; ``[[[default]]]`` holds
  every other task, with Cylc's limit of 100 unless set.

:func:`read_runtime` reads the first two, :func:`read_run_limits` the others;
:func:`runtime_paths` names what they read, so nothing is reported as ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import CycleError, ValidationError
from ..graph.completion import completion_for
from ..graph.model import Workflow
from .cylcfile import Section, file_error, special_entries, unquote, unquote_list

__all__ = [
    "DEFAULT_QUEUE_LIMIT",
    "apply_run_settings",
    "check_completions",
    "declare_outputs",
    "read_run_limits",
    "read_runtime",
    "runtime_paths",
]

#: Cylc's limit of the default queue (``[scheduling][[queues]][[[default]]]limit``).
DEFAULT_QUEUE_LIMIT = 100

#: Special tasks with no Prefect meaning, and what to write instead.
_REFUSED_SPECIAL = {
    "external-trigger": "wait for the condition with an xtrigger function instead "
    "([[xtriggers]] x = mymod.check(point=%(point)s):PT1M and '@x => foo'), or start the "
    "flow from a Prefect automation on the event",
    "sequential": "write the dependency in the graph: foo[-P1] => foo (one step of the "
    "task's recurrence back)",
}


def _targets(heading: str, families: Mapping[str, Sequence[str]]) -> list[str]:
    """The tasks a ``[runtime]`` heading applies to (a family stands for its members)."""
    out: list[str] = []
    for name in (n.strip() for n in heading.split(",")):
        if name:
            out.extend(families.get(name, [name]))
    return out


def read_runtime(
    root: Section, wf: Workflow, families: Mapping[str, Sequence[str]], source: str
) -> None:
    """Declare custom outputs and completion expressions from ``[runtime]``.

    Families come first, then each task's own section, so a task's own
    entries win over what it inherits.
    """
    runtime = root.sections.get("runtime")
    if runtime is None:
        return
    ordered = sorted(
        runtime.sections.items(),
        key=lambda kv: not any(n.strip() in families for n in kv[0].split(",")),
    )
    for heading, section in ordered:
        targets = _targets(heading, families)
        outputs = section.sections.get("outputs")
        if outputs is not None:
            table = {
                key: unquote(item.value, source, item.line) for key, item in outputs.items.items()
            }
            for task in targets:
                try:
                    wf.declare_outputs(task, table, where=f"[runtime][{heading}][[outputs]]")
                except CycleError as exc:
                    problem, fix = str(exc.args[0]), exc.fix or ""
                    raise file_error(source, outputs.line, problem, fix) from None
        item = section.items.get("completion")
        if item is not None:
            for task in targets:
                wf.set_completion(task, unquote(item.value, source, item.line))


def read_run_limits(
    root: Section,
    wf: Workflow,
    families: Mapping[str, Sequence[str]],
    source: str,
    notices: list[str],
) -> None:
    """Read ``clock-expire`` and ``[[queues]]`` (after the graph: they name its tasks)."""
    scheduling = root.sections["scheduling"]
    special = scheduling.sections.get("special tasks")
    for key, instead in _REFUSED_SPECIAL.items():
        refused = special.items.get(key) if special is not None else None
        if refused is not None:
            raise file_error(
                source,
                refused.line,
                f"[scheduling][[special tasks]]{key} has no meaning in prefect-cycles",
                instead,
            )
    item = special.items.get("clock-expire") if special is not None else None
    if item is not None:
        for entry, name, offset in special_entries(item, source, "clock-expire", "foo(-P1D)"):
            for task in families.get(name, [name]):
                if task not in wf.tasks:
                    notices.append(
                        f"[scheduling][special tasks]clock-expire {entry}: {task} is not in "
                        "the graph, so it has no effect"
                    )
                    continue
                try:
                    wf.add_clock_expire(task, offset)
                except CycleError as exc:
                    raise file_error(
                        source, item.line, f"clock-expire {entry!r}: {exc.args[0]}", exc.fix or ""
                    ) from None
    queues = scheduling.sections.get("queues")
    default_limit = DEFAULT_QUEUE_LIMIT
    declared: list[tuple[str, int, list[str]]] = []
    for name, section in queues.sections.items() if queues is not None else ():
        limit_item = section.items.get("limit")
        limit = DEFAULT_QUEUE_LIMIT if name == "default" else 0
        if limit_item is not None:
            text = unquote(limit_item.value, source, limit_item.line)
            if not text.isdigit():
                raise file_error(
                    source,
                    limit_item.line,
                    f"[scheduling][[queues]][[[{name}]]]limit = {text!r} is not a whole number",
                    "give a limit such as 2 (0 means no limit)",
                )
            limit = int(text)
        if name == "default":
            default_limit = limit
            continue
        members_item = section.items.get("members")
        members: list[str] = []
        for member in unquote_list(members_item.value) if members_item is not None else []:
            if member not in families and member not in wf.tasks:
                notices.append(
                    f"[scheduling][[queues]][[[{name}]]]members: {member} is not in the graph"
                )
                continue
            members.extend(t for t in families.get(member, [member]) if t in wf.tasks)
        declared.append((name, limit, members))
    wf.add_queue("default", default_limit, list(wf.tasks))
    for name, limit, members in declared:
        wf.add_queue(name, limit, members)
    check_completions(wf)


def check_completions(wf: Workflow) -> None:
    """Check every task's own completion expression against the graph, as ``cylc validate``."""
    for task, expr in wf.completion.items():
        if task in wf.tasks:
            completion_for(task, wf.outputs, expr)


def runtime_paths(root: Section) -> set[str]:
    """The ``[a][b]key`` paths :func:`read_runtime` and :func:`read_run_limits` read."""
    used = {"[scheduling][special tasks]clock-expire"}
    runtime = root.sections.get("runtime")
    for heading, section in runtime.sections.items() if runtime is not None else ():
        if "completion" in section.items:
            used.add(f"[runtime][{heading}]completion")
        outputs = section.sections.get("outputs")
        if outputs is not None:
            used.update(p for p, _ in outputs.walk(f"[runtime][{heading}][outputs]"))
    queues = root.sections["scheduling"].sections.get("queues")
    if queues is not None:
        used.update(p for p, _ in queues.walk("[scheduling][queues]"))
    return used


# -- the same settings from Python -------------------------------------------------------


def _name(task: object) -> str:
    from .refs import task_name

    name = task_name(task)
    if not isinstance(name, str):
        raise ValidationError(
            f"{task!r} is not a task or a task name", fix="pass @task objects or their names"
        )
    return name


def declare_outputs(wf: Workflow, outputs: Mapping[str, object] | None) -> None:
    """``cyclic_flow(outputs={"foo": ["out1"]})``: custom outputs by task name."""
    for task, declared in (outputs or {}).items():
        wf.declare_outputs(_name(task), declared, where="cyclic_flow(outputs=...)")


def apply_run_settings(
    wf: Workflow,
    completion: Mapping[str, str] | None = None,
    clock_expire: Mapping[str, object] | None = None,
    queues: Mapping[str, object] | None = None,
) -> None:
    """``cyclic_flow(completion=, clock_expire=, queues=)``, checked against the graph."""
    for task, expr in (completion or {}).items():
        wf.set_completion(_known(wf, _name(task), "completion"), expr)
    for task, offset in (clock_expire or {}).items():
        wf.add_clock_expire(_known(wf, _name(task), "clock_expire"), offset)
    for qname, spec in (queues or {}).items():
        if (
            not isinstance(spec, (tuple, list))
            or len(spec) != 2
            or not isinstance(spec[1], (list, tuple))
        ):
            raise ValidationError(
                f"queue {qname!r} must be (limit, [members]), not {spec!r}",
                fix='write queues={"big": (2, [foo, "bar"])}',
            )
        limit, members = spec
        wf.add_queue(str(qname), limit, [_known(wf, _name(m), f"queue {qname!r}") for m in members])
    check_completions(wf)


def _known(wf: Workflow, task: str, what: str) -> str:
    if task not in wf.tasks:
        raise ValidationError(
            f"{what} names task {task!r}, which is not in the workflow",
            task=task,
            fix=f"use one of: {', '.join(sorted(wf.tasks))}",
        )
    return task
