"""Two templated workflows in one process: each renders with its own filters and directory."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect_cycles.frontends.templates import render_file

FLOW = """\
#!Jinja2
# {{ "x" | tag }} {{ "x" | here }}
[scheduling]
    [[graph]]
        R1 = "{{ 'a' | tag }}"
"""


def _workflow(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    (folder / "Jinja2Filters").mkdir(parents=True)
    (folder / "flow.cylc").write_text(FLOW)
    (folder / "Jinja2Filters" / "tag.py").write_text(f"def tag(v):\n    return v + '_{name}'\n")
    (folder / "Jinja2Filters" / "here.py").write_text(
        "import os\n\n\ndef here(v):\n    return os.path.basename(os.getcwd())\n"
    )
    return folder / "flow.cylc"


def test_filters_of_the_same_name_in_two_workflows(tmp_path: Path) -> None:
    one, two = _workflow(tmp_path, "one"), _workflow(tmp_path, "two")
    assert 'R1 = "a_one"' in render_file(one)
    assert 'R1 = "a_two"' in render_file(two)  # not the first workflow's tag filter
    assert 'R1 = "a_one"' in render_file(one)


def test_two_workflows_rendered_in_two_threads(tmp_path: Path) -> None:
    files = {name: _workflow(tmp_path, name) for name in ("one", "two")}
    start = threading.Barrier(2)

    def render_many(name: str) -> set[str]:
        start.wait()
        return {render_file(files[name]).splitlines()[0] for _ in range(30)}

    with ThreadPoolExecutor(2) as pool:
        results = {name: pool.submit(render_many, name) for name in files}
        assert results["one"].result() == {"# x_one one"}
        assert results["two"].result() == {"# x_two two"}
