"""Reading an instance's saved result after a run: ``CyclicFlow.result_of``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect import task

from prefect_cycles import CycleError, cycle, cyclic_flow, previous


@cycle("P1", after=previous())
@task
def count(point: int, previous: int = 0) -> int:
    return previous + point


def test_each_instance_result_can_be_read_back_after_the_run(prefect_server, tmp_path: Path):
    flow = cyclic_flow(count, initial=1, final=4, name="results-read", result_storage=tmp_path)
    flow()  # called plainly
    assert flow.result_of("count", 3) == 1 + 2 + 3
    assert flow.result_of("count[4]") == 10
    state = flow(return_state=True)  # all Cached now: the results are still there
    assert state.is_completed()
    assert flow.result_of("count", "2") == 3


def test_a_later_process_reads_the_same_results(prefect_server, tmp_path: Path):
    from prefect.settings import PREFECT_API_URL

    cyclic_flow(count, initial=1, final=2, name="results-later", result_storage=tmp_path)()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from test_results import count\n"
        "from prefect_cycles import cyclic_flow\n"
        "f = cyclic_flow(count, initial=1, final=2, name='results-later',\n"
        "                result_storage=sys.argv[2])\n"
        "print(f.result_of('count', 2))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_asking_for_a_result_that_is_not_there_says_why(prefect_server, tmp_path: Path):
    flow = cyclic_flow(count, initial=1, final=2, name="results-missing", result_storage=tmp_path)
    with pytest.raises(CycleError, match=r"no saved result for count\[2\].*Fix: run the flow"):
        flow.result_of("count", 2)
    with pytest.raises(CycleError, match=r"has no task 'nope'.*Fix: name one of its tasks: count"):
        flow.result_of("nope", 1)
    with pytest.raises(CycleError, match="names no instance"):
        flow.result_of("count")
    plain = cyclic_flow(count, initial=1, final=2, name="results-off", resume=False)
    with pytest.raises(CycleError, match="resume=False"):
        plain.result_of("count", 1)
