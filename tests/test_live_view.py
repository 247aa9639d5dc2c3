"""``prefect-cycles run`` in a real terminal: a pseudo-terminal read by a terminal emulator.

Piped, the command prints its view once at the end (tests/test_cli_run.py).
On a terminal the view is live, and Prefect's log lines must print above it:
the pty gives the command a real terminal, and pyte plays its output back
into a screen, as a terminal would show it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[1]
SEED = f"{ROOT / 'examples' / 'seed.py'}:seed"
HEADER = re.compile(r"^Point\s+Done\s+Running\s+Waiting")
COLS, ROWS = 160, 60


def run_in_terminal(*args: str) -> tuple[int, list[str], list[list[str]]]:
    """Run ``prefect-cycles ARGS`` on a pty; the exit status, final screen, and each screen seen."""
    return in_terminal(sys.executable, "-m", "prefect_cycles", *args)


def in_terminal(*argv: str) -> tuple[int, list[str], list[list[str]]]:
    """Run ARGV on a pty read by a terminal emulator."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "COLUMNS")}
    env.update(
        PREFECT_HOME=tempfile.mkdtemp(prefix="prefect-cycles-pty-"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
    )
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen(
        list(argv),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    seen: list[list[str]] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 600)
            if not ready:
                raise AssertionError("no output from the command for 600 s")
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the command ended and closed the terminal
                break
            if not data:
                break
            stream.feed(data)
            seen.append([line.rstrip() for line in screen.display])
    finally:
        os.close(master)
        status = proc.wait(timeout=60)
    return status, [line.rstrip() for line in screen.display], seen


def test_the_live_view_stays_whole_with_prefects_log_lines_above_it():
    status, final, seen = run_in_terminal("run", SEED, "1", "3")
    text = "\n".join(final)
    assert status == 0, text
    headers = [i for i, line in enumerate(final) if HEADER.match(line)]
    assert len(headers) == 1, text  # one table on screen, not copies stacked up
    # Every task's log line stays on screen, above the view.
    said = {
        m[1]: i
        for i, line in enumerate(final)
        for m in [re.search(r"(\w+\.\d) says hi!", line)]
        if m
    }
    assert set(said) == {"prep.1", "foo.1", "foo.2", "foo.3", "bar.1", "bar.2", "bar.3"}, text
    assert max(said.values()) < headers[0], text
    assert "Flow run Completed" in text and "7/7 done" in text
    # At no moment did the terminal show two tables.
    for screen in seen:
        assert sum(bool(HEADER.match(line)) for line in screen) <= 1, "\n".join(screen)


def test_a_png_is_not_written_to_a_terminal():
    status, final, _ = run_in_terminal(
        "graph", str(ROOT / "examples" / "seed-cylc"), "1", "2", "-f", "png"
    )
    text = "\n".join(line for line in final if line)
    assert status == 1
    assert text.startswith("prefect-cycles: error: PNG is a binary image, not for a terminal")
    assert "PNG" in text and "\x89" not in text and "IHDR" not in text
