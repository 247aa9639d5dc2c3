"""Type checking: mypy over the package and the examples, and what users' checkers see.

The settings are pyproject.toml's ``[tool.mypy]``. ``tests/typing/usage.py``
asserts the types of the public names (the top level loads them lazily, and
its ``TYPE_CHECKING`` imports must give checkers the real ones, not ``Any``);
``tests/typing/mistakes.py`` holds mistakes that must be caught, one per line
marked ``# error:``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TYPING = ROOT / "tests" / "typing"


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def test_no_module_of_the_package_is_excused_from_the_checks():
    """No per-module baseline: every module passes the same checks (issue 12)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    excused = [
        module
        for override in settings.get("overrides", [])
        for module in override.get("module", [])
        if module.startswith("prefect_cycles") or module.startswith("examples")
    ]
    assert excused == []


def test_the_package_and_the_examples_type_check():
    out = mypy()  # files = prefect_cycles, examples (pyproject.toml)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_public_names_have_their_real_types():
    out = mypy(str(TYPING / "usage.py"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_mistakes_against_the_api_are_caught():
    source = (TYPING / "mistakes.py").read_text().splitlines()
    expected = {n for n, line in enumerate(source, 1) if "# error:" in line}
    out = mypy(str(TYPING / "mistakes.py"))
    found = {int(m[1]) for m in re.finditer(r"mistakes\.py:(\d+): error:", out.stdout)}
    assert found == expected, out.stdout
    assert 'Unexpected keyword argument "bogus_kw"' in out.stdout


def test_dir_shows_the_public_names():
    import prefect_cycles

    assert {"cycle", "cyclic_flow", "load_flow_cylc", "picture"} <= set(dir(prefect_cycles))
