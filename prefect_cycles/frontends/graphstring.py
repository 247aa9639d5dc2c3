"""Cylc graph strings, read into the workflow model.

A flow.cylc ``[[graph]]`` section maps a recurrence to a graph string::

    R1 = "prep => foo"
    P1 = "foo[-P1] => foo => bar"

:func:`add_graph` reads such sections into a :class:`~prefect_cycles.graph.model.Workflow`
following Cylc 8's rules, checked against ``cylc validate``: ``=>`` chains;
lines continued by a trailing or leading ``=>``, ``&`` or ``|``; ``&``, ``|``
and parentheses on the left of ``=>`` (``&`` binds tighter), only ``&`` on
the right; nodes ``name[offset]:output?``; family triggers such as
``FAM:succeed-all``; and Cylc's rules for which outputs are required and
which optional (``?``), which :mod:`prefect_cycles.graph.outputs` applies to every
node as it is read. Every mistake is a :class:`GraphSyntaxError` naming
the section, the line and a fix.

Clock xtriggers (``@wall_clock => foo``, or a label declared as
``wall_clock(offset=PT1H)``) become clock triggers on the model, as Cylc runs
them: joined by ``&`` on the left of ``=>``, never in an ``|``. Other
xtrigger functions (``x = mymod.check(...)``) become function xtriggers
(:mod:`prefect_cycles.graph.xtrigger`). Cylc features with no meaning here
are refused with a clear message (inter-workflow triggers). Suicide triggers
``a:fail? => !b`` are kept apart from dependencies (:meth:`Workflow.add_suicide`):
they draw no edge and give ``b`` no sequence, as in Cylc. Task parameters
(``foo<m>``) are expanded before this reads the graph (:mod:`.parameters`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from ..cycling.clock import WALL_CLOCK, parse_call
from ..cycling.points import Cycling
from ..errors import CycleError, GraphSyntaxError
from ..graph.conditions import AllOf, AnyOf, Condition, Offset, Trigger
from ..graph.model import TASK_NAME, Workflow
from ..graph.outputs import Outputs, check_finish
from ..graph.unroll import without_gc
from ..graph.xtrigger import parse_xtrigger
from .refs import WallClock
from .syntax import (
    FAMILY_QUALIFIERS,
    XTRIGGER_LABEL,
    Line,
    Node,
    Parser,
    Tree,
    Where,
    has_or,
    logical_lines,
    nodes_in,
    one_node,
    read_node,
    split_chain,
    split_recurrences,
    task_output,
    tokenize,
    xtrigger_in_conditional,
)

__all__ = ["FAMILY_QUALIFIERS", "add_graph", "from_graph", "parse_node", "read_node"]


# Whitespace between two name-like characters ("foo bar => baz") is a missing
# operator; "b - 1" is allowed by Cylc (it reads as "b-1"), so signs before
# digits lose their surrounding spaces first.


# -- syntax: lines, tokens, expression trees ---------------------------------------


# -- meaning: outputs, families, optionality -----------------------------------------


@dataclass(frozen=True)
class _Ref:
    """A node resolved against the workflow: task or family, output, offset."""

    node: Node
    members: tuple[str, ...]  # the task itself, or a family's member tasks
    family: bool
    output: str  # canonical output; for a family, its qualifier (succeed-all ...)
    offset: Offset | None


def _resolve(
    node: Node,
    cycling: Cycling,
    families: Mapping[str, Sequence[str]],
    where: Where,
    *,
    left: bool,
) -> _Ref:
    """Check a node's name, offset and qualifier; expand a family."""
    offset = None
    if node.offset is not None:
        try:
            offset = Offset.parse(node.offset, cycling, task=node.name)
        except CycleError as exc:
            raise where.error(
                f"bad cycle offset [{node.offset}] on {node.name}",
                exc.fix or "write offsets as [-P1], [+PT6H], [^], [^+P1] or a point",
                task=node.name,
            ) from None
    qual = node.qualifier
    if node.name in families:
        members = tuple(families[node.name])
        if not members:
            raise where.error(
                f"family {node.name!r} has no member tasks",
                f"give it members (inherit = {node.name} under [runtime]) or use a task name",
                task=node.name,
            )
        if qual is None and not left:
            qual = "succeed-all"
        if qual not in FAMILY_QUALIFIERS:
            spelled = node.name if qual is None else f"{node.name}:{qual}"
            fam = node.name
            raise where.error(
                f"illegal family trigger {spelled!r}",
                (
                    f"a family on the left of '=>' needs a family qualifier, e.g. "
                    f"{fam}:succeed-all or {fam}:succeed-any"
                    if left
                    else f"on the right of '=>' write {fam} (every member) or a family "
                    f"qualifier, e.g. {fam}:fail-any?"
                )
                + " (qualifiers: succeed-, fail-, finish-, start- with -all or -any)",
                task=fam,
            )
        check_finish(node.name, qual, node.optional, where.place(), family=True)
        return _Ref(node, members, True, qual, offset)
    return _Ref(node, (node.name,), False, task_output(node, where), offset)


@dataclass
class _Pair:
    """``left => right`` in one section (``left`` None for a lone node)."""

    recurrence: str
    left: Tree | None
    left_refs: dict[Node, _Ref]
    right: _Ref
    line: Line


@dataclass
class _Reader:
    """Reads sections into pairs, checking them, before the model is touched.

    Output uses go to ``outputs``, a copy of the workflow's, which
    :meth:`build` makes the workflow's once everything has been checked.
    """

    workflow: Workflow
    families: Mapping[str, Sequence[str]]
    notices: list[str]
    outputs: Outputs
    pairs: list[_Pair] = field(default_factory=list)
    #: ``left => !target`` pairs: suicide triggers, which remove the target's instance
    suicides: list[_Pair] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)
    #: task -> where it first appears: "a[-P1] in graph section 'P1', line 2"
    mentioned: dict[str, str] = field(default_factory=dict)
    #: declared xtrigger label -> its declaration (read when the graph uses it, as Cylc does)
    xtriggers: Mapping[str, str | WallClock] = field(default_factory=dict)
    #: xtrigger label -> clock offset, for each one used on the left of '=>'
    clocks: dict[str, str] = field(default_factory=dict)
    #: xtrigger label -> declaration, for function xtriggers (run by run/xtriggers.py)
    functions: dict[str, str] = field(default_factory=dict)

    def clock(self, node: Node, where: Where, task: str | None) -> None:
        """Check an ``@xtrigger`` on the left of ``=>`` (holding ``task``): a wall clock,
        in date-time cycling."""
        label = node.name
        declared = self.xtriggers.get(label, WallClock() if label == WALL_CLOCK else None)
        if declared is None:
            raise where.error(
                f"xtrigger {node} is not defined",
                f"declare it under [scheduling][[xtriggers]], e.g. {label} = "
                "wall_clock(offset=PT1H), or use @wall_clock (no offset, needs no declaration)",
                task=task,
            )
        offset: str | None
        if isinstance(declared, WallClock):
            offset = declared.offset
        else:
            try:
                _, offset = parse_call(declared, label=label)
            except CycleError as exc:
                raise where.error(_message(exc), exc.fix or "", task=task) from None
        if offset is None:  # a function xtrigger: checked now, called by run/xtriggers.py
            try:
                parse_xtrigger(str(declared), label=label)
            except CycleError as exc:
                raise where.error(_message(exc), exc.fix or "", task=task) from None
            self.functions[label] = str(declared)
            return
        if self.workflow.cycling.mode != "datetime":
            raise where.error(
                f"clock xtrigger {node} needs date-time cycling (integer points are not times)",
                "use date-time cycling (an initial cycle point such as 20200101T00Z), or drop it",
                task=task,
            )
        self.clocks[label] = offset

    def resolve(self, node: Node, where: Where, *, left: bool) -> _Ref:
        return _resolve(node, self.workflow.cycling, self.families, where, left=left)

    def mark(self, ref: _Ref, where: Where) -> None:
        """Record outputs of a node seen in a right-hand (or lone) position."""
        output = FAMILY_QUALIFIERS[ref.output][0] if ref.family else ref.output
        for m in ref.members:
            self.outputs.use(m, output, ref.node.optional, where.place(), family=ref.family)
        for m in ref.members:
            if m not in self.mentioned:
                line = f", line {where.line.number}" if where.line else ""
                self.mentioned[m] = f"{ref.node} in {where.label}{line}"
            if ref.offset is None:
                self.declared.add(m)

    def read_section(self, recurrence: str, graph: str) -> None:
        where = Where(f"graph section {recurrence!r}")
        left_texts: set[str] = set()
        offset_rights: list[tuple[_Pair, bool]] = []
        for line in logical_lines(graph, where):
            where.line = line
            elements = [
                Parser(part, where).parse()
                for part in split_chain(tokenize(line.compact, where), where)
            ]
            for i, tree in enumerate(elements):
                if i > 0 and has_or(tree):
                    raise where.error(
                        "'|' on the right of '=>'",
                        "only '&' may join tasks on the right: write 'a => b & c' to "
                        "trigger both, or put the choice on the left: 'b | c => d'",
                    )
                x = xtrigger_in_conditional(tree)
                if x is not None:
                    after = elements[i + 1] if i + 1 < len(elements) else None
                    raise where.error(
                        f"xtrigger {x} in a conditional ('|') expression",
                        "Cylc allows xtriggers only joined by '&': write e.g. "
                        f"'{x} & (a | b) => c'",
                        task=next((n.name for n in nodes_in(after)), None) if after else None,
                    )
                if i < len(elements) - 1:
                    left_texts.update(str(n) for n in nodes_in(tree))
                    held = next((n.name for n in nodes_in(elements[i + 1]) if not n.xtrigger), None)
                    for n in nodes_in(tree):
                        if n.xtrigger:
                            self.clock(n, where, held)
            for i, tree in enumerate(elements):
                bang = next((n for n in nodes_in(tree) if n.suicide), None)
                if bang is not None and (i < len(elements) - 1 or len(elements) == 1):
                    raise where.error(
                        f"suicide mark '!' not on the right of '=>' ({bang})",
                        f"'!' marks a task to remove: write 'a:fail? => {bang}' "
                        "(only on the right, at the end of a chain)",
                        task=bang.name,
                    )
            # Lone nodes: every node of the first element, as in Cylc.
            refs0 = {
                n: self.resolve(n, where, left=False)
                for n in nodes_in(elements[0])
                if not n.xtrigger
            }
            for ref in refs0.values():
                self.mark(ref, where)
                self.pairs.append(_Pair(recurrence, None, {}, ref, line))
            if len(elements) == 1 and any(n.xtrigger for n in nodes_in(elements[0])):
                self.notices.append(
                    f"graph section {recurrence!r} line {line.number}: an xtrigger with no "
                    f"'=>' after it holds no task back, as in Cylc ({line.text})"
                )
            last = elements[-1]
            for left, right in pairwise(elements):
                left_refs = {
                    n: self.resolve(n, where, left=True) for n in nodes_in(left) if not n.xtrigger
                }
                for rnode in nodes_in(right):
                    if rnode.xtrigger:
                        raise where.error(
                            f"xtrigger {rnode} on the right of '=>'",
                            "xtriggers can only be prerequisites: put them on the left",
                        )
                    ref = self.resolve(rnode, where, left=False)
                    if rnode.suicide:
                        # Cylc: no output use, no sequence for the target, no edge drawn
                        self.suicides.append(_Pair(recurrence, left, left_refs, ref, line))
                        continue
                    self.mark(ref, where)
                    pair = _Pair(recurrence, left, left_refs, ref, line)
                    if ref.offset is not None:
                        offset_rights.append((pair, right is last))
                        continue
                    self._check_self_edge(pair, where)
                    self.pairs.append(pair)
        for pair, at_end in offset_rights:
            where.line = pair.line
            text = str(pair.right.node)
            if at_end and text not in left_texts:
                raise where.error(
                    f"cycle offset only on the right of '=>': {pair.left} => {text}",
                    "put the offset on the left, e.g. write 'a => b[-P1]' as "
                    "'a[+P1] => b', or use the node with its offset as a prerequisite",
                    task=pair.right.node.name,
                )
            self.notices.append(
                f"graph section {recurrence!r} line {pair.line.number}: "
                f"'{pair.left} => {text}' is ignored, as in Cylc: a node with an offset "
                "on the right of '=>' gets no prerequisites"
            )

    def _check_self_edge(self, pair: _Pair, where: Where) -> None:
        for target in pair.right.members:
            for ref in pair.left_refs.values():
                if ref.offset is None and target in ref.members:
                    raise where.error(
                        f"task {target!r} depends on itself at the same point "
                        f"({pair.left} => {pair.right.node})",
                        f"give the prerequisite an offset, e.g. {target}[-P1] => {target}",
                        task=target,
                    )

    def condition(self, tree: Tree, refs: dict[Node, _Ref], target: str) -> Condition | None:
        """The model condition for a left expression (None if only xtriggers)."""
        if isinstance(tree, Node):
            if tree.xtrigger:
                return None  # a clock trigger: see build()
            ref = refs[tree]
            if not ref.family:
                return self._trigger(ref.node.name, ref)
            member_output, all_ = FAMILY_QUALIFIERS[ref.output]
            terms = tuple(self._trigger(m, ref, member_output) for m in ref.members)
            if len(terms) == 1:
                return terms[0]
            return AllOf(terms) if all_ else AnyOf(terms)
        kept = [c for c in (self.condition(t, refs, target) for t in tree.terms) if c]
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        cls = AllOf if tree.op == "&" else AnyOf
        flat: list[Condition] = []
        for c in kept:
            flat.extend(c.terms if isinstance(c, cls) else (c,))
        return cls(tuple(flat))

    def _trigger(self, task: str, ref: _Ref, output: str | None = None) -> Trigger:
        out = output or ref.output
        return Trigger(task, ref.offset, out, ref.node.optional)

    def build(self) -> None:
        """Add the checked pairs (and output uses) to the workflow."""
        wf = self.workflow
        wf.adopt_outputs(self.outputs)
        seen: set[tuple[str, str, Condition]] = set()
        for pair in self.pairs:
            right = pair.right
            if pair.left is None:
                if right.offset is None:
                    for m in right.members:
                        wf.add_task(m, pair.recurrence)
                continue
            for target in right.members:
                for node in nodes_in(pair.left):
                    if node.xtrigger and node.name in self.functions:
                        wf.add_xtrigger(
                            target, pair.recurrence, node.name, self.functions[node.name]
                        )
                    elif node.xtrigger:
                        wf.add_clock_trigger(
                            target, pair.recurrence, self.clocks[node.name], label=node.name
                        )
                cond = wf.settle(self.condition(pair.left, pair.left_refs, target))
                if cond is None:
                    wf.add_task(target, pair.recurrence)
                    continue
                key = (pair.recurrence, target, cond)
                if key in seen:
                    continue
                seen.add(key)
                wf.add_dependency(
                    pair.recurrence,
                    target,
                    cond,
                    source=f"{pair.left} => {right.node}",
                    record_outputs=False,
                )
        for pair in self.suicides:
            assert pair.left is not None  # a suicide always has a left side
            for target in pair.right.members:
                cond = wf.settle(self.condition(pair.left, pair.left_refs, target))
                if cond is not None:
                    wf.add_suicide(pair.recurrence, target, cond, f"{pair.left} => !{target}")
        for task in self.mentioned:
            wf.add_task(task)


# -- public API ---------------------------------------------------------------------


def parse_node(text: str, cycling: Cycling, *, task: str | None = None) -> Trigger:
    """Read one prerequisite node, ``name[offset]:output?``, into a :class:`Trigger`.

    ``task`` names the dependent task, for messages. Family qualifiers,
    xtriggers and operators are graph-level and refused here. Optionality is
    as written (``:finish`` is always optional); whether it agrees with the
    rest of a graph is for :func:`add_graph` to check.
    """
    node, where = one_node(text, task)
    if node.suicide:
        raise where.error(
            f"a suicide trigger target ({text}) is not a prerequisite",
            "write suicide triggers in a graph string: 'a:fail? => !b'",
            task=node.name,
        )
    ref = _resolve(node, cycling, {}, where, left=True)
    # ':finish' can't take '?' but makes succeeded and failed optional, as in add_graph
    return Trigger(node.name, ref.offset, ref.output, node.optional or ref.output == "finished")


def add_graph(
    workflow: Workflow,
    graph: Mapping[str, str],
    families: Mapping[str, Sequence[str]] | None = None,
    *,
    notices: list[str] | None = None,
    xtriggers: Mapping[str, str | WallClock] | None = None,
) -> Workflow:
    """Add flow.cylc ``[[graph]]`` sections (recurrence -> graph string) to ``workflow``.

    ``families`` maps a family name to its member tasks, for family triggers
    (``FAM:succeed-all => x``, ``x => FAM``). ``xtriggers`` declares the
    labels ``@label`` names, as ``[scheduling][[xtriggers]]`` does:
    ``{"clock_1": "wall_clock(offset=PT1H)"}`` or ``{"clock_1": wall_clock("PT1H")}``
    (``@wall_clock`` needs no declaration). ``notices`` collects what was
    read but has no effect here (edges Cylc ignores). Everything is checked
    before the workflow is changed; returns ``workflow``.
    """
    if not isinstance(graph, Mapping):
        raise GraphSyntaxError(
            f"the graph must map recurrences to graph strings, not {type(graph).__name__}",
            fix='pass e.g. {"R1": "prep => foo", "P1": "foo[-P1] => foo"}',
        )
    fams: dict[str, list[str]] = {}
    for fam, members in (families or {}).items():
        if (
            not isinstance(fam, str)
            or isinstance(members, str)
            or not isinstance(members, Sequence)
        ):
            raise GraphSyntaxError(
                f"family {fam!r} must map to a list of task names",
                fix='pass e.g. families={"FAM": ["m1", "m2"]}',
            )
        for m in members:
            if not isinstance(m, str) or not TASK_NAME.match(m):
                raise GraphSyntaxError(
                    f"{m!r} is not a valid task name",
                    task=m,
                    text=fam,
                    fix="use letters, digits and _ (also + % @ - after the first character)",
                )
        fams[fam] = list(dict.fromkeys(members))
    out: list[str] = []
    reader = _Reader(workflow, fams, out, workflow.outputs.copy(), xtriggers=_declared(xtriggers))
    for key, text in graph.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise GraphSyntaxError(
                f"graph section {key!r} must map a recurrence (text) to a graph string (text)",
                fix='write it like {"P1": "foo[-P1] => foo"}',
            )
        for recurrence in split_recurrences(key):
            if not recurrence:
                raise GraphSyntaxError(
                    f"empty recurrence in graph section {key!r}",
                    text=key,
                    fix="remove the stray comma",
                )
            workflow.sequence(recurrence)
            reader.read_section(recurrence, text)
    orphans = [
        t
        for t in reader.mentioned
        if t not in reader.declared and not (t in workflow.tasks and workflow.tasks[t].recurrences)
    ]
    if orphans:
        task = orphans[0]
        raise GraphSyntaxError(
            f"task {task!r} only appears with a cycle offset ({reader.mentioned[task]}), "
            "so it has no cycle points of its own",
            task=task,
            fix=f'add it to a graph section without an offset, e.g. P1 = "{task}" '
            f"or '{task}[-P1] => {task}'",
        )
    clash = sorted(set(reader.xtriggers) & (set(reader.mentioned) | set(workflow.tasks)))
    if clash:
        raise GraphSyntaxError(
            f"task and @xtrigger names clash: {', '.join(clash)}",
            task=clash[0],
            fix="rename the xtrigger (or the task): the two share one namespace in Cylc",
        )
    reader.build()
    if notices is not None:
        notices.extend(out)
    return workflow


def _message(exc: CycleError) -> str:
    message = str(exc.args[0])
    return message.removesuffix(f". Fix: {exc.fix}") if exc.fix else message


def _declared(xtriggers: Mapping[str, str | WallClock] | None) -> dict[str, str | WallClock]:
    """Declared xtriggers with their labels and types checked (declarations are read on use)."""
    out: dict[str, str | WallClock] = {}
    if xtriggers is None:
        return out
    if not isinstance(xtriggers, Mapping):
        raise GraphSyntaxError(
            f"xtriggers must map labels to declarations, not {type(xtriggers).__name__}",
            fix='pass e.g. xtriggers={"clock_1": "wall_clock(offset=PT1H)"}',
        )
    for label, value in xtriggers.items():
        if (
            not isinstance(label, str)
            or not XTRIGGER_LABEL.match(label)
            or label.startswith("_cylc")
        ):
            raise GraphSyntaxError(
                f"invalid xtrigger name {label!r}",
                text=str(label),
                fix="use letters, digits and _ only, not starting with _cylc",
            )
        if isinstance(value, (WallClock, str)):
            out[label] = value
        else:
            raise GraphSyntaxError(
                f"xtrigger {label} must be declared as text or wall_clock(...), not {value!r}",
                text=label,
                fix=f'write e.g. {label}="wall_clock(offset=PT1H)"',
            )
    return out


@without_gc
def from_graph(
    graph: Mapping[str, str],
    initial: object,
    final: object = None,
    *,
    runahead: str = "P4",
    time_zone: str | None = None,
    name: str = "cyclic-workflow",
    families: Mapping[str, Sequence[str]] | None = None,
    notices: list[str] | None = None,
    xtriggers: Mapping[str, str | WallClock] | None = None,
) -> Workflow:
    """A new workflow from graph sections; the initial point picks the cycling mode."""
    wf = Workflow.create(initial, final, time_zone=time_zone, runahead=runahead, name=name)
    add_graph(wf, graph, families, notices=notices, xtriggers=xtriggers)
    if not wf.tasks:
        raise GraphSyntaxError(
            f"the graph of {name!r} has no tasks: "
            + ("it has no sections" if not graph else "every section is empty"),
            fix='give at least one task, e.g. {"P1": "foo[-P1] => foo"}',
        )
    return wf
