"""Upstream's DRA CEL scenarios (../shared/conformance/cel) all pass."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kubedra.conformance import cel_runner

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "cel"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared conformance fixtures not beside the checkout")
def test_all_cel_fixtures_pass() -> None:
    out = io.StringIO()
    status = cel_runner.run(FIXTURES, out)
    text = out.getvalue()
    assert status == 0, text
    last = text.strip().splitlines()[-1]
    passed = int(last.split()[0])
    assert last.endswith(" 0 failed") and passed >= 55, text


def test_runner_reports_a_wrong_expectation() -> None:
    """The runner can fail: a scenario with a wrong expected result is reported."""
    case = {
        "expression": 'device.driver == "a"',
        "environment": "stored",
        "device": {"driver": "a", "attributes": {}, "capacity": {}},
        "expect": {"match": False},
    }
    from kubedra.cel import CELFeatures

    problems, cost = cel_runner.run_case(case, CELFeatures())
    assert problems == ["match: got True, want False"]
    assert cost == 3  # device 1 + .driver 1 + string equality ceil(0.1 * 1)
