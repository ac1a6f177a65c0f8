"""The collector settings of the server processes, and that their entry points apply them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedra.controlplane import manager, process
from kubedra.controlplane.apiserver import __main__ as apiserver_main


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_tune_collector_sets_thresholds(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    process.tune_collector()
    assert gc.get_threshold() == process.GC_THRESHOLDS
    assert process.GC_THRESHOLDS[0] > 700  # rarer young passes are the point


def test_apiserver_main_tunes_before_serving(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, thresholds: None) -> None:
    calls: list[str] = []
    monkeypatch.setattr(process, "tune_collector", lambda: calls.append("tune"))
    monkeypatch.setattr(apiserver_main, "run_forever", lambda config, companion=None: calls.append("serve") or 0)
    assert apiserver_main.main(["--data-dir", str(tmp_path), "--storage", "memory"]) == 0
    assert calls == ["tune", "serve"]


def test_manager_main_tunes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, thresholds: None) -> None:
    calls: list[str] = []
    monkeypatch.setattr(process, "tune_collector", lambda: calls.append("tune"))

    class Stop(Exception):
        pass

    def from_kubeconfig(path: Any) -> Any:
        raise Stop

    monkeypatch.setattr(manager.HTTPClient, "from_kubeconfig", staticmethod(from_kubeconfig))
    with pytest.raises(Stop):
        manager.main(["--kubeconfig", str(tmp_path / "kubeconfig")])
    assert calls == ["tune"]


