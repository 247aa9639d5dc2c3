"""prefect-cycles' reference text against Cylc 8.5's, byte for byte."""

from __future__ import annotations

import pytest

from .harness import Differential, HarnessError, describe_mismatch


def _result(future):
    try:
        return future.result()
    except HarnessError as exc:
        pytest.fail(f"harness or Cylc problem (not a prefect-cycles bug): {exc}", pytrace=False)


def test_reference_matches_cylc(case_window, differential: Differential, concrete_window) -> None:
    case, written = case_window
    for _ in range(2):
        # Both tools read the wall clock for an initial point like previous(T-00): resolve
        # '^' now, and once more if the hour turned while they ran.
        window = concrete_window(case, written)
        expected = _result(differential.expectation(case, window, case.expect))
        actual = differential.actual(case, window).result()
        if actual.returncode == 0 and actual.stdout == expected.text:
            return
        if concrete_window(case, written) == window:
            break
    pytest.fail(describe_mismatch(case, window, expected, actual), pytrace=False)


def test_case_is_valid_for_cylc(case, differential: Differential) -> None:
    returncode, output = _result(differential.validation(case))
    assert returncode == 0, f"cylc validate {case.directory}:\n{output}"
