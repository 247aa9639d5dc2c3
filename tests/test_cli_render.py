"""``prefect-cycles render`` and the template variable options of ``graph`` and ``validate``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TEMPLATED = """\
#!Jinja2
[scheduling]
    cycling mode = integer
    final cycle point = {{ FINAL }}
    [[graph]]
{% for t in TASKS %}
        P1 = "{{ t }}[-P1] => {{ t }}"   {# trailing spaces go #}
{% endfor %}
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prefect_cycles", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def templated(tmp_path: Path) -> Path:
    (tmp_path / "flow.cylc").write_text(TEMPLATED)
    (tmp_path / "vars.txt").write_text("FINAL = 9\nTASKS = ['x']\n")
    return tmp_path


def test_render_prints_the_rendered_file(templated: Path) -> None:
    proc = run("render", str(templated), "--set", "FINAL=2", "--set", "TASKS=['a', 'b']")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == textwrap.dedent(
        """\
        [scheduling]
            cycling mode = integer
            final cycle point = 2
            [[graph]]
                P1 = "a[-P1] => a"
                P1 = "b[-P1] => b"
        """
    )


def test_set_wins_over_set_file_in_graph(templated: Path) -> None:
    vars_file = str(templated / "vars.txt")
    proc = run("graph", "--reference", str(templated), "--set-file", vars_file, "--set", "FINAL=2")
    assert proc.returncode == 0, proc.stderr
    assert 'edge "1/x" "2/x"' in proc.stdout
    assert '"3/x"' not in proc.stdout


def test_validate_names_the_undefined_variable(templated: Path) -> None:
    proc = run("validate", str(templated), "--set", "FINAL=2")
    assert proc.returncode == 1
    assert "flow.cylc, line 6: Jinja2 variable 'TASKS' is undefined" in proc.stderr
    assert "--set TASKS=" in proc.stderr


def test_bad_set_value_is_one_line_error(templated: Path) -> None:
    proc = run("render", str(templated), "--set", "FINAL=two")
    assert proc.returncode == 1
    assert "template variable FINAL=two is not a Python literal" in proc.stderr
