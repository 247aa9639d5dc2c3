"""Unrolling the seed graph: prefect-cycles against ``cylc graph --reference``.

The seed workflow (integer cycling, no final point)::

    R1 = "prep => foo"
    P1 = "foo[-P1] => foo => bar"

is written to a flow.cylc in a temporary directory and unrolled from 1 to N:

- ``prefect-cycles graph --reference DIR 1 N`` as a subprocess (start-up and
  imports included), at N = 1,000, 10,000 and 100,000;
- ``unroll()`` + ``reference_text()`` in-process, timed alone;
- ``cylc graph --reference DIR 1 N`` (Cylc 8.5) at 1,000 and 10,000 (and
  100,000 with ``--full``: many minutes), the baseline for the ratios.

Outputs are compared byte for byte wherever both ran. Then memory: a lazy
``Unroller(workflow).walk()`` with no final point over 100,000 and 1,000,000
points, and the scheduler driven over the same, each in a subprocess
reporting its peak RSS, against a subprocess that only imports
prefect_cycles.

Cylc comes from ``$PREFECT_CYCLES_CYLC`` or the repository's ``.cylc-venv/``
(created on first use, as the differential tests do).

Run: ``python benchmarks/unroll_vs_cylc.py [--full] [--repeat 3] [--no-wait]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO_ROOT))
from tests.differential import harness  # the Cylc install, shared with the tests

FLOW_CYLC = """\
[scheduler]
    allow implicit tasks = True
[scheduling]
    cycling mode = integer
    initial cycle point = 1
    [[graph]]
        R1 = "prep => foo"
        P1 = "foo[-P1] => foo => bar"
"""

SIZES = (1_000, 10_000, 100_000)
CYLC_SIZES = (1_000, 10_000)
WALK_SIZES = (100_000, 1_000_000)

#: Run in a fresh interpreter: import, then optionally walk or schedule N points;
#: print peak RSS (KiB), instances and seconds as JSON.
MEMORY_SCRIPT = """\
import json, resource, sys, time
mode, n, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import prefect_cycles
count, seconds = 0, 0.0
if mode == "walk":
    from prefect_cycles.frontends.flowcylc import load_flow_cylc
    from prefect_cycles.graph.unroll import Unroller
    wf = load_flow_cylc(src)
    assert wf.final is None
    t0 = time.perf_counter()
    for inst, _ in Unroller(wf).walk():
        if inst.point > n:
            break
        count += 1
    seconds = time.perf_counter() - t0
elif mode == "schedule":
    from prefect_cycles.frontends.flowcylc import load_flow_cylc
    from prefect_cycles.run.scheduler import Scheduler
    wf = load_flow_cylc(src)
    sched = Scheduler(wf)
    t0 = time.perf_counter()
    while True:
        batch = [r.instance for r in sched.ready() if r.instance.point <= n]
        if not batch:
            break
        for inst in batch:
            sched.started(inst)
            sched.finished(inst, True)
        count += len(batch)
    seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hwm = None
try:
    with open("/proc/self/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"rss_kib": rss, "hwm_kib": hwm, "instances": count, "seconds": seconds}))
"""


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, check=False, timeout=7200)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
    return proc.stdout.decode()


def timed(cmd: list[str], repeat: int, **kw) -> tuple[float, str]:
    """Best wall-clock time of ``repeat`` runs, and the (last) output."""
    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = run(cmd, **kw)
        times.append(time.perf_counter() - t0)
    return c.best(times), out


def in_process(src: Path, n: int, repeat: int) -> tuple[float, str]:
    from prefect_cycles.frontends.flowcylc import load_flow_cylc
    from prefect_cycles.graph.unroll import unroll
    from prefect_cycles.show.reference import reference_text

    wf = load_flow_cylc(src)
    text = ""

    def once() -> None:
        nonlocal text
        text = reference_text(unroll(wf, 1, n), wf)

    return c.best(c.measure(once, repeat)), text


def memory(src: Path, mode: str, n: int) -> dict:
    out = run([sys.executable, "-c", MEMORY_SCRIPT, mode, str(n), str(src)])
    return json.loads(out.strip().splitlines()[-1])


def peak(m: dict) -> int:
    """Peak RSS of a memory run in KiB: VmHWM where Linux has it, else ru_maxrss."""
    return m["hwm_kib"] if m["hwm_kib"] is not None else m["rss_kib"]


def mib(m: dict, base: dict) -> list[str]:
    """ru_maxrss, VmHWM and growth of the peak over the import-only baseline, in MiB."""
    hwm = "-" if m["hwm_kib"] is None else f"{m['hwm_kib'] / 1024:.1f} MiB"
    grow = "-" if m is base else f"{(peak(m) - peak(base)) / 1024:+.1f} MiB"
    return [f"{m['rss_kib'] / 1024:.1f} MiB", hwm, grow]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="also run Cylc at 100,000 points")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing; best is kept")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    repeat = args.repeat
    cylc_sizes = (*CYLC_SIZES, 100_000) if args.full else CYLC_SIZES

    with tempfile.TemporaryDirectory(prefix="prefect-cycles-bench-") as tmp:
        root = Path(tmp)
        src = root / "seed"
        src.mkdir()
        (src / "flow.cylc").write_text(FLOW_CYLC)
        cylc = harness.provide_cylc(root / "cylc-home")
        pc = harness.prefect_cycles_command()

        load = c.Load()
        start_load = None if args.no_wait else c.wait_for_quiet()
        load.sample()
        print(f"machine: {c.machine()}", flush=True)

        # Memory first, while this process is small: on Linux a child's
        # ru_maxrss starts from its parent's RSS at fork (VmHWM does not).
        mem_rows = []
        base = memory(src, "import", 0)
        mem_rows.append(["`import prefect_cycles` only", "-", *mib(base, base)])
        mem: dict[tuple[str, int], dict] = {}
        for mode in ("walk", "schedule"):
            for n in WALK_SIZES:
                m = mem[(mode, n)] = memory(src, mode, n)
                label = "Unroller.walk()" if mode == "walk" else "Scheduler ready/finished"
                mem_rows.append(
                    [
                        f"{label} to point {n:,} ({m['instances']:,} instances)",
                        c.secs(m["seconds"]),
                        *mib(m, base),
                    ]
                )
            load.sample()
        mem_table = c.table(
            ["run (fresh interpreter)", "time", "peak RSS (ru_maxrss)", "VmHWM", "over import"],
            mem_rows,
        )

        # Start-up: the same command over a single point (imports, reading the
        # flow.cylc, writing the text); the rest of each time is per point.
        one = ["graph", "--reference", str(src), "1", "1"]
        pc_startup, _ = timed([*pc, *one], repeat)
        cy_startup, _ = timed([str(cylc.executable), *one], repeat, env=cylc.env, cwd=cylc.home)
        load.sample()

        rows = []
        identical: dict[int, bool] = {}
        results: dict[int, dict[str, float | None]] = {}
        for n in SIZES:
            cmd_args = ["graph", "--reference", str(src), "1", str(n)]
            t_sub, out_pc = timed([*pc, *cmd_args], repeat)
            t_in, text = in_process(src, n, repeat)
            assert text == out_pc, f"in-process text differs from the command's at {n}"
            t_cy = None
            if n in cylc_sizes:
                reps = repeat if n <= 10_000 else 1
                t_cy, out_cy = timed(
                    [str(cylc.executable), *cmd_args], reps, env=cylc.env, cwd=cylc.home
                )
                identical[n] = out_cy == out_pc
            load.sample()
            results[n] = {"sub": t_sub, "in": t_in, "cylc": t_cy}
            rows.append(
                [
                    f"{n:,}",
                    c.secs(t_cy),
                    c.secs(t_sub),
                    c.secs(t_in),
                    c.ratio(t_cy, t_sub),
                    c.ratio(t_cy, t_in),
                    c.per(None if t_cy is None else t_cy - cy_startup, n - 1),
                    c.per(t_sub - pc_startup, n - 1),
                    c.per(t_in, n),
                    {True: "yes", False: "NO", None: "-"}[identical.get(n)],
                ]
            )
            print(f"  {n:,} points: done", flush=True)

        headers = [
            "points",
            "cylc graph",
            "prefect-cycles graph",
            "unroll+reference in-process",
            "speed-up (command)",
            "speed-up (in-process)",
            "Cylc per point (less start-up)",
            "command per point (less start-up)",
            "in-process per point",
            "byte-identical",
        ]
        speed_table = c.table(headers, rows)

    # Targets.
    r10 = results[10_000]
    speedup = r10["cylc"] / r10["sub"] if r10["cylc"] else None
    per_sub = [(results[n]["sub"] - pc_startup) / (n - 1) for n in SIZES]
    per_in = [results[n]["in"] / n for n in SIZES]
    linear = max(per_in) / min(per_in)
    walk_growth = (peak(mem[("walk", 1_000_000)]) - peak(mem[("walk", 100_000)])) / 1024
    sched_growth = (peak(mem[("schedule", 1_000_000)]) - peak(mem[("schedule", 100_000)])) / 1024
    targets = [
        f"- At least 100x faster than Cylc at 10,000 points (command vs command): "
        f"**{speedup:.0f}x**, {'met' if speedup and speedup >= 100 else 'NOT met'}.",
        f"- Output byte-identical to Cylc's at "
        f"{', '.join(f'{n:,}' for n in identical)} points: "
        f"**{'yes' if all(identical.values()) else 'NO'}**.",
        "- Linear in points: time per point at 1,000 / 10,000 / 100,000 points is "
        + " / ".join(f"{t * 1e6:.1f}" for t in per_in)
        + f" µs in-process (largest/smallest {linear:.2f}), "
        + " / ".join(f"{t * 1e6:.1f}" for t in per_sub)
        + " µs for the command less its start-up (at 1,000 points mostly noise: "
        "start-up is most of that run).",
        f"- Bounded memory: peak RSS grows by {walk_growth:+.1f} MiB (walk) and "
        f"{sched_growth:+.1f} MiB (scheduler) from 100,000 to 1,000,000 points.",
    ]

    load_text = str(load) if start_load is None else f"{start_load:.2f} at start, {load}"
    body = "\n\n".join(
        [
            "## Unrolling: prefect-cycles against `cylc graph --reference`",
            f"`python benchmarks/unroll_vs_cylc.py{' --full' if args.full else ''}`: the seed "
            'graph (`R1 = "prep => foo"`, `P1 = "foo[-P1] => foo => bar"`, integer cycling) '
            "in a flow.cylc, unrolled from 1 to N. Times are the **best of "
            f"{repeat}** runs (Cylc at 100,000: one run). The commands are subprocesses, "
            "start-up included; start-up is the same command over one point "
            f"(`graph --reference DIR 1 1`): {c.secs(pc_startup)} for prefect-cycles, "
            f"{c.secs(cy_startup)} for Cylc, and the per-point columns leave it out. "
            "Speed-ups are Cylc's time over ours.",
            speed_table,
            "Memory: each row is a fresh interpreter that loads the flow.cylc (no final "
            "point) and consumes instances lazily up to the given point (the scheduler "
            "rows also mark each instance started and succeeded); one run each. Peak RSS "
            "is `resource.getrusage().ru_maxrss` and `VmHWM` from /proc/self/status; on "
            "Linux a child's ru_maxrss starts from its parent's RSS at fork, which is why "
            "the import-only row shows more there, so growth is taken from VmHWM.",
            mem_table,
            "\n".join(targets),
            f"Machine: {c.machine()}; Cylc {cylc.version}. 1-minute load average: {load_text}.",
        ]
    )
    print()
    print(speed_table)
    print()
    print(mem_table)
    print()
    print("\n".join(targets))
    print(f"load average: {load_text}")
    if not args.no_docs:
        c.update_docs("unroll_vs_cylc", body, c.SECTIONS)
        print(f"updated {c.DOCS.relative_to(c.REPO_ROOT)}")


if __name__ == "__main__":
    main()
