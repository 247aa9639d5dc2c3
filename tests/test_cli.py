"""The prefect-cycles command, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SEED_CYLC = """\
[scheduling]
    cycling mode = integer
    initial cycle point = 1
    final cycle point = 4
    [[graph]]
        R1 = "prep => foo"
        P1 = "foo[-P1] => foo => bar"
[runtime]
    [[prep, foo, bar]]
"""

SEED_REFERENCE = """\
edge "1/foo" "1/bar"
edge "1/foo" "2/foo"
edge "2/foo" "2/bar"
edge "2/foo" "3/foo"
edge "3/foo" "3/bar"
edge "3/foo" "4/foo"
edge "4/foo" "4/bar"
edge "1/prep" "1/foo"
graph
node "1/bar" "bar\\n1"
node "2/bar" "bar\\n2"
node "3/bar" "bar\\n3"
node "4/bar" "bar\\n4"
node "1/foo" "foo\\n1"
node "2/foo" "foo\\n2"
node "3/foo" "foo\\n3"
node "4/foo" "foo\\n4"
node "1/prep" "prep\\n1"
stop
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prefect_cycles", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    (tmp_path / "flow.cylc").write_text(SEED_CYLC)
    return tmp_path


def test_graph_reference_matches_cylc_format(seed_dir: Path):
    out = run("graph", "--reference", str(seed_dir), "1", "4")
    assert out.returncode == 0, out.stderr
    assert out.stdout == SEED_REFERENCE
    # A flow.cylc file works as well as its directory.
    assert run("graph", "--reference", str(seed_dir / "flow.cylc"), "1", "4").stdout == (
        SEED_REFERENCE
    )


def test_python_entrypoint_source_gives_the_same_graph(tmp_path: Path):
    (tmp_path / "wf.py").write_text(
        textwrap.dedent(
            """
            from prefect_cycles import from_graph
            seed = from_graph({"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}, 1, 4)
            """
        )
    )
    out = run("graph", "--reference", f"{tmp_path / 'wf.py'}:seed", "1", "4")
    assert out.returncode == 0, out.stderr
    assert out.stdout == SEED_REFERENCE


def test_the_seed_example_flow_is_a_source():
    example = Path(__file__).parents[1] / "examples" / "seed.py"
    out = run("graph", "--reference", f"{example}:seed", "1", "4")
    assert out.returncode == 0, out.stderr
    assert out.stdout == SEED_REFERENCE


def test_validate_ok_prints_warnings_and_exits_zero(tmp_path: Path):
    (tmp_path / "flow.cylc").write_text(
        SEED_CYLC.replace(
            'P1 = "foo[-P1] => foo => bar"',
            'P1 = """foo[-P1] => foo => bar\n            foo[+P1] => baz"""',
        )
    )
    out = run("validate", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "WARNING: baz[4] never runs: it needs foo[5]" in out.stdout
    assert "past the final point 4" in out.stdout
    assert "Valid" in out.stdout


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ('P1 = "a => b => a"', "loop"),
        ('P1 = "foo => foo"', "itself"),
        ('P1 = "a[-P1] => b"', "only appears with a cycle offset"),
        ('P1 = "a => b | c"', "|"),
        ('P1 = """a => b?\\n b => c"""', "both required and optional"),
        ('P1 = "a[-PT6H] => a"', "integer"),
        ('Q9 = "a"', "Q9"),
    ],
)
def test_validate_errors_exit_one_with_no_traceback(tmp_path: Path, graph: str, message: str):
    (tmp_path / "flow.cylc").write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        "    final cycle point = 3\n    [[graph]]\n        " + graph.replace("\\n", "\n") + "\n"
    )
    out = run("validate", str(tmp_path))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("prefect-cycles: error:")
    assert message in out.stderr
    assert "Fix:" in out.stderr


def test_bad_sources_are_clear_errors(tmp_path: Path):
    missing = run("graph", "--reference", str(tmp_path / "nowhere"), "1", "2")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    (tmp_path / "x.py").write_text("value = 3\n")
    wrong = run("validate", f"{tmp_path / 'x.py'}:value")
    assert wrong.returncode == 1 and "not a cyclic workflow" in wrong.stderr
    assert run("validate", f"{tmp_path / 'x.py'}:other").returncode == 1


def test_flow_cylc_commands_do_not_import_prefect(seed_dir: Path):
    code = (
        "import sys\n"
        "from prefect_cycles.cli import main\n"
        f"main(['validate', {str(seed_dir)!r}])\n"
        f"main(['graph', '--reference', {str(seed_dir)!r}, '1', '4'])\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("False")


def test_help_is_useful_on_its_own():
    out = run("graph", "--help")
    assert out.returncode == 0
    assert "reference" in out.stdout and "SOURCE" in out.stdout.upper()
