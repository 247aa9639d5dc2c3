"""Sweep real workflows: every flow.cylc of some git repositories, Cylc 8.5 against us.

For each ``flow.cylc`` (with the rose-suite.conf and includes beside it, in a
copy of its repository's tree):

1. ``cylc validate`` (with the template variables of a rose-suite.conf
   beside it, through cylc-rose when Cylc has it): what Cylc refuses is
   counted, not compared;
2. Cylc's own initial point (``now``, ``next(T00)`` resolved), its Nth
   cycle point and the text of ``cylc graph --reference DIR START STOP``
   over that window, from ``_cylc_window.py`` run by Cylc's Python (one
   process instead of two);
3. ``prefect-cycles graph --reference DIR START STOP``, compared byte for byte.

Each file is classified ``identical``, ``matches-scheduler`` (differs from
``cylc graph`` only by instances Cylc draws but its scheduler never runs,
checked by a simulation-mode run as the suite's ``# expect: scheduler``
cases are), ``differs``, ``we-refuse`` (Cylc
draws it, prefect-cycles exits non-zero), ``both-refuse`` (Cylc's validate
fails and so does ``prefect-cycles validate``), ``cylc-refuses`` (only Cylc
refuses: nothing to compare) or ``cylc-error`` (Cylc validates it but its
graph or points fail: nothing to compare). Cylc 7 ``suite.rc`` files are
counted apart: prefect-cycles refuses them by design.

Usage (from the repository root; Cylc as for the differential suite)::

    PREFECT_CYCLES_CYLC=/path/to/cylc python -m tests.differential.sweep \\
        --mirrors /work/.mirror --work /tmp/sweep -j 2 [--only SUBSTRING] [--points 5]

``--mirrors`` holds ``owner+name/repo`` git directories (no work tree
needed); each HEAD is extracted once under ``WORK/src``. Cylc's outputs are
cached under ``WORK/cache`` (keyed by the workflow's directory contents, the
window and the Cylc version), so a second sweep only reruns prefect-cycles.
Results go to ``WORK/results.jsonl`` (``results-only.jsonl`` with
``--only``) and a summary to stdout: counts per class and per repository,
and the first line of each refusal, most frequent first. Runs nice, with a timeout per command.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import harness

HERE = Path(__file__).resolve().parent
WINDOW_SCRIPT = HERE / "_cylc_window.py"
TIMEOUT = 90  # seconds, one command
SKIP_PARTS = {"log", "work", "share", ".service", "runN", ".git"}
#: What cylc-flow's functional tests find in their environment ({{ environ[...] }}),
#: given to both tools.
TEST_ENVIRONMENT = {"CYLC_TEST_PLATFORM": "localhost", "TEST_DIR": "/tmp"}


@dataclass
class Result:
    repo: str
    path: str
    status: str
    window: str = ""
    detail: str = ""
    cylc_seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def extract(mirrors: Path, src: Path) -> list[tuple[str, str]]:
    """``git archive HEAD`` of each mirror into src/<repo>; (repo, commit) pairs."""
    repos = []
    for git_dir in sorted(mirrors.glob("*/repo")):
        repo = git_dir.parent.name
        commit = subprocess.run(
            ["git", "-C", str(git_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if not commit:
            continue
        target = src / repo
        stamp = target / ".sweep-commit"
        if not (stamp.is_file() and stamp.read_text() == commit):
            target.mkdir(parents=True, exist_ok=True)
            _extract_tree(git_dir, target)
            stamp.write_text(commit)
        repos.append((repo, commit))
    return repos


def _extract_tree(git_dir: Path, target: Path) -> None:
    """Every blob of HEAD under target, skipping blobs the mirror lacks (``git archive``
    stops at the first missing one, e.g. a large data file never fetched)."""
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "HEAD"],
        capture_output=True,
        check=False,
    ).stdout.decode(errors="replace")
    entries = []
    for item in filter(None, listing.split("\0")):
        meta, path = item.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and mode != "120000":
            entries.append((sha, path))
    batch = subprocess.Popen(
        ["git", "-C", str(git_dir), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert batch.stdin is not None and batch.stdout is not None
    for sha, path in entries:
        batch.stdin.write(sha.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)  # the newline after each object
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    batch.stdin.close()
    batch.wait()


def find_workflows(root: Path, name: str) -> list[Path]:
    return sorted(
        p
        for p in root.rglob(name)
        if p.is_file() and not SKIP_PARTS & set(p.relative_to(root).parts)
    )


def _digest(directory: Path) -> str:
    """The workflow's own files (not subdirectories' workflows), for the cache key."""
    h = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.stat().st_size < 2_000_000:
            h.update(str(p.relative_to(directory)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:20]


class Sweep:
    def __init__(self, cylc: harness.Cylc, work: Path, points: int, pythonpath: str | None):
        self.cylc = cylc
        self.cylc.env.update(TEST_ENVIRONMENT)
        self.cache = work / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.points = points
        self.env = {**os.environ, **TEST_ENVIRONMENT}
        if pythonpath:
            self.env["PYTHONPATH"] = pythonpath
        self.env.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="sweep-prefect-"))

    def _cylc(self, args: list[str]) -> tuple[int, str, str]:
        return self._nice(self.cylc.executable, args)

    def _nice(self, program: object, args: list[str]) -> tuple[int, str, str]:
        """Run one of Cylc's programs, niced, in its own environment: (status, out, err)."""
        proc = subprocess.run(
            ["nice", str(program), *args],
            env=self.cylc.env,
            cwd=self.cylc.home,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        return (
            proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )

    def _cylc_python(self, args: list[str]) -> tuple[int, str, str]:
        return self._nice(self.cylc.python, args)

    def cylc_side(self, directory: Path) -> dict:
        """Cylc's verdict, window and graph text for one workflow (cached)."""
        key = hashlib.sha256(
            f"{self.cylc.version}|{directory}|{_digest(directory)}|{self.points}|"
            f"{WINDOW_SCRIPT.read_text()}{_environment_key(directory)}".encode()
        ).hexdigest()[:24]
        cached = self.cache / f"{key}.json"
        if cached.is_file():
            data = json.loads(cached.read_text())
            # a wall-clock initial point moves with the day: recompute then
            if not _wall_clock(directory):
                return data
        data: dict = {}
        rc, out, err = self._cylc(["validate", str(directory)])
        data["validate"] = rc
        data["validate_error"] = _last_lines(err or out)
        if rc == 0:
            rc, out, err = self._cylc_python([str(WINDOW_SCRIPT), str(directory), str(self.points)])
            if rc != 0:
                data["error"] = "window or graph: " + _last_lines(err)
            else:
                window = json.loads(out)
                # the helper also printed `cylc graph --reference DIR INITIAL STOP`
                data.update(window)
                data["wall_clock"] = _wall_clock(directory)
        cached.write_text(json.dumps(data))
        return data

    def ours(self, args: list[str]) -> tuple[int, str, str]:
        command = [*harness.prefect_cycles_command(), *args]
        try:
            proc = subprocess.run(
                ["nice", *command],
                env=self.env,
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return -1, "", f"timed out after {TIMEOUT} s"
        return (
            proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )

    def one(self, repo: str, src: Path, flow: Path) -> Result:
        directory = flow.parent
        result = Result(repo, str(flow.relative_to(src / repo)), "")
        try:
            cylc = self.cylc_side(directory)
        except subprocess.TimeoutExpired:
            result.status, result.detail = "cylc-error", f"cylc timed out after {TIMEOUT} s"
            return result
        if cylc["validate"] != 0:
            rc, _, err = self.ours(["validate", str(directory)])
            result.status = "both-refuse" if rc != 0 else "cylc-refuses"
            result.detail = "cylc: " + cylc["validate_error"]
            if rc != 0:
                result.extra["ours"] = _first_error(err)
            return result
        if "error" in cylc:
            result.status, result.detail = "cylc-error", cylc["error"]
            return result
        start, stop = cylc["initial"], cylc["stop"]
        result.window = f"{start} {stop}"
        rc, out, err = self.ours(["graph", "--reference", str(directory), "--", start, stop])
        if rc != 0:
            result.status, result.detail = "we-refuse", _first_error(err or out)
        elif out == cylc["graph"]:
            result.status = "identical"
        else:
            result.status = "differs"
            result.detail = _diff(cylc["graph"], out)
            scheduler = self.scheduler_side(directory, cylc)
            if scheduler.get("text") == out:
                result.status = "matches-scheduler"
                result.detail = scheduler["explain"]
            elif "error" in scheduler:
                result.extra["scheduler"] = scheduler["error"]
        return result

    def scheduler_side(self, directory: Path, cylc: dict) -> dict:
        """What Cylc's scheduler runs over the window (simulation mode), cached.

        ``cylc graph`` also draws instances that can never run (a parent past
        the final point...); prefect-cycles draws what runs, as the
        differential suite's ``# expect: scheduler`` cases do.
        """
        window = harness.Window(cylc["initial"], cylc["stop"])
        key = hashlib.sha256(
            f"sim|{self.cylc.version}|{directory}|{_digest(directory)}|{window}".encode()
        ).hexdigest()[:24]
        cached = self.cache / f"{key}.json"
        if cached.is_file() and not _wall_clock(directory):
            return json.loads(cached.read_text())
        case = harness.Case(directory.name, directory, (window,), harness.EXPECT_SCHEDULER)
        try:
            run = harness.simulate(
                self.cylc, case, window, runahead=max(4, cylc.get("points", 0) + 2)
            )
            expectation = harness.restrict_to_scheduler(cylc["graph"], run)
            data = {"text": expectation.text, "explain": expectation.explain()}
        except (harness.HarnessError, subprocess.TimeoutExpired, OSError) as exc:
            data = {"error": str(exc)[-600:]}
        cached.write_text(json.dumps(data))
        return data


def _environment_key(directory: Path) -> str:
    """TEST_ENVIRONMENT, for the cache key of a workflow that reads its environment."""
    text = (directory / "flow.cylc").read_text(errors="replace")
    return f"|{TEST_ENVIRONMENT}" if "environ" in text else ""


_WALL_CLOCK = re.compile(r"cycle point\s*=\s*(now|next|previous|[+-]?P|T|\{)")


def _wall_clock(directory: Path) -> bool:
    """Whether the initial point may depend on the day (``now``, ``PT1M``, ``T06``...)."""
    text = (directory / "flow.cylc").read_text(errors="replace")
    return bool(_WALL_CLOCK.search(text))


def _last_lines(text: str, n: int = 3) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])[:400]


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "error" in line.lower():
            return line.strip()[:400]
    return _last_lines(text)


def _diff(expected: str, actual: str) -> str:
    import difflib

    lines = list(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "cylc", "prefect-cycles", lineterm="", n=0
        )
    )
    return "\n".join(lines[:40])


def _reason(detail: str) -> str:
    """A refusal without the file's path and line, to count alike refusals together."""
    first = detail.splitlines()[0] if detail else ""
    first = re.sub(r"\S*flow\.cylc(, line \d+)?:\s*", "", first)
    return re.sub(r"^prefect-cycles: error:\s*", "", first)


def summarise(results: list[Result]) -> str:
    out = []
    by_status = collections.Counter(r.status for r in results)
    out.append(f"{len(results)} workflows: " + ", ".join(f"{k} {v}" for k, v in by_status.items()))
    same = by_status["identical"] + by_status["matches-scheduler"]
    compared = same + by_status["differs"] + by_status["we-refuse"]
    if compared:
        out.append(
            f"of the {compared} Cylc draws: {same} identical ({100 * same / compared:.0f}%; "
            f"{by_status['matches-scheduler']} of them to what Cylc's scheduler runs)"
        )
    order = (
        "identical",
        "matches-scheduler",
        "differs",
        "we-refuse",
        "both-refuse",
        "cylc-refuses",
        "cylc-error",
    )
    out.append("\nper repository (" + "/".join(order) + "):")
    per_repo: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        per_repo[r.repo][r.status] += 1
    for repo, counts in sorted(per_repo.items()):
        out.append(f"  {repo}: " + "/".join(str(counts[s]) for s in order))
    for status in ("we-refuse", "differs"):
        reasons = collections.Counter(
            _reason(r.detail) if status == "we-refuse" else r.path
            for r in results
            if r.status == status
        )
        if status == "we-refuse":
            out.append("\nwe refuse, most frequent first:")
            for reason, n in reasons.most_common():
                out.append(f"  {n:3d}  {reason[:200]}")
        else:
            out.append("\ndiffer:")
            for r in results:
                if r.status == "differs":
                    out.append(f"  {r.repo}/{r.path} [{r.window}]")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sweep")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="sweep only paths containing this (repeatable: any of them)",
    )
    parser.add_argument("--points", type=int, default=5, help="cycle points in the window")
    parser.add_argument(
        "--pythonpath", default=str(harness.REPO_ROOT), help="PYTHONPATH for prefect-cycles"
    )
    parser.add_argument(
        "--summary", type=Path, help="print the summary of a results.jsonl (even a partial one)"
    )
    args = parser.parse_args(argv)
    if args.summary:
        print(summarise([Result(**json.loads(line)) for line in args.summary.open()]))
        return 0
    jobs = max(1, min(args.jobs, 2))
    src = args.work / "src"
    src.mkdir(parents=True, exist_ok=True)
    repos = extract(args.mirrors, src)
    cylc = harness.provide_cylc(args.work / "cylc-home")
    sweep = Sweep(cylc, args.work, args.points, args.pythonpath)
    todo: list[tuple[str, Path]] = []
    suite_rc = 0
    for repo, _commit in repos:
        suite_rc += len(find_workflows(src / repo, "suite.rc"))
        for flow in find_workflows(src / repo, "flow.cylc"):
            where = f"{repo}/{flow.relative_to(src / repo)}"
            if not args.only or any(part in where for part in args.only):
                todo.append((repo, flow))
    # Third-party workflows, Rose and Cylc's examples first, its functional tests last.
    todo.sort(key=lambda item: ("/tests/" in str(item[1]), item[0], str(item[1])))
    results: list[Result] = []
    name = "results-only.jsonl" if args.only else "results.jsonl"
    with (
        concurrent.futures.ThreadPoolExecutor(jobs) as pool,
        (args.work / name).open("w") as fh,
    ):
        futures = [pool.submit(sweep.one, repo, src, flow) for repo, flow in todo]
        for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
            r = future.result()
            results.append(r)
            fh.write(json.dumps(asdict(r)) + "\n")  # as they come: a long sweep can be read
            fh.flush()
            print(f"[{n}/{len(todo)}] {r.status:12s} {r.repo}/{r.path}", file=sys.stderr)
    results.sort(key=lambda r: (r.repo, r.path))
    print(summarise(results))
    print(f"\n(and {suite_rc} Cylc 7 suite.rc files, refused by design)")
    print("commits: " + ", ".join(f"{repo}@{commit[:10]}" for repo, commit in repos))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
