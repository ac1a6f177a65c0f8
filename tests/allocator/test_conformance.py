"""Upstream's allocator test cases (Kubernetes 1.36) must all pass."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kubedra.conformance import allocator_runner

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "allocator"
# The remaining cases of the same upstream suite, written by us in the same format (see their headers).
EXTRA = Path(__file__).resolve().parent / "upstream_extra"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"fixtures not checked out at {FIXTURES}")
def test_all_upstream_cases_pass() -> None:
    out = io.StringIO()
    status = allocator_runner.run(FIXTURES, out)
    report = out.getvalue()
    assert report.strip().splitlines()[-1] == f"{len(list(FIXTURES.glob('*.yaml')))} passed, 0 failed", report
    assert status == 0


def test_all_extra_upstream_cases_pass() -> None:
    out = io.StringIO()
    status = allocator_runner.run(EXTRA, out)
    report = out.getvalue()
    count = len(list(EXTRA.glob("*.yaml")))
    assert count >= 50
    assert report.strip().splitlines()[-1] == f"{count} passed, 0 failed", report
    assert status == 0


def test_extra_cases_do_not_repeat_visible_ones() -> None:
    if not FIXTURES.is_dir():
        pytest.skip("fixtures not checked out")
    visible = {p.name for p in FIXTURES.glob("*.yaml")}
    assert not visible & {p.name for p in EXTRA.glob("*.yaml")}


def test_runner_reports_a_wrong_expectation_with_a_diff(tmp_path: Path) -> None:
    case = (FIXTURES / "simple.yaml").read_text() if FIXTURES.is_dir() else None
    if case is None:
        pytest.skip("fixtures not checked out")
    (tmp_path / "simple.yaml").write_text(case.replace("device: device-1}", "device: device-9}"))
    out = io.StringIO()
    assert allocator_runner.run(tmp_path, out) == 1
    text = out.getvalue()
    assert "FAIL simple" in text
    assert "-  - device: device-9" in text and "+  - device: device-1" in text
    assert text.strip().endswith("0 passed, 1 failed")
