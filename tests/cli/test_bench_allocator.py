"""`kubedra bench allocator` on a small cluster: the figures it prints come from real searches."""

from __future__ import annotations

import json

import pytest

from kubedra.cli.bench_allocator import measure_all
from kubedra.cli.main import main


def test_variants_measure_what_they_claim() -> None:
    rows = {r.variant: r for r in measure_all(["empty", "half", "full", "match", "partition"], 6, 4, 2)}
    assert rows["empty"].fits_per_pod == 6
    assert rows["half"].fits_per_pod == 6
    assert rows["full"].fits_per_pod == 1  # one free device in the whole cluster, on the last node
    assert rows["full"].place_nodes_tried == 6
    assert rows["match"].fits_per_pod == 6
    assert rows["partition"].fits_per_pod == 6
    assert rows["empty"].vs_empty == pytest.approx(1.0)
    for r in rows.values():
        assert r.node_allocations_per_s > 0 and r.vs_empty is not None and r.vs_empty > 0


def test_vs_empty_absent_without_the_empty_variant() -> None:
    (row,) = measure_all(["match"], 3, 2, 1)
    assert row.vs_empty is None and row.fits_per_pod == 3


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bench",
            "allocator",
            "--nodes",
            "4",
            "--devices",
            "2",
            "--pods",
            "1",
            "--variant",
            "empty",
            "--variant",
            "match",
            "-o",
            "json",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["variant"] for r in rows] == ["empty", "match"]
    assert rows[1]["vs_empty"] > 0


def test_text_output_has_ratio_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["bench", "allocator", "--nodes", "2", "--devices", "2", "--pods", "1", "--variant", "empty"])
        == 0
    )
    out = capsys.readouterr().out
    assert "vs empty" in out and "1.00x" in out
