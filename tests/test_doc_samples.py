"""The code samples in README.md and docs/ stay true to the code.

Every ``>>>`` session runs as a doctest and must print what it shows. Every
other Python sample runs: a page's samples run in order in one namespace (later
ones build on earlier ones), as a script, in one subprocess per page with a
fresh PREFECT_HOME and a temporary working directory, against the session's
Prefect server, so the flows they call really run, and a value a sample shows
after ``# ->`` is checked (tests/docsamples.py runs them). A sample that cannot
run as written is fenced ```` ```python {.no-run reason="..."} ````, the reason
naming the test that runs what it shows; an excerpt of an example is fenced
```` ```python {from="examples/x.py"} ````: its lines must be in that file, which
runs in its place. Every repository path a sample names (examples/...,
tests/data/...) must exist.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.S | re.M)
NO_RUN = re.compile(r'\.no-run\b.*?\breason="([^"]+)"')
FROM = re.compile(r'\bfrom="([^"]+)"')
# A sample's own module: triggers.md's xtrigger samples import the user's `mymod`.
MYMOD = '''"""The user's module of xtrigger functions that docs/triggers.md imports."""


def check(point, name=None):
    return True, {"point": point}
'''

PATH = re.compile(r"(?<![\w/.])((?:examples|tests/data)/[\w./-]*[\w/])")


def fences(lang: str) -> list[tuple[str, int, str, str]]:
    """(page, line of the fence, its attributes, its code) of every sample in a language."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m[1] == lang:
                line = text.count("\n", 0, m.start()) + 1
                found.append((str(page.relative_to(ROOT)), line, m[2], m[3]))
    return found


def samples(lang: str) -> list[tuple[str, int, str]]:
    return [(page, line, code) for page, line, _, code in fences(lang)]


PYTHON = samples("python")
SESSIONS = [s for s in PYTHON if s[2].lstrip().startswith(">>>")]
SCRIPTS = [f for f in fences("python") if not f[3].lstrip().startswith(">>>")]
MARKED = [f for f in SCRIPTS if ".no-run" in f[2]]
RUN = [f for f in SCRIPTS if f not in MARKED]
RUN_PAGES = sorted({page for page, *_ in RUN}, key=[str(p.relative_to(ROOT)) for p in PAGES].index)


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


@pytest.fixture(scope="module")
def server_url(prefect_server: None) -> str:
    """The session's Prefect server, for the subprocesses to run their flows on."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "prefect_test_harness set no PREFECT_API_URL"
    return url


def sandbox(tmp: Path) -> Path:
    """A working directory that holds the repository paths the samples name, and `mymod`."""
    work = tmp / "work"
    (work / "tests").mkdir(parents=True)
    (work / "examples").symlink_to(ROOT / "examples")
    (work / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    (work / "mymod.py").write_text(MYMOD, encoding="utf-8")
    return work


@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_python_samples_of_a_page_run_in_order(
    page: str, server_url: str, tmp_path: Path
) -> None:
    """A page's samples run as one script; a failure names the page and line, and the error."""
    work = sandbox(tmp_path)
    todo = [
        {
            "page": p,
            "line": n,
            "file": str(ROOT / p),
            "code": code,
            "from": (FROM.findall(a) or [None])[0],
        }
        for p, n, a, code in RUN
        if p == page
    ]
    (tmp_path / "samples.json").write_text(json.dumps(todo), encoding="utf-8")
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": server_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(work)]),
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docsamples.py"), str(tmp_path / "samples.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    failed = [ln for ln in done.stderr.splitlines() if ln.startswith("SAMPLE FAILED")]
    assert done.returncode == 0, "\n".join([*failed, done.stderr[-6000:]])


def test_every_sample_marked_not_to_run_says_why_and_names_its_test() -> None:
    bare = [f"{p}:{n}: {a.strip()}" for p, n, a, _ in MARKED if not NO_RUN.search(a)]
    untested = [
        f"{p}:{n}"
        for p, n, a, _ in MARKED
        if (m := NO_RUN.search(a)) and not re.search(r"tests/\w+\.py|Prefect 1", m[1])
    ]
    assert not bare and not untested, "\n".join(["no reason:", *bare, "no test named:", *untested])
    assert len(MARKED) <= len(SCRIPTS) // 4, "most samples must run"


def test_every_excerpt_names_a_file_that_exists() -> None:
    for page, line, attrs, _ in RUN:
        for name in FROM.findall(attrs):
            assert (ROOT / name).is_file(), f"{page}:{line}: from={name!r}"


def test_every_repository_path_a_sample_names_exists() -> None:
    missing = []
    for page, line, code in samples("bash") + samples("text") + PYTHON + samples(""):
        for path in PATH.findall(code):
            if not (ROOT / path.split(":")[0]).exists():
                missing.append(f"{page}:{line}: {path}")
    assert not missing, "\n".join(missing)


def test_there_are_samples_to_check() -> None:
    assert len(PYTHON) > 10


def run_samples(tmp_path: Path, code: list[str]) -> subprocess.CompletedProcess[str]:
    """Run made-up samples of a made-up page through tests/docsamples.py (no flow, no server)."""
    page = tmp_path / "page.md"
    page.write_text("\n".join(code), encoding="utf-8")
    todo = [
        {"page": "page.md", "line": 10 * i, "file": str(page), "code": c}
        for i, c in enumerate(code)
    ]
    (tmp_path / "s.json").write_text(json.dumps(todo), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docsamples.py"), str(tmp_path / "s.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_sample_that_raises_or_shows_a_wrong_value_fails_naming_page_and_line(
    tmp_path: Path,
) -> None:
    ok = run_samples(tmp_path, ["x = {'a': [1]}\n", "x  # -> {'a': [1]}\nx['a']\n# -> [...]\n"])
    assert ok.returncode == 0, ok.stderr
    wrong = run_samples(tmp_path, ["x = 2\n", "y = 1\nx + y  # -> 4\n"])
    assert wrong.returncode == 1
    assert "SAMPLE FAILED at page.md:12: ShownWrong: page.md:12: the page shows 4" in wrong.stderr
    raises = run_samples(tmp_path, ["x = 2\n", "y = 1\nx + z\n"])
    assert "SAMPLE FAILED at page.md:12: NameError: name 'z' is not defined" in raises.stderr
