"""validate and graph --reference over long windows: time and memory against the window.

Each figure is a fresh ``python`` process (so peak memory is its own), for
the same integer flow.cylc (``a[-P1] => a => b``, ``P4 = b[-P2] => c``, and
a ``P4`` task ``d`` excluded at point 5,001, so ``e[5002]`` never runs, beside
``e`` at the 3 points in 4 where ``d`` does not run) over
windows of 1,000 points up to ``+P99999999999``:

- ``validate``: CPU time and peak memory; the ratio of the longest window to
  the 1,000-point one must stay near 1 (the check jumps over the repeats);
- the streamed reference text (``window_reference_lines``): peak memory at
  20,000 and 200,000 points against the whole-window text of
  ``reference_text(unroll(...))`` (time grows with the text: not compared).

Run: ``python benchmarks/bounded_passes.py [--no-docs]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import _common as c

FLOW = '''\
[scheduling]
    cycling mode = integer
    initial cycle point = 1
    final cycle point = {final}
    [[graph]]
        P1 = """
            a[-P1] => a => b
            d[-P1] => e
        """
        P4 = "b[-P2] => c"
        P4!5001 = "d"
'''

PROBE = """\
import json, resource, sys, time
from prefect_cycles.frontends.flowcylc import load_flow_cylc
wf = load_flow_cylc(sys.argv[1])
what = sys.argv[2]
t = time.process_time()
if what == "validate":
    from prefect_cycles.graph.validate import check
    n = len(check(wf))
elif what == "stream":
    from prefect_cycles.show.reference import window_reference_lines
    n = sum(1 for _ in window_reference_lines(wf))
else:
    from prefect_cycles.graph.unroll import unroll
    from prefect_cycles.show.reference import reference_text
    n = reference_text(unroll(wf), wf).count("\\n")
cpu = time.process_time() - t
print(json.dumps({"cpu": cpu, "n": n,
                  "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def probe(root: Path, final: str, what: str) -> dict:
    d = root / f"w{final.replace('+', 'p')}"
    d.mkdir(exist_ok=True)
    (d / "flow.cylc").write_text(FLOW.format(final=final))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(d / "flow.cylc"), what],
        capture_output=True,
        text=True,
        check=True,
        cwd=c.REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(label: str, final: str, output: str, r: dict) -> tuple[str, ...]:
    return (label, final, output, c.secs(r["cpu"]), f"{r['mib']:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    load = c.Load()
    root = Path(tempfile.mkdtemp(prefix="bounded-"))
    rows, v = [], {}
    for final in ("1000", "1000000", "+P99999999999"):
        load.sample()
        v[final] = r = probe(root, final, "validate")
        rows.append(
            ("validate", final, f"{r['n']:,} warnings", c.secs(r["cpu"]), f"{r['mib']:.0f} MiB")
        )
    s = {}
    for final in ("20000", "200000"):
        for what in ("stream", "whole"):
            load.sample()
            s[final, what] = r = probe(root, final, what)
            label = "reference, streamed" if what == "stream" else "reference, whole window"
            rows.append(
                (label, final, f"{r['n']:,} lines", c.secs(r["cpu"]), f"{r['mib']:.0f} MiB")
            )
    load.sample()
    tab = c.table(("pass", "final point", "output", "CPU", "peak memory"), rows)
    summary = [
        f"- validate, CPU at `+P99999999999` / at 1,000 points: "
        f"**{v['+P99999999999']['cpu'] / v['1000']['cpu']:.2f}x**; memory "
        f"{v['+P99999999999']['mib'] / v['1000']['mib']:.2f}x",
        f"- reference text, peak memory at 200,000 / at 20,000 points: streamed "
        f"**{s['200000', 'stream']['mib'] / s['20000', 'stream']['mib']:.2f}x**, whole window "
        f"{s['200000', 'whole']['mib'] / s['20000', 'whole']['mib']:.2f}x",
    ]
    body = "\n".join(
        [
            "## Long windows: validate and the reference text",
            "",
            "`python benchmarks/bounded_passes.py`: one fresh process per figure (CPU time of "
            "the pass, peak RSS of the process, interpreter and imports included), an integer "
            "flow.cylc whose warnings repeat every 4 points, with one more after the excluded "
            "point 5,001.",
            "",
            tab,
            "",
            *summary,
            "",
            f"Machine: {c.machine()}. 1-minute load average: {load}.",
        ]
    )
    print(body)
    if not args.no_docs:
        c.update_docs("bounded_passes", body, c.SECTIONS)


if __name__ == "__main__":
    main()
