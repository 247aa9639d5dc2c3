"""The syntax of Cylc graph strings: logical lines, tokens, expression trees, nodes.

Reads text only: ``a & b | c => d`` becomes trees of :class:`Node` and
:class:`Op`, continued lines and comments handled as Cylc 8 does, every
mistake a :class:`~prefect_cycles.errors.GraphSyntaxError` naming the section,
the line and a fix. What the nodes mean (tasks, families, offsets, outputs)
is :mod:`prefect_cycles.frontends.graphstring`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from ..errors import GraphSyntaxError
from ..graph.model import TASK_NAME
from ..graph.outputs import check_finish, output_name

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
    "submit-all": ("submitted", True),
    "submit-any": ("submitted", False),
    "submit-fail-all": ("submit-failed", True),
    "submit-fail-any": ("submit-failed", False),
    "expire-all": ("expired", True),
    "expire-any": ("expired", False),
}


OUTPUT_HELP = (
    "use :succeeded, :failed, :started, :finish, :submitted, :submit-failed, :expired "
    "or a custom output the task declares"
)


NODE_FORMAT = "write nodes as NAME[OFFSET]:OUTPUT? e.g. foo, foo[-P1], foo:fail?, foo[-P1]:finish"


_CONTINUATIONS = ("=>", "&", "|")


XTRIGGER_LABEL = re.compile(r"^[A-Za-z0-9_]+$")


_MAX_DEPTH = 100


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


@dataclass(frozen=True)
class Node:
    """One node as written: ``name[offset]:qualifier?`` (or ``@xtrigger``)."""

    name: str
    offset: str | None
    qualifier: str | None
    optional: bool
    xtrigger: bool = False
    #: ``!name``: a suicide trigger target (Cylc removes the instance when triggered)
    suicide: bool = False

    def __str__(self) -> str:
        if self.xtrigger:
            return "@" + self.name
        s = ("!" if self.suicide else "") + self.name
        if self.offset is not None:
            s += f"[{self.offset}]"
        if self.qualifier is not None:
            s += f":{self.qualifier}"
        return s + ("?" if self.optional else "")


@dataclass(frozen=True)
class Op:
    """``&`` or ``|`` over two or more terms."""

    op: str
    terms: tuple[Tree, ...]

    def __str__(self) -> str:
        return f" {self.op} ".join(f"({t})" if isinstance(t, Op) else str(t) for t in self.terms)


Tree: TypeAlias = "Node | Op"


@dataclass
class Line:
    """A logical graph line: physical lines joined at continuations."""

    number: int
    text: str  # as written, comments removed, whitespace collapsed
    compact: str  # whitespace removed


@dataclass
class Where:
    """Where in the graph we are, for messages."""

    label: str  # "graph section 'P1'"
    line: Line | None = None
    # place() of the current line, made once per line: a line of thousands of
    # nodes names its place once per node, and formatting it each time was quadratic.
    _placed: tuple[Line, str] | None = field(default=None, repr=False, compare=False)

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
        line = self.line
        if line is None:
            return self.label
        if self._placed is None or self._placed[0] is not line:
            self._placed = (line, f"{self.label}, line {line.number} ({line.text!r})")
        return self._placed[1]


def split_recurrences(key: str) -> list[str]:
    """A graph section key (or ``@cycle``'s recurrence) split at its commas, as Cylc reads it.

    Commas inside parentheses are not separators: ``P1!(3,5)`` stays whole.
    """
    parts: list[str] = []
    current: list[str] = []
    depth = 0
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


def logical_lines(graph: str, where: Where) -> list[Line]:
    """Strip comments and blanks and join continued lines, as Cylc does."""
    physical: list[tuple[int, str, str]] = []
    for number, raw in enumerate(graph.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        text = " ".join(line.split())
        where.line = Line(number, text, text)
        probe = _SIGNED_DIGIT.sub(r"\1", line)
        m = _BAD_SPACE.search(probe)
        if m:
            raise where.error(
                f"missing operator between names in {m.group(0).strip()!r}",
                "join tasks with '=>', '&' or '|'; a task name has no spaces",
            )
        physical.append((number, text, re.sub(r"\s+", "", line)))

    lines: list[Line] = []
    part: list[tuple[int, str, str]] = []
    for i, (number, text, compact) in enumerate(physical):
        nxt = physical[i + 1][2] if i + 1 < len(physical) else ""
        where.line = Line(number, text, compact)
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
        lines.append(Line(part[0][0], " ".join(p[1] for p in part), "".join(p[2] for p in part)))
        part = []
    return lines


def tokenize(compact: str, where: Where) -> list[tuple[str, str]]:
    """Split a whitespace-free line into (kind, text) tokens."""
    for bad, good in (("&&", "&"), ("||", "|")):
        if bad in compact:
            raise where.error(f"{bad!r} is not a graph operator", f"use a single {good!r}")
    if "<" in compact:
        if "::" in compact:
            raise where.error(
                "inter-workflow triggers (task<workflow::task>) are not supported",
                "wait for the other cyclic flow with a workflow_state xtrigger: declare "
                "up = workflow_state(other//%(point)s/task:succeeded) under [[xtriggers]] "
                "(or xtriggers= for cyclic_flow) and write '@up => foo'",
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
                NODE_FORMAT + ", joined by '=>', '&' or '|'",
            )
        kind = m.lastgroup or "node"
        out.append((kind, m.group(0)))
        pos = m.end()
    return out


def split_chain(tokens: list[tuple[str, str]], where: Where) -> list[list[tuple[str, str]]]:
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


class Parser:
    """Precedence parser for one chain element: ``|`` over ``&`` over atoms."""

    def __init__(self, tokens: list[tuple[str, str]], where: Where) -> None:
        self.tokens = tokens
        self.pos = 0
        self.where = where

    def parse(self) -> Tree:
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

    def _or(self, depth: int) -> Tree:
        terms = [self._and(depth)]
        while (tok := self._peek()) is not None and tok == ("op", "|"):
            self.pos += 1
            terms.append(self._and(depth))
        return join_terms("|", terms)

    def _and(self, depth: int) -> Tree:
        terms = [self._atom(depth)]
        while (tok := self._peek()) is not None and tok == ("op", "&"):
            self.pos += 1
            terms.append(self._atom(depth))
        return join_terms("&", terms)

    def _atom(self, depth: int) -> Tree:
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
        return node_from_token(tok[1], self.where)


def join_terms(op: str, terms: list[Tree]) -> Tree:
    if len(terms) == 1:
        return terms[0]
    flat: list[Tree] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Op) and t.op == op else (t,))
    return Op(op, tuple(flat))


def node_from_token(text: str, where: Where) -> Node:
    """Read one node token into its parts (names are checked here)."""
    m = _NODE.match(text)
    if m is None:
        raise where.error(f"bad graph node {text!r}", NODE_FORMAT)
    mark, name = m.group("mark"), m.group("name")
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
        raise where.error(f"empty output after ':' in {text!r}", OUTPUT_HELP, task=name)
    node = Node(
        name=name,
        offset=m.group("offset"),
        qualifier=qual,
        optional=m.group("opt") == "?",
        xtrigger=mark == "@",
        suicide=mark == "!",
    )
    if node.xtrigger and (node.offset is not None or qual is not None or node.optional):
        raise where.error(
            f"an xtrigger takes no offset, output or '?': {text!r}", "write it as @name"
        )
    return node


def nodes_in(tree: Tree) -> Iterator[Node]:
    if isinstance(tree, Node):
        yield tree
    else:
        for t in tree.terms:
            yield from nodes_in(t)


def has_or(tree: Tree) -> bool:
    return isinstance(tree, Op) and (tree.op == "|" or any(has_or(t) for t in tree.terms))


def xtrigger_in_conditional(tree: Tree) -> Node | None:
    """An xtrigger in an expression that holds a ``|`` (Cylc refuses those)."""
    if not has_or(tree):
        return None
    return next((n for n in nodes_in(tree) if n.xtrigger), None)


def task_output(node: Node, where: Where) -> str:
    """The canonical output a task node's qualifier names (``succeeded`` if none)."""
    qual = node.qualifier
    if qual in FAMILY_QUALIFIERS:
        raise where.error(
            f"family trigger :{qual} on {node.name!r}, which is not a family",
            f"use a task output such as :succeeded or :fail, or make {node.name} a "
            f"family (tasks with inherit = {node.name} under [runtime])",
            task=node.name,
        )
    output = (
        "succeeded"
        if qual is None
        else output_name(qual, task=node.name, where=where.place(), custom=True)
    )
    check_finish(node.name, output, node.optional, where.place())
    return output


def one_node(text: str, task: str | None) -> tuple[Node, Where]:
    """Read text that must hold exactly one task node (no family qualifier)."""
    if not isinstance(text, str):
        raise GraphSyntaxError(
            f"a graph node must be text, not {type(text).__name__}", task=task, fix=NODE_FORMAT
        )
    where = Where(f"graph node {text.strip()!r}" + (f" of task {task!r}" if task else ""))
    where.line = Line(1, " ".join(text.split()), re.sub(r"\s+", "", text))
    lines = logical_lines(text, where) if text.strip() else []
    tokens = tokenize(lines[0].compact, where) if len(lines) == 1 else []
    if len(tokens) != 1 or tokens[0][0] != "node":
        raise GraphSyntaxError(
            "expected exactly one graph node", task=task, text=text, fix=NODE_FORMAT
        )
    where.line = None  # the label already quotes the node
    node = node_from_token(tokens[0][1], where)
    if node.xtrigger:
        raise where.error("an xtrigger is not a task node", NODE_FORMAT)
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
    node, where = one_node(text, task)
    return node.name, node.offset, task_output(node, where), node.optional
