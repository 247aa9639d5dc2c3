"""Template variables from a ``rose-suite.conf`` beside a flow.cylc, as cylc-rose reads them.

cylc-rose (1.6) gives Cylc the items of ``[template variables]`` (or the
older ``[jinja2:suite.rc]``, which also turns Jinja2 on for a file with no
``#!Jinja2`` line) as template variables. Each value first has ``$NAME`` and
``${NAME}`` replaced from the environment (``[env]`` items included), then
is read as a Python or Jinja2 literal (``true``, ``1,2,3``). Items switched
off with ``!`` are left out. ``ROSE_ORIG_HOST`` and ``ROSE_SUITE_VARIABLES``
are added. ``[empy:suite.rc]`` is refused, as EmPy is.

The file format is Rose's: ``[section]``, ``key=value``, a value continued
on lines that start with white space, ``#`` comment lines.
"""

from __future__ import annotations

import ast
import os
import re
import socket
from pathlib import Path
from typing import Any

from ..errors import GraphSyntaxError

__all__ = ["read_rose_conf", "rose_template_variables"]

_VAR = re.compile(r"(?P<escape>\\*)\$(?P<brace>\{)?(?P<name>[A-Za-z_]\w*)(?(brace)\})")
_SECTIONS = ("template variables", "jinja2:suite.rc", "empy:suite.rc")


def read_rose_conf(path: Path) -> dict[str, dict[str, str]]:
    """Section -> key -> raw value; items and sections starting with ``!`` are dropped."""
    source = str(path)
    sections: dict[str, dict[str, str]] = {"": {}}
    current: dict[str, str] | None = sections[""]
    key: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and key is not None and current is not None:
            current[key] += "\n" + raw.strip()
            continue
        line = raw.strip()
        if line.startswith("["):
            name = line.strip("[]").strip()
            key = None
            current = None if name.startswith("!") else sections.setdefault(name, {})
            continue
        if "=" not in line:
            raise GraphSyntaxError(
                f"{source}, line {number}: {line[:60]!r} is not KEY=VALUE",
                fix="write rose-suite.conf items as KEY=VALUE under a [section]",
            )
        name, value = line.split("=", 1)
        name = name.strip()
        if current is None or name.startswith("!"):
            key = None
            continue
        key = name
        current[key] = value.strip()
    return sections


def _substitute(text: str, environ: dict[str, str], where: str) -> str:
    """Rose's ``env_var_process``: ``$NAME``/``${NAME}``, ``\\$`` escapes the sigil."""

    def one(m: re.Match[str]) -> str:
        escape = m.group("escape")
        if len(escape) % 2:
            return escape[: len(escape) // 2] + m.group(0)[len(escape) :]
        name = m.group("name")
        if name not in environ:
            raise GraphSyntaxError(
                f"{where}: environment variable ${name} is not set",
                fix=f"export {name}, or set it in the [env] section of rose-suite.conf",
            )
        return escape[: len(escape) // 2] + environ[name]

    return _VAR.sub(one, text)


def _literal(value: str, where: str) -> Any:
    """A Python literal, or a Jinja2 one (``true``, ``1,2``), as cylc-rose's parser allows."""
    value = value.strip()
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    from jinja2 import nodes
    from jinja2.nativetypes import NativeEnvironment

    env = NativeEnvironment()
    allowed = (nodes.Template, nodes.Output, nodes.Literal, nodes.Pair, nodes.Neg, nodes.Pos)
    try:
        tree = env.parse(f"{{{{ {value} }}}}")
        stack: list[Any] = [tree]
        while stack:
            node = stack.pop()
            if not isinstance(node, allowed):
                raise ValueError(type(node).__name__)
            stack.extend(node.iter_child_nodes())
        return env.from_string(f"{{{{ {value} }}}}").render()
    except Exception:
        raise GraphSyntaxError(
            f"{where}: invalid template variable {value!r}",
            fix='give a Python or Jinja2 literal (note strings "must be quoted")',
        ) from None


def rose_template_variables(directory: Path) -> tuple[dict[str, Any], str] | None:
    """The template variables of ``directory/rose-suite.conf`` and the templating it names.

    None when there is no such file. The templating is ``jinja2`` for
    ``[jinja2:suite.rc]`` and ``template variables`` otherwise.
    """
    path = directory / "rose-suite.conf"
    if not path.is_file():
        return None
    conf = read_rose_conf(path)
    present = [s for s in _SECTIONS if s in conf]
    if len(present) > 1:
        raise GraphSyntaxError(
            f"{path}: more than one templating section ({'; '.join(present)})",
            fix="keep one of [template variables] and [jinja2:suite.rc]",
        )
    if present == ["empy:suite.rc"]:
        raise GraphSyntaxError(
            f"{path}: [empy:suite.rc] asks for EmPy templating, which is not supported",
            fix="port the workflow to Jinja2 and use [template variables]",
        )
    section = present[0] if present else "template variables"
    environ = dict(os.environ)
    for key, value in conf.get("env", {}).items():
        environ[key] = _substitute(value, environ, f"{path} [env]{key}")
    values: dict[str, Any] = {}
    for key, value in conf.get(section, {}).items():
        where = f"{path} [{section}]{key}"
        values[key] = _literal(_substitute(value, environ, where), where)
    values["ROSE_ORIG_HOST"] = socket.gethostname()
    values.pop("CYLC_VERSION", None)
    values["ROSE_SUITE_VARIABLES"] = values
    return values, ("jinja2" if section == "jinja2:suite.rc" else "template variables")
