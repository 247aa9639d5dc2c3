"""prefect-cycles' reference text against Cylc 8.5's, byte for byte."""

from __future__ import annotations

import pytest

from .harness import Differential, HarnessError, describe_mismatch


def _result(future):
    try:
        return future.result()
    except HarnessError as exc:
        pytest.fail(f"harness or Cylc problem (not a prefect-cycles bug): {exc}", pytrace=False)


def test_reference_matches_cylc(case_window, differential: Differential) -> None:
    case, window = case_window
    expected = _result(differential.expectation(case, window, case.expect))
    actual = differential.actual(case, window).result()
    if actual.returncode != 0 or actual.stdout != expected.text:
        pytest.fail(describe_mismatch(case, window, expected, actual), pytrace=False)


def test_case_is_valid_for_cylc(case, differential: Differential) -> None:
    returncode, output = _result(differential.validation(case))
    assert returncode == 0, f"cylc validate {case.directory}:\n{output}"
