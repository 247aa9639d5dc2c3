"""Rendering templated flow.cylc files as Cylc 8.5 does (prefect_cycles.frontends.templates).

The byte-for-byte comparisons with Cylc are in the differential suite (the
j* cases, rendered with template variables from every source); these tests
pin the pieces and the errors.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prefect_cycles.errors import CycleError, GraphSyntaxError
from prefect_cycles.frontends.roseconf import read_rose_conf, rose_template_variables
from prefect_cycles.frontends.templates import (
    CYLC_VERSION,
    load_set_file,
    parse_set,
    render,
    template_variables,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def rendered(tmp_path: Path, text: str, **tvars: object) -> str:
    flow = write(tmp_path / "flow.cylc", text)
    values, templating = template_variables(tmp_path, template_vars=tvars)
    return render(flow.read_text(), flow, values, templating)


def test_set_values_are_python_literals() -> None:
    assert parse_set(["N=3", "NAME='x'", " L = [1, 'a'] ", "B=True", "S='a=b'"]) == {
        "N": 3,
        "NAME": "x",
        "L": [1, "a"],
        "B": True,
        "S": "a=b",
    }


@pytest.mark.parametrize(
    ("arg", "says"),
    [
        ("NAME=fcst", "quote string values"),
        ("N=[", "not a valid Python literal"),
        ("N", "NAME=VALUE"),
    ],
)
def test_bad_set_names_the_variable_and_the_fix(arg: str, says: str) -> None:
    with pytest.raises(GraphSyntaxError, match=says) as info:
        parse_set([arg])
    assert isinstance(info.value, CycleError)
    assert "Fix:" in str(info.value)


def test_set_file_reads_lines_with_comments(tmp_path: Path) -> None:
    f = write(tmp_path / "vars", "# head\nA = 1  # one\n\nB='two'\n")
    assert load_set_file(f) == {"A": 1, "B": "two"}
    write(f, "A=1\nB=two\n")
    with pytest.raises(GraphSyntaxError, match=r"vars, line 2: template variable B=two"):
        load_set_file(f)


def test_precedence_set_over_set_file_over_rose(tmp_path: Path) -> None:
    write(tmp_path / "rose-suite.conf", "[template variables]\nA=1\nB=1\nC=1\n")
    f = write(tmp_path / "vars", "B=2\nC=2\n")
    values, templating = template_variables(tmp_path, set=["C=3"], set_file=f)
    assert (values["A"], values["B"], values["C"]) == (1, 2, 3)
    assert templating == "template variables"
    assert values["ROSE_SUITE_VARIABLES"]["A"] == 1


def test_plain_file_is_unchanged(tmp_path: Path) -> None:
    text = "[scheduling]\n\n    [[graph]]\n        R1 = a\n"
    assert rendered(tmp_path, text) == text


def test_jinja2_loop_filters_globals_and_blank_lines(tmp_path: Path) -> None:
    out = rendered(
        tmp_path,
        """
        #!Jinja2
        {% set N = 2 %}
        {{ assert(N == 2, 'N must be 2') }}
        # {{ 3 | pad(3, '0') }} {{ 'PT6H' | duration_as('h') | int }}
        # {{ '20200101T06Z' | strftime('%H') }}
        # {{ CYLC_VERSION }} {{ 'N' in CYLC_TEMPLATE_VARS }} {{ 'M' in CYLC_TEMPLATE_VARS }}
        {% for i in range(N) %}
        a{{ i }}
        {% endfor %}
        """,
        M=1,
    )
    assert out == f"# 003 6\n# 06\n# {CYLC_VERSION} False True\na0\na1\n"


def test_includes_and_python_imports(tmp_path: Path) -> None:
    write(tmp_path / "inc" / "a.cylc", "from-percent-include\n")
    write(tmp_path / "inc" / "b.j2", "from-jinja2-include {{ X }}\n")
    out = rendered(
        tmp_path,
        """
        #!jinja2
        {% from "math" import sqrt %}
        {% import "os.path" as osp %}
        %include inc/a.cylc
        {% include "inc/b.j2" %}
        {{ sqrt(16) | int }} {{ osp.basename('/x/y') }}
        """,
        X=5,
    )
    assert out == "from-percent-include\nfrom-jinja2-include 5\n4 y\n"


def test_workflow_filters_directory(tmp_path: Path) -> None:
    write(tmp_path / "Jinja2Filters" / "shout_cr.py", "def shout_cr(v):\n    return v.upper()\n")
    assert rendered(tmp_path, "#!Jinja2\n{{ 'x' | shout_cr }}\n") == "X\n"


def test_lib_python_and_relative_files(tmp_path: Path) -> None:
    write(
        tmp_path / "lib" / "python" / "cr_stations.py",
        "def names():\n    return open('stations.txt').read().split()\n",
    )
    write(tmp_path / "stations.txt", "north south\n")
    out = rendered(tmp_path, '#!Jinja2\n{% from "cr_stations" import names %}{{ names() }}\n')
    assert out == "['north', 'south']\n"


def test_undefined_variable_names_file_line_and_variable(tmp_path: Path) -> None:
    with pytest.raises(GraphSyntaxError) as info:
        rendered(tmp_path, "#!Jinja2\n[scheduling]\n    final cycle point = {{ FINAL }}\n")
    msg = str(info.value)
    assert f"{tmp_path / 'flow.cylc'}, line 3" in msg
    assert "'FINAL' is undefined" in msg
    assert "--set FINAL=" in msg


@pytest.mark.parametrize(
    ("line", "says"),
    [
        # cylc-flow's tests/functional/cylc-combination-scripts/vr_workflow_fail_on_play
        ('{% from "cylc.flow" import LOG %}', "Cylc's own package"),
        ('{% include "missing.cylc" %}', "put missing.cylc in the workflow directory"),
    ],
)
def test_missing_include_or_module_names_it_and_the_fix(
    tmp_path: Path, line: str, says: str
) -> None:
    with pytest.raises(GraphSyntaxError) as info:
        rendered(tmp_path, f"#!Jinja2\n{line}\n[scheduling]\n")
    msg = str(info.value)
    assert "no template file or Python module" in msg and says in msg
    assert "line 2" in msg


def test_undefined_in_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path / "inc.j2", "ok\n{{ MISSING }}\n")
    with pytest.raises(GraphSyntaxError) as info:
        rendered(tmp_path, '#!Jinja2\n{% include "inc.j2" %}\n')
    assert f"{tmp_path / 'inc.j2'}, line 2" in str(info.value)
    assert "'MISSING'" in str(info.value)


def test_syntax_error_and_raise(tmp_path: Path) -> None:
    with pytest.raises(GraphSyntaxError, match=r"flow.cylc, line 3: Jinja2 syntax error"):
        rendered(tmp_path, "#!Jinja2\nok\n{% for %}\n")
    with pytest.raises(GraphSyntaxError, match=r"line 2: the template raised an error: no way"):
        rendered(tmp_path, "#!Jinja2\n{{ raise('no way') }}\n")


def test_empy_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(GraphSyntaxError, match=r"EmPy templates \(#!EmPy\) are not supported"):
        rendered(tmp_path, "#!EmPy\n@{x = 1}\n")
    write(tmp_path / "rose-suite.conf", "[empy:suite.rc]\nX=1\n")
    with pytest.raises(GraphSyntaxError, match=r"\[empy:suite.rc\] asks for EmPy"):
        template_variables(tmp_path)


def test_missing_percent_include(tmp_path: Path) -> None:
    with pytest.raises(GraphSyntaxError, match=r"%include file nope\.cylc not found"):
        rendered(tmp_path, "%include nope.cylc\n")


def test_rose_conf_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CR_WHERE", "north")
    conf = write(
        tmp_path / "rose-suite.conf",
        """
        # comment
        [env]
        CR_ZONE=$CR_WHERE-zone
        [template variables]
        A=true
        B=1,
          2
        C="${CR_ZONE}"
        D='\\$HOME'
        !OFF=1
        [!ignored]
        X=1
        """,
    )
    assert read_rose_conf(conf)["template variables"]["B"] == "1,\n2"
    result = rose_template_variables(tmp_path)
    assert result is not None
    values, templating = result
    assert (values["A"], values["B"], values["C"], values["D"]) == (
        True,
        (1, 2),
        "north-zone",
        "$HOME",
    )
    assert "OFF" not in values and templating == "template variables"


def test_rose_jinja2_section_turns_jinja2_on(tmp_path: Path) -> None:
    write(tmp_path / "rose-suite.conf", "[jinja2:suite.rc]\nB='bee'\n")
    assert rendered(tmp_path, "a => {{ B }}\n") == "a => bee\n"


def test_rose_unset_environment_variable(tmp_path: Path) -> None:
    write(tmp_path / "rose-suite.conf", "[template variables]\nA='$CR_SURELY_NOT_SET_ANYWHERE'\n")
    with pytest.raises(GraphSyntaxError, match=r"\$CR_SURELY_NOT_SET_ANYWHERE is not set"):
        template_variables(tmp_path)
