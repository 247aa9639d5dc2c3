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
        "from prefect_cycles.show.cli import main\n"
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


# -- graph pictures (issue 5) ----------------------------------------------------------


def _dot_missing_env(tmp_path: Path) -> dict[str, str]:
    """The environment with a PATH that holds no Graphviz ``dot``."""
    import os

    empty = tmp_path / "no-dot-bin"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty)}


def test_graph_defaults_to_the_text_picture(seed_dir: Path):
    out = run("graph", str(seed_dir), "1", "2")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        f"{seed_dir.name}: points 1 to 2\n"
        "\n"
        "point 1\n"
        "  prep\n"
        "  foo   <- prep\n"
        "  bar   <- foo\n"
        "point 2\n"
        "  foo   <- foo[1]\n"
        "  bar   <- foo\n"
    )
    # Without START and STOP the window is the initial point to the final point.
    whole = run("graph", str(seed_dir))
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.splitlines()[0] == f"{seed_dir.name}: points 1 to 4"
    assert "point 4\n" in whole.stdout


def test_graph_formats_mermaid_dot_and_collapsed(seed_dir: Path):
    mermaid = run("graph", str(seed_dir), "1", "2", "--format", "mermaid")
    assert mermaid.returncode == 0, mermaid.stderr
    lines = mermaid.stdout.splitlines()
    assert lines[3] == "flowchart LR"
    assert "  t_prep_AT_1 --> t_foo_AT_1" in lines
    assert [line for line in lines if line.startswith("  subgraph ")] == [
        '  subgraph p_1 ["1"]',
        '  subgraph p_2 ["2"]',
    ]
    collapsed = run("graph", str(seed_dir), "--format", "mermaid", "--collapsed")
    assert collapsed.returncode == 0, collapsed.stderr
    assert '  t_prep["prep (R1)"]' in collapsed.stdout.splitlines()
    assert '  t_foo -->|"[-P1]"| t_foo' in collapsed.stdout.splitlines()
    dot = run("graph", str(seed_dir), "1", "2", "-f", "dot")
    assert dot.stdout.startswith("digraph ") and '"1/prep" -> "1/foo"' in dot.stdout
    text = run("graph", str(seed_dir), "--collapsed")
    assert "graph\n  R1  prep => foo\n" in text.stdout


def test_graph_writes_svg_and_png_files(seed_dir: Path, tmp_path: Path):
    import os
    import shutil
    import xml.etree.ElementTree as ET

    svg, png = tmp_path / "seed.svg", tmp_path / "seed.png"
    out_svg = run("graph", str(seed_dir), "--format", "svg", "--output", str(svg))
    out_png = run("graph", str(seed_dir), "1", "3", "--output", str(png))  # format from suffix
    if shutil.which("dot") is None:
        assert os.environ.get("PREFECT_CYCLES_REQUIRE_DOT") != "1", "Graphviz's dot is missing"
        for out in (out_svg, out_png):
            assert out.returncode == 1 and "apt install graphviz" in out.stderr
        return
    assert out_svg.returncode == 0, out_svg.stderr
    assert out_svg.stdout == ""
    assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert out_png.returncode == 0, out_png.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") > 0 and int.from_bytes(data[20:24], "big") > 0
    # PNG to a pipe is fine: the bytes are the image.
    piped = subprocess.run(
        [sys.executable, "-m", "prefect_cycles", "graph", str(seed_dir), "-f", "png"],
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stdout[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_refuses_png_to_a_terminal(seed_dir: Path):
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "prefect_cycles", "graph", str(seed_dir), "-f", "png"],
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert out.returncode == 1
    assert "not for a terminal" in out.stderr and "--output" in out.stderr
    assert "Traceback" not in out.stderr


def test_graph_without_dot_names_the_package_and_text_formats_still_work(
    seed_dir: Path, tmp_path: Path
):
    env = _dot_missing_env(tmp_path)
    cmd = [sys.executable, "-m", "prefect_cycles", "graph", str(seed_dir)]
    svg = subprocess.run([*cmd, "-f", "svg"], capture_output=True, text=True, env=env, timeout=120)
    assert svg.returncode == 1
    assert svg.stderr.startswith("prefect-cycles: error:") and "Traceback" not in svg.stderr
    assert "dot program" in svg.stderr and "apt install graphviz" in svg.stderr
    for fmt, start in (("dot", "digraph "), ("mermaid", "---\n"), ("text", seed_dir.name)):
        ok = subprocess.run([*cmd, "-f", fmt], capture_output=True, text=True, env=env, timeout=120)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith(start)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reference", "--format", "dot"], "two different formats"),
        (["--reference", "--collapsed"], "no collapsed form"),
        (["--collapsed", "1", "2"], "no window"),
        (["--output", "graph.jpeg"], "suffix"),
        (["3", "2"], "before the start point"),
    ],
)
def test_graph_option_mistakes_are_clear_errors(seed_dir: Path, args: list[str], message: str):
    out = run("graph", str(seed_dir), *args, cwd=seed_dir)
    assert out.returncode == 1
    assert message in out.stderr and "Fix:" in out.stderr
    assert "Traceback" not in out.stderr


def test_graph_reference_is_unchanged_by_the_picture_formats(seed_dir: Path):
    by_flag = run("graph", "--reference", str(seed_dir), "1", "4")
    by_format = run("graph", str(seed_dir), "1", "4", "--format", "reference")
    assert by_flag.stdout == by_format.stdout == SEED_REFERENCE


def test_graph_help_explains_the_formats():
    out = run("graph", "--help")
    assert out.returncode == 0
    for word in ("--format", "mermaid", "png", "--collapsed", "--output", "Graphviz"):
        assert word in out.stdout
