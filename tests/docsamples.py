"""Run one page's Python samples, in order, in one namespace: ``python docsamples.py SAMPLES.json``.

The test (tests/test_doc_samples.py) starts this in a subprocess with a fresh PREFECT_HOME, a
temporary working directory and the session's Prefect server, so the flows a page calls really
run. Each sample is compiled under the page's name with its own line numbers, so a traceback
names the page and line. A statement followed by ``# -> value`` (on its line, or alone on the
next) is checked: its value must equal the literal, or its ``repr``/``str`` must match the text
(``...`` matches anything). A sample fenced ``{from="examples/x.py"}`` is an excerpt: its lines
must be in that file, which runs in the page's namespace in its place.
"""

from __future__ import annotations

import ast
import doctest
import json
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

SHOWS = "# ->"


class ShownWrong(AssertionError):
    """A value differs from what the page shows after ``# ->``."""


def shows(value: Any, want: str, where: str) -> Any:
    """Check a value against the text a page shows for it."""
    try:
        if value == ast.literal_eval(want):
            return value
    except (ValueError, SyntaxError):
        pass
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    if any(
        checker.check_output(want + "\n", text + "\n", flags) for text in (repr(value), str(value))
    ):
        return value
    raise ShownWrong(f"{where}: the page shows {want}, the code gives {value!r}")


def shown(lines: list[str], end: int) -> str | None:
    """The text after ``# ->`` that a statement ending on line ``end`` (1-based) shows."""
    _, sep, rest = lines[end - 1].partition(SHOWS)
    if sep:
        return rest.strip()
    if end < len(lines) and lines[end].strip().startswith(SHOWS):
        return lines[end].strip()[len(SHOWS) :].strip()
    return None


class Checks(ast.NodeTransformer):
    """Wrap every expression statement that shows its value in a call of ``shows``."""

    def __init__(self, lines: list[str], page: str, first: int) -> None:
        self.lines, self.page, self.first = lines, page, first

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        want = shown(self.lines, node.end_lineno or node.lineno)
        if want is None:
            return node
        where = f"{self.page}:{self.first + node.lineno}"
        call = ast.Call(
            func=ast.Name("__shows__", ast.Load()),
            args=[node.value, ast.Constant(want), ast.Constant(where)],
            keywords=[],
        )
        return ast.copy_location(ast.Expr(ast.copy_location(call, node)), node)


def excerpt_is_in(code: str, source: Path, where: str) -> None:
    """Every line of an excerpt, but its ``...``, is in the file, in order."""
    lines = [ln.rstrip() for ln in source.read_text(encoding="utf-8").splitlines()]
    at = 0
    for line in code.splitlines():
        if not line.strip() or line.strip() == "...":
            continue
        try:
            at = lines.index(line.rstrip(), at) + 1
        except ValueError:
            raise ShownWrong(f"{where}: line not in {source} (in this order): {line}") from None


def run_page(samples: list[dict[str, Any]]) -> None:
    """Run a page's samples in one namespace, as a script: ``__name__`` is ``"__main__"``."""
    ns: dict[str, Any] = {"__name__": "__main__", "__shows__": shows}
    for s in samples:
        page, line, code = s["page"], s["line"], s["code"]
        where = f"{page}:{line}"
        print(f"running {where}", file=sys.stderr, flush=True)
        if s.get("from"):
            excerpt_is_in(code, Path(s["from"]), where)
            ns.update(runpy.run_path(s["from"], run_name="docsample"))
            continue
        tree = ast.parse(code, filename=s["file"])
        tree = Checks(code.splitlines(), page, line).visit(tree)
        ast.increment_lineno(tree, line)  # the fence is line `line`; the code starts after it
        ast.fix_missing_locations(tree)
        exec(compile(tree, s["file"], "exec"), ns)  # the page's path: tracebacks quote its lines


def main() -> int:
    samples = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    try:
        run_page(samples)
    except BaseException as exc:  # report whatever a sample raises
        pages = {s["file"]: s["page"] for s in samples}
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in pages]
        at = f"{pages[frames[-1].filename]}:{frames[-1].lineno}" if frames else "?"
        print(f"SAMPLE FAILED at {at}: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
