"""The driver checkpoint: versioned, checksummed, atomic; damage is an error, not an empty state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubedra.node.plugin.checkpoint import (
    Checkpoint,
    CheckpointClaim,
    CheckpointData,
    CheckpointDevice,
    CheckpointError,
)


def _data() -> CheckpointData:
    device = CheckpointDevice(
        request_names=["gpu"], pool_name="node1", device_name="gpu-0", cdi_device_ids=["v/c=u-gpu-0"]
    )
    return CheckpointData(
        claims={"u": CheckpointClaim(namespace="ns", name="c", state="PrepareCompleted", devices=[device])}
    )


def test_round_trip_and_missing_file(tmp_path: Path) -> None:
    ck = Checkpoint(tmp_path / "plugin" / "checkpoint.json")
    assert ck.load() == CheckpointData()
    ck.store(_data())
    assert ck.load() == _data()
    raw = json.loads(ck.path.read_text())
    assert raw["apiVersion"] == "plugin.kubedra.io/v1" and raw["kind"] == "DriverCheckpoint"
    assert raw["checksum"].startswith("sha256:")
    assert raw["data"]["claims"]["u"]["devices"][0]["cdiDeviceIds"] == ["v/c=u-gpu-0"]
    assert sorted(p.name for p in ck.path.parent.iterdir()) == ["checkpoint.json"]


def test_tampered_content_fails_the_checksum(tmp_path: Path) -> None:
    ck = Checkpoint(tmp_path / "checkpoint.json")
    ck.store(_data())
    ck.path.write_text(ck.path.read_text().replace("gpu-0", "gpu-1"))
    with pytest.raises(CheckpointError, match=r"checkpoint\.json: checksum mismatch"):
        ck.load()


def test_truncated_and_unknown_version(tmp_path: Path) -> None:
    ck = Checkpoint(tmp_path / "checkpoint.json")
    ck.store(_data())
    text = ck.path.read_text()
    ck.path.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint\.json"):
        ck.load()
    ck.path.write_text(text.replace("plugin.kubedra.io/v1", "plugin.kubedra.io/v9"))
    with pytest.raises(CheckpointError, match="v9/DriverCheckpoint is not supported"):
        ck.load()
