"""Render a templated flow.cylc as Cylc 8.5 does, before it is read.

Cylc processes a workflow file in three steps (``parsec/fileparse.py``):
inline ``%include`` files, render the result with Jinja2 when its first line
is ``#!Jinja2``, and drop the blank lines the template leaves behind. Line
continuations are joined later, by the reader. This module does the same
with the same Jinja2 environment: undefined variables are errors, the ``do``
extension is on, Cylc's filters ``pad``, ``strftime`` and ``duration_as`` and
globals ``raise``, ``assert`` and ``environ`` are there, ``CYLC_*``
environment variables are globals, ``CYLC_VERSION`` and
``CYLC_TEMPLATE_VARS`` are template variables, ``{% include %}`` and
``{% import %}`` find files in the workflow directory and fall back to
Python modules (``{% from "os" import path %}``), and the workflow's own
``Jinja2Filters/``, ``Jinja2Tests/`` and ``Jinja2Globals/`` and
``lib/python/`` are loaded.

Template variables come from ``--set NAME=VALUE`` (Cylc's ``-s``; values
are Python literals), ``--set-file FILE`` (one ``NAME=VALUE`` a line),
Python (``template_vars={...}``) and a ``rose-suite.conf`` beside the
workflow (see :mod:`.roseconf`); those given directly win over the Rose
file, as in Cylc.

EmPy (``#!EmPy``) is refused: it is not installed with Prefect and is rare.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import GraphSyntaxError

__all__ = [
    "CYLC_VERSION",
    "is_templated",
    "load_set_file",
    "parse_set",
    "render",
    "render_file",
    "template_variables",
]

#: The Cylc version whose rendering this follows (given to templates as CYLC_VERSION).
CYLC_VERSION = "8.5.4"

_JINJA2_LINE = re.compile(r"^#![jJ]inja2\s*")
_HASHBANG = re.compile(r"^#!(\S+)")
_INCLUDE = re.compile(r"\s*%include\s+(['\"]?)(.*?)(['\"]?)\s*$")
_UNDEFINED = re.compile(r"'([^']+)' is undefined")


def _fail(where: str, problem: str, fix: str) -> GraphSyntaxError:
    return GraphSyntaxError(f"{where}: {problem}", fix=fix)


# -- template variables ------------------------------------------------------------


def _literal(text: str, where: str, name: str) -> Any:
    """A value as Cylc's ``-s`` reads it: a Python literal (strings quoted)."""
    try:
        return ast.literal_eval(text)
    except ValueError:
        raise _fail(
            where,
            f"template variable {name}={text} is not a Python literal",
            f"quote string values, e.g. {name}='{text}'",
        ) from None
    except SyntaxError:
        raise _fail(
            where,
            f"template variable {name}={text} is not a valid Python literal",
            "give a number, a quoted string, a list, a dict, True/False or None",
        ) from None


def _pair(text: str, where: str) -> tuple[str, str]:
    if "=" not in text:
        raise _fail(
            where,
            f"template variable {text!r} is not NAME=VALUE",
            "write it as NAME=VALUE, e.g. --set 'MEMBERS=3' or --set \"NAME='x'\"",
        )
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def parse_set(pairs: Iterable[str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` arguments (Cylc's ``-s``), values read as Python literals."""
    out: dict[str, Any] = {}
    for text in pairs:
        key, value = _pair(text, "--set")
        out[key] = _literal(value, "--set", key)
    return out


def load_set_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``--set-file`` (Cylc's ``-S``): ``NAME=VALUE`` lines, ``#`` comments."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(
            where, f"cannot read the template variable file: {exc}", "check the path"
        ) from None
    out: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip().split("#", 1)[0]
        if not line:
            continue
        key, value = _pair(line, f"{where}, line {number}")
        out[key] = _literal(value, f"{where}, line {number}", key)
    return out


def template_variables(
    directory: str | os.PathLike[str] | None = None,
    *,
    set: Iterable[str] = (),
    set_file: str | os.PathLike[str] | None = None,
    template_vars: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Every template variable for a workflow, and the templating the Rose file asks for.

    Precedence as in Cylc: ``--set`` over ``--set-file``; Python's
    ``template_vars`` like ``--set``; all of these over ``rose-suite.conf``.
    """
    native: dict[str, Any] = {}
    if set_file is not None:
        native.update(load_set_file(set_file))
    native.update(parse_set(set))
    native.update(template_vars or {})
    if directory is None:
        return native, None
    from .roseconf import rose_template_variables

    rose = rose_template_variables(Path(directory))
    if rose is None:
        return native, None
    values, templating = rose
    values.update(native)
    return values, templating


# -- %include ----------------------------------------------------------------------


def _inline(lines: list[str], directory: Path, source: str, stack: tuple[str, ...]) -> list[str]:
    """Cylc's ``%include`` (before Jinja2): paths relative to the workflow directory."""
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        m = _INCLUDE.match(line)
        if m is None:
            out.append(line)
            continue
        q1, name, q2 = m.groups()
        if q1 and q1 != q2:
            raise _fail(
                f"{source}, line {number}",
                "%include with mismatched quotes",
                "quote the path with matching quotes",
            )
        inc = directory / name
        if str(inc) in stack:
            raise _fail(
                f"{source}, line {number}",
                f"%include {name} includes itself ({' -> '.join((*stack, str(inc)))})",
                "remove the circular %include",
            )
        try:
            text = inc.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise _fail(
                f"{source}, line {number}",
                f"%include file {name} not found in {directory}",
                "include paths are relative to the workflow directory",
            ) from None
        out.extend(_inline(text.splitlines(), directory, str(inc), (*stack, str(inc))))
    return out


# -- Jinja2 --------------------------------------------------------------------------


def _pad(value: Any, length: int | str, fillchar: str = " ") -> str:
    """Cylc's ``pad`` filter: right-justify to ``length`` with ``fillchar``."""
    return str(value).rjust(int(length), str(fillchar))


def _strftime(iso8601_datetime: str, strftime_str: str, strptime_str: str | None = None) -> str:
    """Cylc's ``strftime`` filter, on metomi-isodatetime's parser."""
    from metomi.isodatetime.parsers import TimePointParser

    if not strptime_str:
        return TimePointParser().parse(iso8601_datetime).strftime(strftime_str)
    return TimePointParser().strptime(iso8601_datetime, strptime_str).strftime(strftime_str)


_UNITS = {
    ("s", "seconds"): 1.0,
    ("m", "minutes"): 60.0,
    ("h", "hours"): 3600.0,
    ("d", "days"): 86400.0,
    ("w", "weeks"): 604800.0,
}


def _duration_as(iso8601_duration: str, units: str) -> float:
    """Cylc's ``duration_as`` filter: an ISO 8601 duration in s, m, h, d or w."""
    from metomi.isodatetime.parsers import DurationParser

    per = next((secs for names, secs in _UNITS.items() if units.lower() in names), None)
    if per is None:
        raise ValueError(f"No matching units found for {units}")
    return float(DurationParser().parse(iso8601_duration).get_seconds()) / per


class TemplateAssertionError(Exception):
    """Raised by the templates' ``raise(...)`` and a failed ``assert(...)``."""


def _raise(message: str) -> None:
    raise TemplateAssertionError(message)


def _assert(logical: Any, message: str) -> str:
    if not logical:
        _raise(message)
    return ""


def _environment(directory: Path) -> Any:
    """Cylc's Jinja2 environment for a workflow directory."""
    from jinja2 import (
        BaseLoader,
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        StrictUndefined,
        TemplateNotFound,
    )

    class PythonModules(BaseLoader):
        """``{% import "math" as m %}``: a Python module as a template (Cylc's PyModuleLoader)."""

        prefix = "__python__."

        def load(self, environment: Any, name: str, globals: Any = None) -> Any:
            module_name = name.removeprefix(self.prefix)
            try:
                namespace = importlib.import_module(module_name).__dict__
            except ImportError:
                raise TemplateNotFound(name) from None

            def root_render_func(context: Any, *args: Any, **kwargs: Any) -> Iterator[str]:
                if False:  # a generator that only exports the module's names
                    yield ""
                context.vars.update(namespace)
                context.exported_vars.update(namespace)

            template = environment.from_string("")
            template.root_render_func = root_render_func
            return template

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(directory)), PythonModules()]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(pad=_pad, strftime=_strftime, duration_as=_duration_as)
    for namespace in ("filters", "tests", "globals"):
        folder = directory / f"Jinja2{namespace.capitalize()}"
        if folder.is_dir():
            for file in sorted(folder.glob("*.py")):
                getattr(env, namespace)[file.stem] = getattr(_load_module(file), file.stem)
    env.globals["environ"] = os.environ
    env.globals["raise"] = _raise
    env.globals["assert"] = _assert
    env.globals.update(
        {
            k: v
            for k, v in os.environ.items()
            if k.startswith("CYLC_") and k not in ("CYLC_VERSION", "CYLC_ENV_NAME")
        }
    )
    return env


def _load_module(file: Path) -> Any:
    """A ``Jinja2Filters/name.py`` of this workflow, loaded from its file.

    Cylc imports it by name from ``sys.path``; by file, two workflows whose
    filters share a name each get their own (sibling modules still import:
    its folder is on ``sys.path`` while it loads).
    """
    folder = str(file.parent.resolve())
    name = f"_prefect_cycles_jinja2_{abs(hash(str(file.resolve())))}_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(1, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


#: One render at a time in the process: the working directory and ``sys.path`` are the
#: process's, so a render in another thread waits rather than sees this workflow's.
_RENDERING = threading.RLock()


@contextmanager
def _lib_python(directory: Path) -> Iterator[None]:
    """As Cylc does for templates: the workflow's ``lib/python`` on ``sys.path``, and the
    workflow directory as the working directory (templates open files by relative path).

    Both belong to the process, so renders take turns (:data:`_RENDERING`): two
    workflows rendered in two threads each see their own directory.
    """
    with _RENDERING, _in_directory(directory):
        yield


@contextmanager
def _in_directory(directory: Path) -> Iterator[None]:
    lib = str((directory / "lib" / "python").resolve())
    added = (directory / "lib" / "python").is_dir() and lib not in sys.path
    if added:
        sys.path.append(lib)
    try:
        here: str | None = os.getcwd()
    except FileNotFoundError:
        here = None
    os.chdir(directory)
    try:
        yield
    finally:
        if here is not None:
            os.chdir(here)
        if added and lib in sys.path:
            sys.path.remove(lib)


def _template_line(exc: BaseException, source: str) -> str:
    """Where a rendering error happened, ``file, line N`` (innermost template frame)."""
    found: tuple[str, int | None] = (source, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            found = (source, (frame.lineno or 0) + 1)  # the #!Jinja2 line is not rendered
        elif (
            (
                frame.filename.endswith((".cylc", ".j2", ".jinja2", ".rc"))
                or os.path.isfile(frame.filename)
            )
            and "site-packages" not in frame.filename
            and not frame.filename.endswith(".py")
        ):
            found = (frame.filename, frame.lineno)
    file, line = found
    return file if line is None else f"{file}, line {line}"


def _render_jinja2(
    lines: list[str], directory: Path, source: str, variables: dict[str, Any]
) -> list[str]:
    import jinja2

    try:
        with _lib_python(directory):
            env = _environment(directory)
            template = env.from_string("\n".join(lines[1:]))
            text = template.render(variables)
    except jinja2.TemplateSyntaxError as exc:
        if exc.filename:
            where = f"{exc.filename}, line {exc.lineno}"
        else:
            where = f"{source}, line {(exc.lineno or 0) + 1}"
        raise _fail(
            where, f"Jinja2 syntax error: {exc.message}", "fix the template markup on that line"
        ) from None
    except TemplateAssertionError as exc:
        where = _template_line(exc, source)
        raise _fail(
            where,
            f"the template raised an error: {exc}",
            "set the template variables it checks (--set NAME=VALUE)",
        ) from None
    except jinja2.UndefinedError as exc:
        where = _template_line(exc, source)
        m = _UNDEFINED.search(str(exc))
        name = m.group(1) if m else None
        if name is not None:
            raise _fail(
                where,
                f"Jinja2 variable {name!r} is undefined",
                f"set it: --set {name}=VALUE (a Python literal), template_vars={{{name!r}: ...}}, "
                "or [template variables] in rose-suite.conf",
            ) from None
        raise _fail(where, f"Jinja2 error: {exc}", "check the names used on that line") from None
    except Exception as exc:
        where = _template_line(exc, source)
        if type(exc).__name__ in ("TemplateNotFound", "TemplatesNotFound"):
            name = getattr(exc, "name", str(exc))
            fix = f"put {name} in the workflow directory, or install the Python module {name}"
            if str(name).split(".")[0] == "cylc":
                fix = (
                    f"{name} is Cylc's own package, which prefect-cycles does not install "
                    "(Cylc is not a dependency): drop the import, or install cylc-flow"
                )
            raise _fail(
                where,
                f"Jinja2 error: no template file or Python module {name!r} to include or import",
                fix,
            ) from None
        raise _fail(
            where,
            f"Jinja2 error: {type(exc).__name__}: {exc}",
            "check the template expression on that line",
        ) from None
    return [line for line in text.splitlines() if line.strip()]


def is_templated(text: str) -> bool:
    """Whether the file's first line asks for a template processor (``#!Jinja2``)."""
    return bool(_HASHBANG.match(text.lstrip("\ufeff")))


def render(
    text: str,
    source: str | os.PathLike[str],
    variables: Mapping[str, Any] | None = None,
    templating: str | None = None,
) -> str:
    """The workflow text after ``%include`` and Jinja2 (``cylc view -j`` also strips line ends).

    ``source`` is the file's path (includes and imports are found beside
    it); ``templating`` is what a Rose file asked for (``jinja2`` adds the
    ``#!Jinja2`` line a file lacks, as cylc-rose does).
    """
    path = Path(source)
    directory = path.parent.resolve()
    lines = text.lstrip("\ufeff").splitlines()
    first = lines[0] if lines else ""
    bang = _HASHBANG.match(first)
    if bang and bang.group(1).lower() == "empy":
        raise _fail(
            str(path),
            "EmPy templates (#!EmPy) are not supported",
            "port the template to Jinja2, or render it with 'cylc view -p' and load the result",
        )
    clash = bang and templating not in (None, "template variables")
    if clash and bang.group(1).lower() != templating:  # type: ignore[union-attr]
        raise _fail(
            str(path),
            f"rose-suite.conf sets the templating to {templating}, which does not match "
            f"{first} in the file",
            "use [template variables] in rose-suite.conf, or match the #! line",
        )
    lines = _inline(lines, directory, str(path), (str(path),))
    if templating == "jinja2" and not bang:
        lines.insert(0, "#!jinja2")
    if lines and _JINJA2_LINE.match(lines[0]):
        values: dict[str, Any] = dict(variables or {})
        values["CYLC_VERSION"] = CYLC_VERSION
        values["CYLC_TEMPLATE_VARS"] = values
        lines = _render_jinja2(lines, directory, str(path), values)
    # Trailing white space stays: the reader checks it after a '\\' continuation.
    return "\n".join(lines) + "\n"


def render_file(
    file: str | os.PathLike[str],
    text: str | None = None,
    template_vars: Mapping[str, Any] | None = None,
) -> str:
    """A workflow file rendered with its template variables (``template_vars`` over the Rose file).

    ``text`` is the file's content when the caller has read it already.
    """
    path = Path(file)
    if text is None:
        text = path.read_text(encoding="utf-8")
    values, templating = template_variables(path.parent, template_vars=template_vars)
    return render(text, path, values, templating)
