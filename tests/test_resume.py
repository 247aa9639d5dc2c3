"""Resume and re-runs against a real Prefect server: real flow runs, real result files.

Task bodies write to a ledger file, so every test can say which instances
really ran in which run; the server says which task runs came back Cached.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from flowruns import log_messages, settled_runs, task_runs
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.filesystems import LocalFileSystem
from prefect.settings import PREFECT_API_URL
from prefect.task_runners import ProcessPoolTaskRunner

from prefect_cycles import cyclic_flow, stop_cycling
from prefect_cycles.errors import CycleError

pytestmark = pytest.mark.usefixtures("prefect_server")

DATA = Path(__file__).parent / "data" / "resume"


# -- the ledger and the server's view ----------------------------------------------------


def note(line: str) -> None:
    """Append a line to the ledger named by CYCLES_LEDGER (works from any task runner)."""
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Read the ledger: ``ledger()`` gives the lines written since the last call."""
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    seen = [0]

    def read() -> list[str]:
        lines = path.read_text().splitlines()
        new, seen[0] = lines[seen[0] :], len(lines)
        return new

    return read


def ran(lines: list[str]) -> set[str]:
    """The instances whose bodies ran, from ledger lines ``ran task[point] ...``."""
    return {line.split()[1] for line in lines if line.startswith("ran ")}


def by_state(state) -> dict[str, set[str]]:
    """Task run names grouped by state name (Completed, Cached, Failed...)."""
    out: dict[str, set[str]] = {}
    for name, run in task_runs(state).items():
        out.setdefault(run.state.name, set()).add(name)
    return out


def records(storage: Path) -> list[Path]:
    """The result records in a storage directory (not its ``.prefect-cycles`` locks)."""
    return [p for p in storage.iterdir() if not p.name.startswith(".")]


def names(tasks: str, points) -> set[str]:
    return {f"{t}[{p}]" for t in tasks.split() for p in points}


# -- a forecast-like chain whose model fails at one point while a flag file exists ----


@task
def fetch(point: int) -> int:
    note(f"ran fetch[{point}]")
    return 10 * point


@task
def model(point: int, fetch: int | None = None, previous: int = 0) -> int:
    if Path(os.environ["CYCLES_LEDGER"] + f".fail{point}").exists():
        raise RuntimeError(f"model fails at {point} while its flag file exists")
    value = previous + fetch
    note(f"ran model[{point}] {value}")
    return value


@task
def post(point: int, model: int | None = None) -> int | None:
    note(f"ran post[{point}] {model}")
    return model


def forecast(tmp_path: Path, **options):
    return cyclic_flow(
        fetch,
        model,
        post,
        graph={"P1": "fetch => model => post\nmodel[-P1] => model"},
        initial=1,
        final=5,
        name="forecast",
        result_storage=tmp_path / "results",
        **options,
    )


def test_a_failed_point_reruns_only_itself_and_what_it_blocked(tmp_path: Path, ledger):
    flow = forecast(tmp_path)
    flag = Path(os.environ["CYCLES_LEDGER"] + ".fail3")
    flag.touch()
    first = flow(return_state=True)
    assert first.is_failed()
    assert "model[3]" in first.message and "blocked" in first.message
    assert by_state(first)["Failed"] == {"model[3]"}
    assert ran(ledger()) == names("fetch", range(1, 6)) | names("model post", (1, 2))

    flag.unlink()  # the fix
    second = flow(return_state=True)
    assert second.is_completed(), second.message
    lines = ledger()
    assert ran(lines) == {"model[3]", "model[4]", "model[5]", "post[3]", "post[4]", "post[5]"}
    states = by_state(second)
    assert states["Cached"] == names("fetch", range(1, 6)) | names("model post", (1, 2))
    assert set(states) == {"Cached", "Completed"}
    # The rerun instances got their inputs from results restored from the first run:
    # model[3] = model[2] (cached, 10 + 20) + fetch[3] (cached, 30).
    assert "ran model[3] 60" in lines and "ran post[5] 150" in lines
    assert second.result()["succeeded"] == 15


@task
def converge(point: int, previous: float = 100.0):
    note(f"ran converge[{point}]")
    value = previous / 2
    if value < 1:
        return stop_cycling(value, message=f"converged at {point}")
    return value


def test_a_cached_instance_that_stopped_the_cycling_stops_it_again(tmp_path: Path, ledger):
    flow = cyclic_flow(
        converge,
        graph={"P1": "converge[-P1] => converge"},
        initial=1,
        final=20,
        name=f"converge-{tmp_path.name}",  # Prefect's default result storage: a unique name
    )
    first = flow(return_state=True)
    assert first.result()["stopped_at"] == 7
    assert ran(ledger()) == names("converge", range(1, 8))
    second = flow(return_state=True)
    assert second.is_completed(), second.message
    assert second.result()["stopped_at"] == 7  # not 8: the marker came back with the cache
    assert ran(ledger()) == set()
    runs = task_runs(second)
    assert set(runs) == names("converge", range(1, 8))
    assert runs["converge[7]"].state.name == "Cached"
    assert runs["converge[7]"].state.result() == 100 / 2**7


@task
def tally(point: int, previous: int = 0) -> int:
    note(f"ran tally[{point}]")
    return previous + point


def tally_flow(tmp_path: Path, storage: object = None, **options):
    return cyclic_flow(
        tally,
        graph={"P1": "tally[-P1] => tally"},
        initial=1,
        final=3,
        name="tally",
        result_storage=storage or tmp_path / "results",
        **options,
    )


def test_results_land_in_the_given_storage_and_are_found_only_there(tmp_path: Path, ledger):
    storage = tmp_path / "here"
    flow = tally_flow(tmp_path, str(storage))  # a directory may be given as a string too
    assert flow(return_state=True).is_completed()
    assert len(records(storage)) == 3  # one result record per instance
    assert ran(ledger()) == names("tally", (1, 2, 3))
    elsewhere = tally_flow(tmp_path, tmp_path / "elsewhere")
    assert by_state(elsewhere(return_state=True)) == {"Completed": names("tally", (1, 2, 3))}
    assert ran(ledger()) == names("tally", (1, 2, 3))
    assert by_state(flow(return_state=True)) == {"Cached": names("tally", (1, 2, 3))}
    assert ran(ledger()) == set()


def test_resume_can_be_turned_off(tmp_path: Path, ledger):
    flow = tally_flow(tmp_path, resume=False)
    assert "rerun" not in flow.parameters.properties
    for _ in range(2):
        state = flow(return_state=True)
        assert by_state(state) == {"Completed": names("tally", (1, 2, 3))}
        assert ran(ledger()) == names("tally", (1, 2, 3))
    assert not (tmp_path / "results").exists()


@task(name="calc")
def calc_v1(point: int) -> int:
    note(f"ran calc[{point}] v1")
    return point


@task(name="calc")
def calc_v2(point: int) -> int:
    note(f"ran calc[{point}] v2")
    return -point


@task
def use(point: int, calc: int | None = None) -> int | None:
    note(f"ran use[{point}]")
    return calc


def test_changing_a_task_body_runs_its_instances_again(tmp_path: Path, ledger):
    graph_with_use = {"P1": "calc\nuse"}  # use stands apart: only calc's code changes
    v1 = cyclic_flow(
        calc_v1,
        use,
        graph=graph_with_use,
        initial=1,
        final=2,
        name="changing",
        result_storage=tmp_path / "results",
    )
    assert v1(return_state=True).is_completed()
    assert ran(ledger()) == names("calc use", (1, 2))
    v2 = cyclic_flow(
        calc_v2,
        use,
        graph=graph_with_use,
        initial=1,
        final=2,
        name="changing",
        result_storage=tmp_path / "results",
    )
    state = v2(return_state=True)
    assert by_state(state) == {"Completed": names("calc", (1, 2)), "Cached": names("use", (1, 2))}
    assert sorted(ledger()) == ["ran calc[1] v2", "ran calc[2] v2"]


@task
def prep(point: int) -> int:
    note(f"ran prep[{point}]")
    return 100


@task
def foo(point: int, prep: int = 0, previous: int = 0) -> int:
    note(f"ran foo[{point}] {previous + prep + point}")
    return previous + prep + point


@task
def bar(point: int, foo: int | None = None) -> int | None:
    note(f"ran bar[{point}] {foo}")
    return foo


def seed(tmp_path: Path, **options):
    return cyclic_flow(
        prep,
        foo,
        bar,
        graph={"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"},
        initial=1,
        final=4,
        name="seed-resume",
        result_storage=tmp_path / "results",
        **options,
    )


def test_a_warm_start_resumes_too(tmp_path: Path, ledger):
    flow = seed(tmp_path)
    assert flow(start=1, stop=2, return_state=True).is_completed()
    assert ran(ledger()) == {"prep[1]"} | names("foo bar", (1, 2))
    warm = flow(start=2, stop=4, return_state=True)
    assert warm.is_completed(), warm.message
    states = by_state(warm)
    assert states == {"Cached": names("foo bar", (2,)), "Completed": names("foo bar", (3, 4))}
    lines = ledger()
    assert ran(lines) == names("foo bar", (3, 4))  # and no prep: the initial task of a warm start
    assert "ran foo[3] 106" in lines  # foo[3] = cached foo[2] (foo[1] 101, + 2 = 103) + 3


def test_rerun_runs_chosen_instances_and_everything_downstream(tmp_path: Path, ledger):
    flow = seed(tmp_path)
    assert flow(return_state=True).is_completed()
    ledger()
    state = flow(rerun="foo[3..]", return_state=True)
    assert state.is_completed(), state.message
    assert ran(ledger()) == names("foo bar", (3, 4))
    assert by_state(state)["Cached"] == {"prep[1]"} | names("foo bar", (1, 2))
    # One task from one point, downstream included: bar[2] has no children.
    assert ran_after(flow, ledger, rerun=["bar[2]"]) == {"bar[2]"}
    assert ran_after(flow, ledger, rerun="prep") == {"prep[1]"} | names("foo bar", range(1, 5))
    assert ran_after(flow, ledger, rerun="*") == {"prep[1]"} | names("foo bar", range(1, 5))
    assert ran_after(flow, ledger) == set()


def ran_after(flow, ledger, **params) -> set[str]:
    state = flow(return_state=True, **params)
    assert state.is_completed(), state.message
    return ran(ledger())


@task
def scale(point: int) -> float:
    factor = float(Path(os.environ["CYCLES_LEDGER"] + ".factor").read_text())
    note(f"ran scale[{point}]")
    return factor * point


@task
def total(point: int, scale: float = 0.0, previous: float = 0.0) -> float:
    note(f"ran total[{point}]")
    return previous + scale


def test_rerun_results_replace_the_old_ones(tmp_path: Path, ledger):
    factor = Path(os.environ["CYCLES_LEDGER"] + ".factor")
    factor.write_text("1")
    flow = cyclic_flow(
        scale,
        total,
        graph={"P1": "scale => total\ntotal[-P1] => total"},
        initial=1,
        final=3,
        name="replace",
        result_storage=tmp_path / "results",
    )
    assert task_runs(flow(return_state=True))["total[3]"].state.result() == 6.0
    factor.write_text("10")  # an input the cache key cannot see: fixed by a deliberate rerun
    assert task_runs(flow(return_state=True))["total[3]"].state.result() == 6.0
    ledger()
    assert task_runs(flow(rerun="scale[2..]", return_state=True))["total[3]"].state.result() == 51
    assert ran(ledger()) == names("scale total", (2, 3))
    runs = task_runs(flow(return_state=True))
    assert {r.state.name for r in runs.values()} == {"Cached"}
    assert runs["total[3]"].state.result() == 51.0  # the rerun's result replaced the old one


def test_a_bad_rerun_selector_fails_the_flow_before_any_task_runs(tmp_path: Path, ledger):
    flow = seed(tmp_path)
    with pytest.raises(CycleError, match=r"'ghost' names no task .* Fix: choose one of bar"):
        flow(rerun="ghost")
    state = flow(rerun="foo[9]", return_state=True)
    assert state.is_failed()
    assert "foo[9] is not in this run" in state.message
    assert task_runs(state) == {}
    assert ran(ledger()) == set()


@task
def keeps_a_lock(point: int):
    note(f"ran keeps_a_lock[{point}]")
    return threading.Lock()  # cannot be pickled


@task
def after_lock(point: int, keeps_a_lock=None) -> bool:
    note(f"ran after_lock[{point}]")
    return keeps_a_lock is not None


def test_an_unsaveable_result_is_a_clear_warning_and_is_run_again(tmp_path: Path, ledger):
    flow = cyclic_flow(
        keeps_a_lock,
        after_lock,
        graph={"P1": "keeps_a_lock => after_lock"},
        initial=1,
        final=1,
        name="unsaveable",
        result_storage=tmp_path / "results",
    )
    first = flow(return_state=True)
    assert first.is_completed(), first.message
    assert task_runs(first)["after_lock[1]"].state.result() is True  # got it, in memory
    warning = [m for m in log_messages(first) if "could not be saved" in m]
    assert warning and "keeps_a_lock[1]" in warning[0] and "Fix:" in warning[0]
    assert ran(ledger()) == {"keeps_a_lock[1]", "after_lock[1]"}
    second = flow(return_state=True)
    assert second.is_completed(), second.message
    assert by_state(second)["Cached"] == {"after_lock[1]"}  # keeps_a_lock[1] is not
    assert ran(ledger()) == {"keeps_a_lock[1]"}


@task(cache_policy=NO_CACHE)
def always(point: int) -> int:
    note(f"ran always[{point}]")
    return point


def test_a_task_with_its_own_cache_policy_keeps_it(tmp_path: Path, ledger):
    flow = cyclic_flow(
        always,
        tally,
        graph={"P1": "always\ntally[-P1] => tally"},
        initial=1,
        final=2,
        name="own-policy",
        result_storage=tmp_path / "results",
    )
    assert flow(return_state=True).is_completed()
    assert ran(ledger()) == names("always tally", (1, 2))
    state = flow(return_state=True)
    assert by_state(state) == {
        "Completed": names("always", (1, 2)),
        "Cached": names("tally", (1, 2)),
    }
    assert ran(ledger()) == names("always", (1, 2))


@task
def where(point: int, previous: int = 0) -> int:
    note(f"ran where[{point}]")
    return previous * 10 + point


def test_process_pool_resumes(tmp_path: Path, ledger):
    flow = cyclic_flow(
        where,
        graph={"P1": "where[-P1] => where"},
        initial=1,
        final=3,
        task_runner=ProcessPoolTaskRunner(max_workers=2),
        name="processes-resume",
        result_storage=tmp_path / "results",
    )
    assert flow(stop=2, return_state=True).is_completed()
    assert ran(ledger()) == names("where", (1, 2))
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    assert by_state(state) == {"Cached": names("where", (1, 2)), "Completed": {"where[3]"}}
    assert ran(ledger()) == {"where[3]"}
    assert task_runs(state)["where[3]"].state.result() == 123
    assert not [m for m in log_messages(state) if "could not be saved" in m]


def test_result_storage_mistakes_are_caught_when_the_flow_is_built():
    with pytest.raises(CycleError, match=r"not saved.*Fix: call \.save"):
        tally_flow(Path("."), LocalFileSystem(basepath="/tmp"))
    with pytest.raises(CycleError, match=r"neither a block slug.*Fix"):
        tally_flow(Path("."), "a/b/c")


# -- killed with SIGKILL mid-run, then run again ------------------------------------------


def test_a_flow_killed_mid_run_loses_nothing_and_repeats_nothing(tmp_path: Path):
    ledger_path, hold, results = tmp_path / "ledger.txt", tmp_path / "hold", tmp_path / "results"
    hold.touch()
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "home"),
        "CYCLES_LEDGER": str(ledger_path),
        "CYCLES_HOLD": str(hold),
        "CYCLES_RESULTS": str(results),
    }
    script = str(DATA / "killable.py")
    first = subprocess.Popen(
        [sys.executable, script],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Kill once work[4] is in its body and everything that finished before it has
        # its result on disk: then work[4] is the only instance running, and nothing
        # else can start (work[5] and post[4] wait for it), so the kill is deterministic.
        deadline = time.monotonic() + 120
        while True:
            lines = ledger_path.read_text().splitlines() if ledger_path.exists() else []
            done = [line for line in lines if line.startswith("done")]
            on_disk = records(results) if results.exists() else []
            if "started work[4]" in lines and len(done) == 6 and len(on_disk) == 6:
                break
            assert first.poll() is None, first.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the first run never reached work[4]"
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL

    hold.unlink()
    second = subprocess.run(
        [sys.executable, script], env=env, capture_output=True, text=True, timeout=180
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    outcome = json.loads(second.stdout.strip().splitlines()[-1])
    assert outcome["type"] == "COMPLETED"

    lines = ledger_path.read_text().splitlines()
    completions = Counter(line.split()[1] for line in lines if line.startswith("done"))
    assert completions == Counter(names("work post", range(1, 7)))  # each exactly once
    # Honest about the one killed mid-body: it ran again from its start.
    assert Counter(line for line in lines if line.startswith("started"))["started work[4]"] == 2
    assert "done work[6] 21" in lines  # 1+...+6: results restored from the first run fed it
    states = {n: r.state.name for n, r in settled_runs(outcome["flow_run_id"]).items()}
    assert {n for n, s in states.items() if s == "Cached"} == names("work post", (1, 2, 3))
    assert {n for n, s in states.items() if s == "Completed"} == names("work post", (4, 5, 6))
