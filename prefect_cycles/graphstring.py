"""Cylc graph strings, read into the workflow model.

A flow.cylc ``[[graph]]`` section maps a recurrence to a graph string::

    R1 = "prep => foo"
    P1 = "foo[-P1] => foo => bar"

:func:`add_graph` reads such sections into a :class:`~prefect_cycles.model.Workflow`
following Cylc 8's rules, checked against ``cylc validate``: ``=>`` chains;
lines continued by a trailing or leading ``=>``, ``&`` or ``|``; ``&``, ``|``
and parentheses on the left of ``=>`` (``&`` binds tighter), only ``&`` on
the right; nodes ``name[offset]:output?``; family triggers such as
``FAM:succeed-all``; and Cylc's rules for which outputs are required and
which optional (``?``), which :mod:`prefect_cycles.outputs` applies to every
node as it is read. Every mistake is a :class:`GraphSyntaxError` naming
the section, the line and a fix.

Clock xtriggers (``@wall_clock => foo``, or a label declared as
``wall_clock(offset=PT1H)``) become clock triggers on the model, as Cylc runs
them: joined by ``&`` on the left of ``=>``, never in an ``|``. Cylc features
with no meaning here are refused with a clear message (suicide triggers
``!foo``, parameters ``foo<m>``, inter-workflow triggers, custom outputs,
xtrigger functions other than ``wall_clock``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TypeAlias

from .clock import WALL_CLOCK, WallClock, parse_call
from .errors import CycleError, GraphSyntaxError
from .model import (
    TASK_NAME,
    AllOf,
    AnyOf,
    Condition,
    Offset,
    Trigger,
    Workflow,
)
from .outputs import Outputs, check_finish, output_name
from .points import Cycling

__all__ = ["FAMILY_QUALIFIERS", "add_graph", "from_graph", "parse_node", "read_node"]

#: Family qualifier -> (member output, True for "all members", False for "any").
FAMILY_QUALIFIERS: dict[str, tuple[str, bool]] = {
    "succeed-all": ("succeeded", True),
    "succeed-any": ("succeeded", False),
    "fail-all": ("failed", True),
    "fail-any": ("failed", False),
    "finish-all": ("finished", True),
    "finish-any": ("finished", False),
    "start-all": ("started", True),
    "start-any": ("started", False),
}

#: Cylc qualifiers that exist but have no meaning in prefect-cycles.
_UNSUPPORTED_OUTPUTS = {
    "submit",
    "submitted",
    "submit-fail",
    "submit-failed",
    "expire",
    "expired",
    "submit-all",
    "submit-any",
    "submit-fail-all",
    "submit-fail-any",
    "expire-all",
    "expire-any",
}

_OUTPUT_HELP = "use :succeeded, :failed, :started or :finish (or :succeed, :fail, :start)"
_NODE_FORMAT = "write nodes as NAME[OFFSET]:OUTPUT? e.g. foo, foo[-P1], foo:fail?, foo[-P1]:finish"
_CONTINUATIONS = ("=>", "&", "|")
_XTRIGGER_LABEL = re.compile(r"^[A-Za-z0-9_]+$")
_MAX_DEPTH = 100

# Whitespace between two name-like characters ("foo bar => baz") is a missing
# operator; "b - 1" is allowed by Cylc (it reads as "b-1"), so signs before
# digits lose their surrounding spaces first.
_SIGNED_DIGIT = re.compile(r"\s*([+-])\s*(?=\d)")
_BAD_SPACE = re.compile(r"[\w%@+\-]\s+[\w%@+\-]")
_TOKEN = re.compile(
    r"(?P<arrow>=>)|(?P<op>[&|])|(?P<lpar>\()|(?P<rpar>\))"
    r"|(?P<node>[!@]?[\w+%@-]+(?:\[[^\[\]]*\])?(?::[\w-]*)?\??)"
)
_NODE = re.compile(
    r"^(?P<mark>[!@]?)(?P<name>[\w+%@-]+)(?:\[(?P<offset>[^\[\]]*)\])?"
    r"(?::(?P<qual>[\w-]*))?(?P<opt>\??)$"
)


# -- syntax: lines, tokens, expression trees ---------------------------------------


@dataclass(frozen=True)
class _Node:
    """One node as written: ``name[offset]:qualifier?`` (or ``@xtrigger``)."""

    name: str
    offset: str | None
    qualifier: str | None
    optional: bool
    xtrigger: bool = False

    def __str__(self) -> str:
        if self.xtrigger:
            return "@" + self.name
        s = self.name
        if self.offset is not None:
            s += f"[{self.offset}]"
        if self.qualifier is not None:
            s += f":{self.qualifier}"
        return s + ("?" if self.optional else "")


@dataclass(frozen=True)
class _Op:
    """``&`` or ``|`` over two or more terms."""

    op: str
    terms: tuple[_Tree, ...]

    def __str__(self) -> str:
        return f" {self.op} ".join(f"({t})" if isinstance(t, _Op) else str(t) for t in self.terms)


_Tree: TypeAlias = "_Node | _Op"


@dataclass
class _Line:
    """A logical graph line: physical lines joined at continuations."""

    number: int
    text: str  # as written, comments removed, whitespace collapsed
    compact: str  # whitespace removed


@dataclass
class _Where:
    """Where in the graph we are, for messages."""

    label: str  # "graph section 'P1'"
    line: _Line | None = None

    def error(self, problem: str, fix: str, *, task: str | None = None) -> GraphSyntaxError:
        where = self.label
        if self.line is not None:
            where += f", line {self.line.number}"
        return GraphSyntaxError(
            f"{problem} in {where}",
            task=task,
            text=self.line.text if self.line is not None else None,
            fix=fix,
        )

    def place(self) -> str:
        """Where we are, with the line as written, to name a use of an output."""
        if self.line is None:
            return self.label
        return f"{self.label}, line {self.line.number} ({self.line.text!r})"


def _logical_lines(graph: str, where: _Where) -> list[_Line]:
    """Strip comments and blanks and join continued lines, as Cylc does."""
    physical: list[tuple[int, str, str]] = []
    for number, raw in enumerate(graph.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        text = " ".join(line.split())
        where.line = _Line(number, text, text)
        probe = _SIGNED_DIGIT.sub(r"\1", line)
        m = _BAD_SPACE.search(probe)
        if m:
            raise where.error(
                f"missing operator between names in {m.group(0).strip()!r}",
                "join tasks with '=>', '&' or '|'; a task name has no spaces",
            )
        physical.append((number, text, re.sub(r"\s+", "", line)))

    lines: list[_Line] = []
    part: list[tuple[int, str, str]] = []
    for i, (number, text, compact) in enumerate(physical):
        nxt = physical[i + 1][2] if i + 1 < len(physical) else ""
        where.line = _Line(number, text, compact)
        if i == 0 and compact.startswith(_CONTINUATIONS):
            raise where.error(
                "the graph starts with an operator",
                "remove the leading operator or put a task before it",
            )
        if not nxt and compact.endswith(_CONTINUATIONS):
            raise where.error(
                "the graph ends with a dangling operator",
                "remove the trailing operator or add the task it leads to",
            )
        if compact.endswith(_CONTINUATIONS) and nxt.startswith(_CONTINUATIONS):
            raise where.error(
                "consecutive lines end and start with an operator",
                "keep the operator at the end of the first line or the start of the next, not both",
            )
        part.append((number, text, compact))
        if compact.endswith(_CONTINUATIONS) or nxt.startswith(_CONTINUATIONS):
            continue
        lines.append(_Line(part[0][0], " ".join(p[1] for p in part), "".join(p[2] for p in part)))
        part = []
    return lines


def _tokens(compact: str, where: _Where) -> list[tuple[str, str]]:
    """Split a whitespace-free line into (kind, text) tokens."""
    for bad, good in (("&&", "&"), ("||", "|")):
        if bad in compact:
            raise where.error(f"{bad!r} is not a graph operator", f"use a single {good!r}")
    if "<" in compact:
        if "::" in compact:
            raise where.error(
                "inter-workflow triggers (task<workflow::task>) are not supported",
                "run the other workflow's task as a task of this workflow, or drop it",
            )
        raise where.error(
            "task parameters (task<param>) are not supported",
            "write the parameterised tasks out by name (foo_1 => foo_2 ...)",
        )
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(compact):
        m = _TOKEN.match(compact, pos)
        if m is None:
            bad = compact[pos]
            raise where.error(
                f"unexpected {bad!r} at {compact[pos : pos + 12]!r}",
                _NODE_FORMAT + ", joined by '=>', '&' or '|'",
            )
        kind = m.lastgroup or "node"
        out.append((kind, m.group(0)))
        pos = m.end()
    return out


def _split_chain(tokens: list[tuple[str, str]], where: _Where) -> list[list[tuple[str, str]]]:
    """Split tokens at each ``=>``; every part must hold something."""
    parts: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok[0] == "arrow":
            parts.append([])
        else:
            parts[-1].append(tok)
    if any(not p for p in parts):
        raise where.error(
            "a '=>' has no task on one side", "put a task on both sides of every '=>'"
        )
    return parts


class _Parser:
    """Precedence parser for one chain element: ``|`` over ``&`` over atoms."""

    def __init__(self, tokens: list[tuple[str, str]], where: _Where) -> None:
        self.tokens = tokens
        self.pos = 0
        self.where = where

    def parse(self) -> _Tree:
        tree = self._or(0)
        if self.pos < len(self.tokens):
            kind, text = self.tokens[self.pos]
            if kind == "rpar":
                raise self._parens()
            raise self.where.error(
                f"missing operator before {text!r}", "join tasks with '=>', '&' or '|'"
            )
        return tree

    def _parens(self) -> GraphSyntaxError:
        return self.where.error("mismatched parentheses", "close every '(' with a ')'")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self, depth: int) -> _Tree:
        terms = [self._and(depth)]
        while (tok := self._peek()) is not None and tok == ("op", "|"):
            self.pos += 1
            terms.append(self._and(depth))
        return _join("|", terms)

    def _and(self, depth: int) -> _Tree:
        terms = [self._atom(depth)]
        while (tok := self._peek()) is not None and tok == ("op", "&"):
            self.pos += 1
            terms.append(self._atom(depth))
        return _join("&", terms)

    def _atom(self, depth: int) -> _Tree:
        tok = self._peek()
        if tok is None or tok[0] in ("op", "rpar"):
            after = "the end" if tok is None else repr(tok[1])
            raise self.where.error(
                f"a task name is missing before {after}",
                "put a task on both sides of every '&' and '|', and inside every '( )'",
            )
        self.pos += 1
        if tok[0] == "lpar":
            if depth >= _MAX_DEPTH:
                raise self.where.error("parentheses nested too deeply", "simplify the expression")
            inner = self._or(depth + 1)
            if self._peek() != ("rpar", ")"):
                raise self._parens()
            self.pos += 1
            return inner
        return _read_node(tok[1], self.where)


def _join(op: str, terms: list[_Tree]) -> _Tree:
    if len(terms) == 1:
        return terms[0]
    flat: list[_Tree] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, _Op) and t.op == op else (t,))
    return _Op(op, tuple(flat))


def _read_node(text: str, where: _Where) -> _Node:
    """Read one node token into its parts (names are checked here)."""
    m = _NODE.match(text)
    if m is None:
        raise where.error(f"bad graph node {text!r}", _NODE_FORMAT)
    mark, name = m.group("mark"), m.group("name")
    if mark == "!":
        raise where.error(
            f"suicide triggers ({text}) are not supported",
            "Cylc 8 rarely needs them: branch with optional outputs instead, "
            "e.g. 'a:fail? => recover' and 'a? => carry_on'",
            task=name,
        )
    if not TASK_NAME.match(name):
        raise where.error(
            f"{name!r} is not a valid task name",
            "use letters, digits and _ (also + % @ - after the first character)",
        )
    if m.group("offset") is not None and not m.group("offset").strip():
        raise where.error(
            f"bad cycle offset [] on {name} (an empty cycle offset)",
            f"write an offset such as {name}[-P1], {name}[^] or {name}[3], or drop the []",
            task=name,
        )
    qual = m.group("qual")
    if qual == "":
        raise where.error(f"empty output after ':' in {text!r}", _OUTPUT_HELP, task=name)
    if qual in _UNSUPPORTED_OUTPUTS:
        raise where.error(
            f"output :{qual} of {name} has no meaning in prefect-cycles "
            "(Prefect has no job submission or expiry)",
            _OUTPUT_HELP,
            task=name,
        )
    node = _Node(
        name=name,
        offset=m.group("offset"),
        qualifier=qual,
        optional=m.group("opt") == "?",
        xtrigger=mark == "@",
    )
    if node.xtrigger and (node.offset is not None or qual is not None or node.optional):
        raise where.error(
            f"an xtrigger takes no offset, output or '?': {text!r}", "write it as @name"
        )
    return node


def _nodes(tree: _Tree) -> Iterator[_Node]:
    if isinstance(tree, _Node):
        yield tree
    else:
        for t in tree.terms:
            yield from _nodes(t)


def _has_or(tree: _Tree) -> bool:
    return isinstance(tree, _Op) and (tree.op == "|" or any(_has_or(t) for t in tree.terms))


def _xtrigger_in_conditional(tree: _Tree) -> _Node | None:
    """An xtrigger in an expression that holds a ``|`` (Cylc refuses those)."""
    if not _has_or(tree):
        return None
    return next((n for n in _nodes(tree) if n.xtrigger), None)


# -- meaning: outputs, families, optionality -----------------------------------------


@dataclass(frozen=True)
class _Ref:
    """A node resolved against the workflow: task or family, output, offset."""

    node: _Node
    members: tuple[str, ...]  # the task itself, or a family's member tasks
    family: bool
    output: str  # canonical output; for a family, its qualifier (succeed-all ...)
    offset: Offset | None


def _resolve(
    node: _Node,
    cycling: Cycling,
    families: Mapping[str, Sequence[str]],
    where: _Where,
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
    return _Ref(node, (node.name,), False, _task_output(node, where), offset)


def _task_output(node: _Node, where: _Where) -> str:
    """The canonical output a task node's qualifier names (``succeeded`` if none)."""
    qual = node.qualifier
    if qual in FAMILY_QUALIFIERS:
        raise where.error(
            f"family trigger :{qual} on {node.name!r}, which is not a family",
            f"use a task output such as :succeeded or :fail, or make {node.name} a "
            f"family (tasks with inherit = {node.name} under [runtime])",
            task=node.name,
        )
    output = "succeeded" if qual is None else output_name(qual, task=node.name, where=where.place())
    check_finish(node.name, output, node.optional, where.place())
    return output


@dataclass
class _Pair:
    """``left => right`` in one section (``left`` None for a lone node)."""

    recurrence: str
    left: _Tree | None
    left_refs: dict[_Node, _Ref]
    right: _Ref
    line: _Line


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
    declared: set[str] = field(default_factory=set)
    #: task -> where it first appears: "a[-P1] in graph section 'P1', line 2"
    mentioned: dict[str, str] = field(default_factory=dict)
    #: declared xtrigger label -> its declaration (read when the graph uses it, as Cylc does)
    xtriggers: Mapping[str, str | WallClock] = field(default_factory=dict)
    #: xtrigger label -> clock offset, for each one used on the left of '=>'
    clocks: dict[str, str] = field(default_factory=dict)

    def clock(self, node: _Node, where: _Where, task: str | None) -> None:
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
        if isinstance(declared, WallClock):
            func, offset = WALL_CLOCK, declared.offset
        else:
            try:
                func, offset = parse_call(declared, label=label)
            except CycleError as exc:
                raise where.error(_message(exc), exc.fix or "", task=task) from None
        if offset is None:
            raise where.error(
                f"xtrigger {node} calls {func}(), but prefect-cycles runs only wall_clock "
                "xtriggers (clock triggers)",
                "drop it from the graph, or make the check a Prefect task of its own that "
                f"the others wait for (e.g. 'check_{label} => {task or 'foo'}')",
                task=task,
            )
        if self.workflow.cycling.mode != "datetime":
            raise where.error(
                f"clock xtrigger {node} needs date-time cycling (integer points are not times)",
                "use date-time cycling (an initial cycle point such as 20200101T00Z), or drop it",
                task=task,
            )
        self.clocks[label] = offset

    def resolve(self, node: _Node, where: _Where, *, left: bool) -> _Ref:
        return _resolve(node, self.workflow.cycling, self.families, where, left=left)

    def mark(self, ref: _Ref, where: _Where) -> None:
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
        where = _Where(f"graph section {recurrence!r}")
        left_texts: set[str] = set()
        offset_rights: list[tuple[_Pair, bool]] = []
        for line in _logical_lines(graph, where):
            where.line = line
            elements = [
                _Parser(part, where).parse()
                for part in _split_chain(_tokens(line.compact, where), where)
            ]
            for i, tree in enumerate(elements):
                if i > 0 and _has_or(tree):
                    raise where.error(
                        "'|' on the right of '=>'",
                        "only '&' may join tasks on the right: write 'a => b & c' to "
                        "trigger both, or put the choice on the left: 'b | c => d'",
                    )
                x = _xtrigger_in_conditional(tree)
                if x is not None:
                    after = elements[i + 1] if i + 1 < len(elements) else None
                    raise where.error(
                        f"xtrigger {x} in a conditional ('|') expression",
                        "Cylc allows xtriggers only joined by '&': write e.g. "
                        f"'{x} & (a | b) => c'",
                        task=next((n.name for n in _nodes(after)), None) if after else None,
                    )
                if i < len(elements) - 1:
                    left_texts.update(str(n) for n in _nodes(tree))
                    held = next((n.name for n in _nodes(elements[i + 1]) if not n.xtrigger), None)
                    for n in _nodes(tree):
                        if n.xtrigger:
                            self.clock(n, where, held)
            # Lone nodes: every node of the first element, as in Cylc.
            refs0 = {
                n: self.resolve(n, where, left=False) for n in _nodes(elements[0]) if not n.xtrigger
            }
            for ref in refs0.values():
                self.mark(ref, where)
                self.pairs.append(_Pair(recurrence, None, {}, ref, line))
            if len(elements) == 1 and any(n.xtrigger for n in _nodes(elements[0])):
                self.notices.append(
                    f"graph section {recurrence!r} line {line.number}: an xtrigger with no "
                    f"'=>' after it holds no task back, as in Cylc ({line.text})"
                )
            last = elements[-1]
            for left, right in pairwise(elements):
                left_refs = {
                    n: self.resolve(n, where, left=True) for n in _nodes(left) if not n.xtrigger
                }
                for rnode in _nodes(right):
                    if rnode.xtrigger:
                        raise where.error(
                            f"xtrigger {rnode} on the right of '=>'",
                            "xtriggers can only be prerequisites: put them on the left",
                        )
                    ref = self.resolve(rnode, where, left=False)
                    self.mark(ref, where)
                    pair = _Pair(recurrence, left, left_refs, ref, line)
                    if ref.offset is not None:
                        offset_rights.append((pair, right is last))
                        continue
                    self._check_self_edge(pair, where)
                    self.pairs.append(pair)
        for pair, last in offset_rights:
            where.line = pair.line
            text = str(pair.right.node)
            if last and text not in left_texts:
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

    def _check_self_edge(self, pair: _Pair, where: _Where) -> None:
        for target in pair.right.members:
            for ref in pair.left_refs.values():
                if ref.offset is None and target in ref.members:
                    raise where.error(
                        f"task {target!r} depends on itself at the same point "
                        f"({pair.left} => {pair.right.node})",
                        f"give the prerequisite an offset, e.g. {target}[-P1] => {target}",
                        task=target,
                    )

    def condition(self, tree: _Tree, refs: dict[_Node, _Ref], target: str) -> Condition | None:
        """The model condition for a left expression (None if only xtriggers)."""
        if isinstance(tree, _Node):
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
                for node in _nodes(pair.left):
                    if node.xtrigger:
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
        for task in self.mentioned:
            wf.add_task(task)


def _split_recurrences(key: str) -> list[str]:
    """Split a section key at commas outside parentheses (``P1!(3,5)`` stays whole)."""
    parts, depth, current = [], 0, []
    for ch in key:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth <= 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


# -- public API ---------------------------------------------------------------------


def _one_node(text: str, task: str | None) -> tuple[_Node, _Where]:
    """Read text that must hold exactly one task node (no family qualifier)."""
    if not isinstance(text, str):
        raise GraphSyntaxError(
            f"a graph node must be text, not {type(text).__name__}", task=task, fix=_NODE_FORMAT
        )
    where = _Where(f"graph node {text.strip()!r}" + (f" of task {task!r}" if task else ""))
    where.line = _Line(1, " ".join(text.split()), re.sub(r"\s+", "", text))
    lines = _logical_lines(text, where) if text.strip() else []
    tokens = _tokens(lines[0].compact, where) if len(lines) == 1 else []
    if len(tokens) != 1 or tokens[0][0] != "node":
        raise GraphSyntaxError(
            "expected exactly one graph node", task=task, text=text, fix=_NODE_FORMAT
        )
    where.line = None  # the label already quotes the node
    node = _read_node(tokens[0][1], where)
    if node.xtrigger:
        raise where.error("an xtrigger is not a task node", _NODE_FORMAT)
    if node.qualifier in FAMILY_QUALIFIERS:
        raise where.error(
            f"family qualifier :{node.qualifier} needs a family",
            "use add_graph with families= for family triggers",
            task=node.name,
        )
    return node, where


def read_node(text: str, *, task: str | None = None) -> tuple[str, str | None, str, bool]:
    """Check one node, ``name[offset]:output?``, without a cycling mode to read its offset in.

    Returns the task name, the offset as written (None if none), the canonical
    output and whether it is marked ``?``. For rules written before the
    workflow's cycling mode is known; :func:`parse_node` reads the offset too.
    """
    node, where = _one_node(text, task)
    return node.name, node.offset, _task_output(node, where), node.optional


def parse_node(text: str, cycling: Cycling, *, task: str | None = None) -> Trigger:
    """Read one prerequisite node, ``name[offset]:output?``, into a :class:`Trigger`.

    ``task`` names the dependent task, for messages. Family qualifiers,
    xtriggers and operators are graph-level and refused here. Optionality is
    as written (``:finish`` is always optional); whether it agrees with the
    rest of a graph is for :func:`add_graph` to check.
    """
    node, where = _one_node(text, task)
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
        for recurrence in _split_recurrences(key):
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
            or not _XTRIGGER_LABEL.match(label)
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
    return add_graph(wf, graph, families, notices=notices, xtriggers=xtriggers)
