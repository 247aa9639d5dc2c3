"""Cylc's ini-like file format, read into nested sections (Cylc's ``parsec``).

``[section]``, ``[[sub]]``, ``key = value``, triple-quoted multi-line values,
``\\`` line continuation, ``#`` comments. Repeated sections merge; a repeated
key replaces the earlier one, except graph strings, which add up, as in Cylc.
Every item keeps its line number, so what reads the sections can name it.
What the items mean is :mod:`prefect_cycles.frontends.flowcylc`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from textwrap import dedent

from ..errors import GraphSyntaxError

_HEADING = re.compile(r"^\s*(\[+)\s*(.+?)\s*(\]+)\s*(#.*)?$")


_KEY_VALUE = re.compile(r"^\s*([^=#'\"\[\]]+?)\s*=\s*(.*)$")


_BAD_CONTINUATION = re.compile(r"^[^#]*\\\s+$")


@dataclass
class Item:
    """``key = value``, with every value given for the key (graph strings add up)."""

    key: str
    values: list[str]
    line: int

    @property
    def value(self) -> str:
        return self.values[-1]


@dataclass
class Section:
    """A ``[section]`` with its items and sub-sections, in file order."""

    name: str
    line: int
    items: dict[str, Item] = field(default_factory=dict)
    sections: dict[str, Section] = field(default_factory=dict)

    def walk(self, path: str) -> Iterator[tuple[str, Item]]:
        """Every item below this section, with its ``[a][b]key`` path."""
        for key, it in self.items.items():
            yield f"{path}{key}", it
        for name, sub in self.sections.items():
            yield from sub.walk(f"{path}[{name}]")


def file_error(source: str, line: int | None, problem: str, fix: str) -> GraphSyntaxError:
    where = f"{source}, line {line}" if line is not None else source
    return GraphSyntaxError(f"{where}: {problem}", fix=fix)


def _join_continuations(lines: list[str], source: str) -> list[tuple[int, str]]:
    """Join lines ending in ``\\`` to the next, keeping first line numbers."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        if _BAD_CONTINUATION.match(line):
            raise file_error(
                source,
                number,
                "whitespace after the line continuation character '\\'",
                "remove the spaces after the backslash",
            )
        while line.endswith("\\"):
            line = line[:-1]
            if i + 1 >= len(lines):
                break
            i += 1
            nxt = lines[i]
            if _BAD_CONTINUATION.match(nxt):
                raise file_error(
                    source,
                    i + 1,
                    "whitespace after the line continuation character '\\'",
                    "remove the spaces after the backslash",
                )
            line += nxt
        out.append((number, line))
        i += 1
    return out


def _multiline(
    lines: list[tuple[int, str]], index: int, value: str, source: str
) -> tuple[str, int]:
    """Consume a triple-quoted value that may span lines; returns (raw value, last index)."""
    quote = value[:3]
    number = lines[index][0]
    rest = value[3:]
    if quote in rest:
        if re.match(rf"^{quote}(.*?){quote}\s*(#.*)?$", value, re.DOTALL) is None:
            raise file_error(
                source,
                number,
                "text after a closing triple quote",
                "put only a comment after the closing quotes",
            )
        return value, index
    parts = [value]
    while True:
        index += 1
        if index >= len(lines):
            raise file_error(
                source,
                number,
                f"multi-line string opened with {quote} is not closed",
                f"close it with {quote} on a later line",
            )
        line = lines[index][1]
        parts.append(line)
        if quote in line:
            if re.match(rf"^(.*?){quote}\s*(#.*)?$", line) is None:
                raise file_error(
                    source,
                    lines[index][0],
                    "text after a closing triple quote",
                    "put only a comment after the closing quotes",
                )
            return "\n".join(parts), index


def parse_sections(text: str, source: str) -> Section:
    """Read the ini-like text into nested sections (no meaning given yet)."""
    lines = _join_continuations(text.splitlines(), source)
    root = Section("", 0)
    stack: list[Section] = [root]
    i = 0
    while i < len(lines):
        number, line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            opening, name, closing = heading.group(1), heading.group(2), heading.group(3)
            level = len(opening)
            if level != len(closing) or "[" in name or "]" in name:
                raise file_error(
                    source,
                    number,
                    f"bracket mismatch in section heading {stripped!r}",
                    "use as many ']' as '[', e.g. [[graph]]",
                )
            if level > len(stack):
                raise file_error(
                    source,
                    number,
                    f"section {stripped!r} is nested too deeply for where it is",
                    f"add the parent section first, or use {level - 1} brackets",
                )
            del stack[level:]
            parent = stack[-1]
            section = parent.sections.get(name)
            if section is None:
                section = parent.sections[name] = Section(name, number)
            stack.append(section)
            i += 1
            continue
        kv = _KEY_VALUE.match(line)
        if kv is None:
            raise file_error(
                source,
                number,
                f"invalid line {stripped[:60]!r}",
                "write settings as 'key = value' and sections as [name]; quote "
                "multi-line values with triple quotes",
            )
        key, value = kv.group(1).strip(), kv.group(2)
        if value.startswith(('"""', "'''")):
            value, i = _multiline(lines, i, value, source)
        section = stack[-1]
        old = section.items.get(key)
        if old is None:
            section.items[key] = Item(key, [value], number)
        else:
            old.values.append(value)
            old.line = number
        i += 1
    return root


def unquote(raw: str, source: str, line: int) -> str:
    """A value as Cylc reads it: quotes and trailing comments gone, dedented, stripped."""
    for quote in ('"""', "'''"):
        if raw.startswith(quote):
            m = re.match(rf"^{quote}(.*?){quote}\s*(#.*)?$", raw, re.DOTALL)
            if m is None:
                raise file_error(source, line, "badly quoted value", f"close it with {quote}")
            return dedent(m.group(1)).strip()
    for quote in ('"', "'"):
        if raw.startswith(quote):
            m = re.match(rf"^{quote}([^{quote}\\]*(?:\\.[^{quote}\\]*)*){quote}\s*(#.*)?$", raw)
            if m is None:
                raise file_error(
                    source,
                    line,
                    f"badly quoted value {raw[:60]!r}",
                    f"close the {quote} and put only a comment after it",
                )
            return m.group(1).strip()
    return raw.split("#", 1)[0].strip()


def unquote_list(raw: str) -> list[str]:
    """A comma-separated list value (``inherit = A, "B"  # note``)."""
    items: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in raw:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            break
        elif ch == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [item for item in items if item]


#: A ``[[special tasks]]`` entry: a task or family, with an optional offset in brackets.
_SPECIAL_ENTRY = re.compile(r"^\s*([\w+%@-]+)\s*(?:\(\s*(.+?)\s*\))?\s*$")


def special_entries(
    item: Item, source: str, key: str, example: str
) -> Iterator[tuple[str, str, str]]:
    """``foo(PT1H), bar`` as (entry, name, offset), ``PT0S`` where none is given."""
    for entry in unquote_list(item.value):
        m = _SPECIAL_ENTRY.match(entry)
        if m is None:
            raise file_error(
                source,
                item.line,
                f"illegal {key} spec {entry!r}",
                f"write {key} = {example}, bar (a task or family, with an optional "
                "offset in brackets)",
            )
        yield entry, m.group(1), m.group(2) or "PT0S"
