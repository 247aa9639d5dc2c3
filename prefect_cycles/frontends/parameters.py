"""Cylc task parameters: ``model<member>`` stands for one task per value.

``[task parameters]`` gives each parameter its values, integer ranges
(``1..5``, ``0..10..2``), integers or names (``a, b, c``), and
``[[templates]]`` how a value is written into a task name (default
``_member%(member)02d`` for integers, zero-padded to the widest value,
``_%(name)s`` for names). Cylc expands:

- graph lines: ``foo<m> => bar<m,n>`` becomes one line per combination of
  the values used; ``foo<m-1>`` is the previous value (and a node whose
  offset falls outside the values is dropped with its ``&``/``|``
  neighbour, or ends the chain); ``foo<m=2>`` is one value;
- ``[runtime]`` headings ``[[model<member>]]`` into one namespace per value,
  and ``inherit = FAM<member>`` into the family of the same value.

This module follows ``cylc/flow/param_expand.py`` and the parameter rules of
``parsec/validate.py`` and ``config.py`` (Cylc 8.5) so that expanded names
and graphs are Cylc's, character for character.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from ..errors import GraphSyntaxError
from .cylcfile import Item, Section, unquote, unquote_list

__all__ = [
    "ParamValue",
    "Parameters",
    "expand_graphs",
    "expand_runtime",
    "parse_parameter_values",
    "read_parameters",
]

ParamValue: TypeAlias = int | str

_NAME_RE = r"(?:[\w][\w\-+%@]*)"  # Cylc's TaskID.NAME_RE
_NAME_SUFFIX_RE = r"[\w\-+%@]+"
_REC_NAMES = re.compile(r"(?:[^,<]|<[^>]*>)+")
_REC_P_ALL = re.compile(rf"({_NAME_RE})?(?:<(.*?)>)?(.+)?")
_REC_P_GROUP = re.compile(r"<(.*?)>")
_REC_P_OFFS = re.compile(rf"(\w+)\s*([\-+]\s*\d+|=\s*{_NAME_SUFFIX_RE})?")
_REC_PARAMS = re.compile(r"<[\w,=\-+]+>")
# A parameterised node in a stripped graph line: name parts around <...> groups.
_REC_PNODE = re.compile(r"[\w\-+%@]*(?:<[^>]*>[\w\-+%@]*)+")
_REC_INT_RANGE = re.compile(r"\A([+\-]?\d+)\s*\.\.\s*([+\-]?\d+)(?:\s*\.\.\s*(\d+))?\Z")
_REC_NAME_SUFFIX = re.compile(r"\A[\w\-+%@]+\Z")
_REC_COMMENT = re.compile("#.*$")
_CONTINUATION = ("=>", "&", "|")

#: Cylc's marker for a node whose parameter offset falls outside the values.
_REMOVE = -32768
_TASK_NAME_PART = r"[^\s&|]"
_REMOVE_TOKEN = rf"{_TASK_NAME_PART}+{_REMOVE}?{_TASK_NAME_PART}+"
_REC_NODE_OUT_OF_RANGE = re.compile(
    rf"(^{_REMOVE_TOKEN}[&|]|[&|]{_REMOVE_TOKEN}|^{_REMOVE_TOKEN}$)"
)


def _fail(where: str, problem: str, fix: str) -> GraphSyntaxError:
    return GraphSyntaxError(f"{where}: {problem}", fix=fix)


def _split_list(raw: str) -> list[str]:
    """A comma list value as Cylc's strip_and_unquote_list reads it (raw, with comments)."""
    raw = raw.strip()
    if raw.startswith(("'", '"')):
        lexer = shlex.shlex(raw, posix=True, punctuation_chars=",")
        lexer.commenters = "#"
        lexer.whitespace_split = False
        lexer.whitespace = "\t\n\r"
        lexer.wordchars += " "
        return [t.strip() for t in lexer if t != "," and t.strip()]
    items = [item.strip() for item in raw.split("#", 1)[0].split(",")]
    if items and items[-1] == "":
        items = items[:-1]
    return items


def parse_parameter_values(name: str, text: str) -> list[ParamValue]:
    """One parameter's values as Cylc reads them (``text`` raw): ranges and integers, or names."""
    where = f"[task parameters]{name}"
    items: list[ParamValue] = []
    kind: type | None = None
    for item in _split_list(text):
        m = _REC_INT_RANGE.match(item)
        if m:
            if kind is str:
                raise _fail(where, f"{text!r} mixes integer ranges and names", "use one kind")
            kind = int
            lower, upper, step = m.groups()
            items.extend(range(int(lower), int(upper) + 1, int(step or 1)))
        elif _REC_NAME_SUFFIX.match(item):
            try:
                if "_" in item:
                    raise ValueError(item)
                int(item)
            except ValueError:
                if kind is int:
                    raise _fail(
                        where, f"{text!r} mixes integer ranges and names", "use one kind"
                    ) from None
                kind = str
            items.append(item)
        else:
            raise _fail(
                where,
                f"{item!r} is not a valid parameter value",
                "give integer ranges like 1..5 or 0..10..2, or names made of letters, digits, "
                "_ - + % @",
            )
    if kind is str:
        return items
    try:
        return [int(i) for i in items]
    except ValueError:
        return items


def _default_template(name: str, values: list[ParamValue]) -> str:
    """Cylc's default: ``_name%(name)0Nd`` for integers, ``_%(name)s`` for names."""
    if any(not isinstance(v, int) for v in values):
        return f"_%({name})s"
    ints = [v for v in values if isinstance(v, int)]
    if any(v < 0 for v in ints):
        return f"_{name}%({name})+0{max(len(str(v)) for v in ints)}d"
    return f"_{name}%({name})0{len(str(max(ints)))}d"


def _in_values(item: ParamValue, values: Iterable[ParamValue]) -> bool:
    """Cylc's item_in_iterable: by string, or by integer value."""
    values = list(values)
    if item in values:
        return True
    try:
        int(item)
    except ValueError:
        return False
    return int(item) in (int(v) for v in values)


def _graph_lines(text: str) -> list[str]:
    """Graph text as Cylc's parser sees it: comments, white space and continuations gone."""
    lines = []
    for line in text.split("\n"):
        line = _REC_COMMENT.sub("", line)
        if line.strip():
            lines.append("".join(line.split()))
    full: list[str] = []
    part: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        part.append(line)
        if line.endswith(_CONTINUATION) or nxt.startswith(_CONTINUATION):
            continue
        full.append("".join(part))
        part = []
    if part:
        full.append("".join(part))
    return full


@dataclass
class Parameters:
    """The task parameters of a workflow: values and name templates."""

    values: dict[str, list[ParamValue]] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    #: Every expanded name met so far -> (its name without parameters, its values),
    #: e.g. ``model_m1`` -> (``model``, {"m": 1}): what runs one Prefect task per value.
    names: dict[str, tuple[str, dict[str, ParamValue]]] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls, items: Mapping[str, str], templates: Mapping[str, str] | None = None
    ) -> Parameters:
        """From ``[task parameters]`` items (raw values) and ``[[templates]]`` (unquoted)."""
        values = {name: parse_parameter_values(name, text) for name, text in items.items()}
        tmpl = dict(templates or {})
        for name, vals in values.items():
            if vals and name not in tmpl:
                tmpl[name] = _default_template(name, vals)
        for name in tmpl:
            if name not in values:
                raise _fail(
                    f"[task parameters][templates]{name}",
                    f"template for undefined parameter {name!r}",
                    f"define {name} under [task parameters], or remove the template",
                )
        return cls(values, tmpl)

    @classmethod
    def from_python(
        cls,
        values: Mapping[str, str | Iterable[int | str]],
        templates: Mapping[str, str] | None = None,
    ) -> Parameters:
        """From Python: ``{"m": "1..3"}`` (Cylc's text) or ``{"m": range(1, 4)}``."""
        return cls.from_config(
            {k: v if isinstance(v, str) else ", ".join(map(str, v)) for k, v in values.items()},
            templates,
        )

    def __bool__(self) -> bool:
        return any(self.values.values())

    def write(self, name: str, value: ParamValue, where: str) -> str:
        """How ``value`` of parameter ``name`` is written into a task name (its template)."""
        return self._format(name, value, where)

    def _format(self, name: str, value: ParamValue, where: str) -> str:
        try:
            return self.templates[name] % {name: value}
        except (KeyError, TypeError, ValueError):
            raise _fail(
                where,
                f"the template {self.templates[name]!r} of parameter {name} cannot write "
                f"the value {value!r}",
                f"use a template like _{name}%({name})s",
            ) from None

    # -- graph strings ------------------------------------------------------------

    def expand_graph(self, text: str, where: str = "[scheduling][graph]") -> str:
        """A graph string with every parameterised line expanded, as Cylc's graph parser does."""
        # Cylc looks for parameters after stripping white space: <a, b> counts.
        if not _REC_PARAMS.search("".join(text.split())):
            return text
        out: list[str] = []
        seen: set[str] = set()
        for line in _graph_lines(text):
            expanded = [line] if not _REC_PARAMS.search(line) else self._expand_line(line, where)
            for one in expanded:
                kept = self._drop_out_of_range(one)
                if kept and kept not in seen:
                    seen.add(kept)
                    out.append(kept)
        return "\n".join(out)

    def _expand_line(self, line: str, where: str) -> list[str]:
        used: list[str] = []
        for group in dict.fromkeys(_REC_P_GROUP.findall(line)):
            for item in group.split(","):
                pname, offs = _REC_P_OFFS.match(item).groups()  # type: ignore[union-attr]
                if not self.values.get(pname):
                    raise _fail(
                        where,
                        f"parameter {pname} is not defined in <{group}>: {line}",
                        f"define it under [task parameters], e.g. {pname} = 1..3",
                    )
                if offs and offs.startswith("="):
                    val: ParamValue = offs[1:]
                    with contextlib.suppress(ValueError):
                        val = int(offs[1:])
                    if not _in_values(val, self.values[pname]):
                        raise _fail(
                            where,
                            f"parameter {pname} out of range: {group}",
                            f"use one of the values of {pname}: "
                            f"{', '.join(map(str, self.values[pname]))}",
                        )
                if pname not in used:
                    used.append(pname)
        results: list[str] = []
        self._recurse(line, used, {}, results, where)
        return results

    def _recurse(
        self,
        line: str,
        todo: list[str],
        chosen: dict[str, ParamValue],
        results: list[str],
        where: str,
    ) -> None:
        if todo:
            for value in self.values[todo[0]]:
                chosen[todo[0]] = value
                self._recurse(line, todo[1:], chosen, results, where)
            return
        groups = dict.fromkeys(_REC_P_GROUP.findall(line))
        filled = {g: self._fill(g, chosen, where) for g in groups}
        for node in _REC_PNODE.findall(line):
            name, values = node, {}
            for group in _REC_P_GROUP.findall(node):
                name = name.replace(f"<{group}>", filled[group][0])
                values.update(filled[group][1])
            if _REMOVE not in values.values():
                self.names.setdefault(name, (_REC_P_GROUP.sub("", node), values))
        for group, (repl, _vals) in filled.items():
            line = line.replace(f"<{group}>", repl)
        if line:
            results.append(line)

    def _fill(
        self, group: str, chosen: dict[str, ParamValue], where: str
    ) -> tuple[str, dict[str, ParamValue]]:
        """What ``<group>`` becomes at the chosen values, and the values it stands for."""
        vals: dict[str, ParamValue] = {}
        for item in group.split(","):
            pname, offs = _REC_P_OFFS.match(item).groups()  # type: ignore[union-attr]
            if offs is None:
                vals[pname] = chosen[pname]
            elif offs[0] == "=":
                try:
                    vals[pname] = int(offs[1:])
                except ValueError:
                    vals[pname] = offs[1:]
            else:
                plist = self.values[pname]
                index = plist.index(chosen[pname]) + int(offs)
                vals[pname] = plist[index] if 0 <= index < len(plist) else _REMOVE
        return "".join(self._format(p, v, where) for p, v in vals.items()), vals

    @staticmethod
    def _drop_out_of_range(line: str) -> str:
        """Cut nodes whose offset fell outside the values (``foo<m-1>`` at the first m)."""
        if str(_REMOVE) not in line:
            return line
        chain: list[str] = []
        for node in line.split("=>"):
            if node == "":
                chain.append(node)
                continue
            node = _REC_NODE_OUT_OF_RANGE.sub("", node)
            if node == "":
                break
            chain.append(node)
        return "=>".join(chain)

    # -- [runtime] names --------------------------------------------------------------

    def expand_heading(self, heading: str) -> list[tuple[str, dict[str, ParamValue]]]:
        """A ``[runtime]`` heading (``foo<m,n>, bar``) as names with their parameter values."""
        results: list[tuple[str, dict[str, ParamValue]]] = []
        where = f"[runtime][[{heading}]]"
        for raw in _REC_NAMES.findall(heading):
            name = raw
            tmpl = ""
            fixed: dict[str, ParamValue] = {}
            loop: list[str] = []
            while name:
                head, plist, tail = _REC_P_ALL.match(name.strip()).groups()  # type: ignore[union-attr]
                if not plist:
                    break
                if head:
                    tmpl += head.replace("%", "%%")
                for item in (i.strip() for i in plist.split(",")):
                    pname, sval = _REC_P_OFFS.match(item).groups()  # type: ignore[union-attr]
                    if not self.values.get(pname):
                        raise _fail(
                            where,
                            f"parameter {pname} is not defined in {heading}",
                            f"define it under [task parameters], e.g. {pname} = 1..3",
                        )
                    if sval:
                        if sval[0] in "+-":
                            raise _fail(
                                where,
                                f"parameter offsets are not allowed in [runtime] names: "
                                f"{pname}{sval}",
                                "offsets (<m-1>) belong in the graph only",
                            )
                        val: ParamValue = sval[1:].strip()
                        with contextlib.suppress(ValueError):
                            val = int(val)
                        if not _in_values(val, self.values[pname]):
                            raise _fail(
                                where,
                                f"parameter {pname} out of range: {plist}",
                                f"use one of {', '.join(map(str, self.values[pname]))}",
                            )
                        fixed[pname] = val
                    else:
                        loop.append(pname)
                    tmpl += self.templates[pname]
                name = tail or ""
            if tmpl:
                tmpl += name.replace("%", "%%")
                first = len(results)
                self._names(results, tmpl, loop, dict(fixed), where)
                base = _REC_P_GROUP.sub("", raw.strip())
                for expanded, values in results[first:]:
                    self.names.setdefault(expanded, (base, values))
            else:
                results.append((name.strip(), {}))
        return results

    def _names(
        self,
        results: list[tuple[str, dict[str, ParamValue]]],
        tmpl: str,
        loop: list[str],
        chosen: dict[str, ParamValue],
        where: str,
    ) -> None:
        if not loop:
            try:
                results.append((tmpl % chosen, dict(chosen)))
            except (KeyError, TypeError, ValueError):
                raise _fail(
                    where, f"bad parameter template in {tmpl!r}", "check [[templates]]"
                ) from None
            return
        for value in self.values[loop[0]]:
            chosen[loop[0]] = value
            self._names(results, tmpl, loop[1:], chosen, where)

    def expand_parent(self, parent: str, values: Mapping[str, ParamValue], origin: str) -> str:
        """``inherit = FAM<m>`` for a namespace of values ``values``: the family's name."""
        plist: list[str] = []
        tmpl = parent
        for m in _REC_P_GROUP.finditer(parent):
            group = m.group(1)
            repl = ""
            for sub in group.split(","):
                sub = sub.strip()
                plist.append(sub)
                repl += "{" + sub.split("=")[0].strip() + "}"
            tmpl = tmpl.replace(m.group(0), repl, 1)
        if not plist:
            return parent
        used: dict[str, ParamValue] = {}
        for item in plist:
            if "-" in item or "+" in item:
                raise _fail(origin, f"parameter offsets are not allowed here: {parent}", "drop it")
            if "=" in item:
                pname, text = (v.strip() for v in item.split("=", 1))
                pval: ParamValue = text
                with contextlib.suppress(ValueError):
                    pval = int(text)
                if pname not in self.values:
                    raise _fail(origin, f"parameter {pname!r} is not defined", "define it")
                if pval not in self.values[pname]:
                    raise _fail(origin, f"illegal value {pname}={pval}", "use one of its values")
                used[pname] = pval
            else:
                if item not in values:
                    raise _fail(
                        origin,
                        f"parameter {item!r} is not a parameter of this namespace",
                        f"give a value (<{item}=...>) or parameterise the namespace by {item}",
                    )
                used[item] = values[item]
        try:
            return tmpl.format(**self.templates) % used
        except (KeyError, TypeError, ValueError):
            raise _fail(origin, f"cannot expand {parent}", "check the parameter names") from None


def expand_graphs(
    graph: Mapping[str, str],
    parameters: Mapping[str, str | Iterable[int | str]],
    templates: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, tuple[str, dict[str, ParamValue]]]]:
    """Graph strings given in Python with parameters (``{"m": "1..3"}`` or ``{"m": range(3)}``).

    Returns the expanded graph and every expanded name with its base name and values.
    """
    params = Parameters.from_python(parameters, templates)
    out = {rec: params.expand_graph(text, f"graph {rec!r}") for rec, text in graph.items()}
    return out, params.names


def read_parameters(section: Section | None, source: str) -> Parameters:
    """The ``[task parameters]`` section (absent: no parameters)."""
    if section is None:
        return Parameters()
    tmpl = section.sections.get("templates")
    templates = {k: unquote(i.value, source, i.line) for k, i in tmpl.items.items()} if tmpl else {}
    return Parameters.from_config({k: i.value for k, i in section.items.items()}, templates)


def expand_runtime(runtime: Section | None, params: Parameters, source: str) -> Section | None:
    """``[runtime]`` with every heading one namespace (``[[a<m>, b]]`` -> a_m1, a_m2, b).

    Each namespace keeps its items; ``inherit = FAM<m>`` names the family of
    its own value (Cylc's ``_expand_runtime``). Without parameters or name
    lists the section is returned as it is.
    """
    if runtime is None:
        return None
    if not params and not any("," in h or "<" in h for h in runtime.sections):
        return runtime
    out = Section(runtime.name, runtime.line, dict(runtime.items))
    for heading, section in runtime.sections.items():
        for name, values in params.expand_heading(heading):
            if not name:
                continue
            target = out.sections.setdefault(name, Section(name, section.line))
            target.items.update(section.items)
            target.sections.update(section.sections)
            inherit = section.items.get("inherit")
            if inherit is not None:
                parents = unquote_list(inherit.value)
                origin = f"{source}, line {inherit.line}: inherit = {', '.join(parents)}"
                expanded = [params.expand_parent(p, values, origin) for p in parents]
                target.items["inherit"] = Item("inherit", [", ".join(expanded)], inherit.line)
    return out
