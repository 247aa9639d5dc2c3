"""MkDocs hook: pictures and help texts made by prefect-cycles' own command.

A page asks for a picture with a marker on a line of its own::

    <!-- prefect-cycles graph examples/seed.py:seed 1 4 -->

The words after ``graph`` are the command's arguments (SOURCE, START, STOP,
options). At build time the hook runs ``python -m prefect_cycles graph ARGS
--format mermaid`` in the repository root and puts its output in a
``mermaid`` fence, which Material renders as a diagram, with the command
under it. Likewise ``<!-- prefect-cycles help COMMAND -->`` inserts the text
of ``prefect-cycles COMMAND --help`` (``<!-- prefect-cycles help -->``: the
top-level help), so the command-line page shows the real help.

A command that fails, prints nothing, or a marker that is not well formed
fails the build: a page never shows a stale or empty picture.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

#: A well-formed marker, alone on its line.
MARKER = re.compile(
    r"^<!--\s*prefect-cycles\s+(?P<kind>graph|help)\b(?P<args>[^\n]*?)\s*-->[ \t]*$", re.M
)
#: Anything that looks like a marker, to catch misspelt ones.
ANY_MARKER = re.compile(r"<!--\s*prefect-cycles\b[^\n]*")
TIMEOUT = 120  # seconds for one command

#: Terminal width for help texts, so they fit the page and do not depend on the builder's.
HELP_COLUMNS = "88"

_outputs: dict[tuple[str, str], str] = {}


def _command(kind: str, args: str) -> tuple[list[str], str]:
    """The command a marker asks for, and how the page shows it."""
    given = shlex.split(args)
    words = ["graph", *given, "--format", "mermaid"] if kind == "graph" else [*given, "--help"]
    return [sys.executable, "-m", "prefect_cycles", *words], shlex.join(["prefect-cycles", *words])


def _run(kind: str, args: str, root: Path) -> str:
    cmd, shown = _command(kind, args)
    env = {**os.environ, "COLUMNS": HELP_COLUMNS, "NO_COLOR": "1", "TERM": "dumb"}
    try:
        done = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise PluginError(f"`{shown}` took over {TIMEOUT} s") from None
    if done.returncode != 0:
        raise PluginError(
            f"`{shown}` failed with exit status {done.returncode}:\n{done.stderr.strip()}"
        )
    if not done.stdout.strip():
        raise PluginError(f"`{shown}` printed nothing\n{done.stderr.strip()}")
    return "\n".join(line.rstrip() for line in done.stdout.strip("\n").splitlines())


def _block(kind: str, args: str, output: str) -> str:
    shown = _command(kind, args)[1]
    if kind == "graph":
        return f"```mermaid\n{output}\n```\n\n<small>Drawn at build time by `{shown}`.</small>"
    return f"```text\n$ {shown}\n{output}\n```"


def on_pre_build(config: Any) -> None:
    """Forget the last build's outputs, so `mkdocs serve` redraws changed examples."""
    _outputs.clear()


def on_files(files: Any, config: Any) -> Any:
    """Run every command the pages ask for, a few at a time."""
    root = Path(config["config_file_path"]).parent
    wanted: set[tuple[str, str]] = set()
    for file in files.documentation_pages():
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        wanted.update((m["kind"], m["args"].strip()) for m in MARKER.finditer(text))
    keys = sorted(wanted)
    with ThreadPoolExecutor(max_workers=3) as pool:
        _outputs.update(zip(keys, pool.map(lambda key: _run(*key, root), keys), strict=True))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each marker on the page by what its command printed."""

    def insert(m: re.Match[str]) -> str:
        key = (m["kind"], m["args"].strip())
        if key not in _outputs:  # a page on_files did not see (should not happen)
            _outputs[key] = _run(*key, Path(config["config_file_path"]).parent)
        return _block(*key, _outputs[key])

    out = MARKER.sub(insert, markdown)
    bad = ANY_MARKER.search(out)
    if bad:
        raise PluginError(
            f"{page.file.src_uri}: malformed marker {bad.group(0)!r}; write "
            "<!-- prefect-cycles graph SOURCE [START STOP] [OPTIONS] --> or "
            "<!-- prefect-cycles help [COMMAND] --> on a line of its own"
        )
    return out
