"""The code samples in README.md and docs/ stay true to the code.

Every ``>>>`` session runs as a doctest and must print what it shows. Every
other Python sample must parse, and every name it imports from prefect_cycles
must exist where it says; every repository path a sample names (examples/...,
tests/data/...) must exist. Samples that need a running flow are exercised by
the tests of what they show; this catches the drift of names and paths.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
PATH = re.compile(r"(?<![\w/.])((?:examples|tests/data)/[\w./-]*[\w/])")


def samples(lang: str) -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m[1] == lang:
                line = text.count("\n", 0, m.start()) + 1
                found.append((str(page.relative_to(ROOT)), line, m[2]))
    return found


PYTHON = samples("python")


SESSIONS = [s for s in PYTHON if s[2].lstrip().startswith(">>>")]
SCRIPTS = [s for s in PYTHON if s not in SESSIONS]


@pytest.mark.parametrize(
    ("page", "line", "code"), SESSIONS, ids=[f"{p}:{n}" for p, n, _ in SESSIONS]
)
def test_interpreter_sessions_in_the_docs_run_as_shown(page: str, line: int, code: str) -> None:
    """A ``>>>`` sample is run as a doctest: its output, errors included, must match."""
    test = doctest.DocTestParser().get_doctest(code, {}, f"{page}:{line}", page, line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


@pytest.mark.parametrize(("page", "line", "code"), SCRIPTS, ids=[f"{p}:{n}" for p, n, _ in SCRIPTS])
def test_python_samples_parse_and_import_what_exists(page: str, line: int, code: str) -> None:
    tree = ast.parse(code, filename=f"{page}:{line}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prefect_cycles"):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name), f"{page}:{line}: {node.module}.{alias.name}"


def test_every_repository_path_a_sample_names_exists() -> None:
    missing = []
    for page, line, code in samples("bash") + samples("text") + PYTHON + samples(""):
        for path in PATH.findall(code):
            if not (ROOT / path.split(":")[0]).exists():
                missing.append(f"{page}:{line}: {path}")
    assert not missing, "\n".join(missing)


def test_there_are_samples_to_check() -> None:
    assert len(PYTHON) > 10
