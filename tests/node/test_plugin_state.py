"""Prepare/Unprepare bookkeeping: idempotency, CDI reconciliation, per-claim errors (real files)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from kubedra.node.plugin import ContainerEdits, PreparedDevice, PrepareResult
from kubedra.node.plugin.checkpoint import Checkpoint
from kubedra.node.plugin.claims import AllocatedDevice, Claim, ClaimRef
from kubedra.node.plugin.state import ClaimState


class RecordingDriver:
    def __init__(self) -> None:
        self.prepared: list[str] = []
        self.unprepared: list[str] = []

    def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
        out = {}
        for c in claims:
            self.prepared.append(c.uid)
            if c.ref.name == "broken":
                out[c.uid] = PrepareResult(error="device on fire")
                continue
            out[c.uid] = PrepareResult(
                devices=[
                    PreparedDevice.for_result(
                        d, edits=ContainerEdits(env=[f"DEV={d.device}"]), cdi_device_ids=["v/c=common"]
                    )
                    for d in c.devices
                ]
            )
        return out

    def unprepare(self, claims: Sequence[ClaimRef]) -> Mapping[str, str | None]:
        self.unprepared += [c.uid for c in claims]
        return {}


def _claim(uid: str, name: str = "c") -> Claim:
    devices = (AllocatedDevice(request="req/sub", pool="node1", device="dev-0", share_id="s1"),)
    return Claim(ref=ClaimRef("ns", name, uid), devices=devices, configs=(), raw={})


def _state(tmp_path: Path, driver: RecordingDriver) -> ClaimState:
    return ClaimState(driver, Checkpoint(tmp_path / "checkpoint.json"), tmp_path / "cdi", "v", "c")


def test_prepare_is_idempotent_and_answers_from_the_checkpoint(tmp_path: Path) -> None:
    driver = RecordingDriver()
    state = _state(tmp_path, driver)
    first = state.prepare([_claim("1111")])["1111"]
    assert first.error is None
    (device,) = first.devices
    assert device.request_names == ["req"]  # subrequest stripped
    assert device.cdi_device_ids == ["v/c=common", "v/c=1111-dev-0-s1"]
    assert device.share_id == "s1"
    spec = tmp_path / "cdi" / "v-c_1111.yaml"
    assert "cdiVersion: 0.5.0" in spec.read_text()  # the name starts with a digit
    # a fresh process (new ClaimState) answers the same without calling the driver
    again = _state(tmp_path, driver).prepare([_claim("1111")])["1111"]
    assert again == first and driver.prepared == ["1111"]


def test_lost_cdi_spec_is_recreated_at_start_and_on_prepare(tmp_path: Path) -> None:
    driver = RecordingDriver()
    _state(tmp_path, driver).prepare([_claim("a1"), _claim("a2")])
    for p in (tmp_path / "cdi").iterdir():
        p.unlink()  # reboot: /var/run/cdi is tmpfs
    recreated, errors = _state(tmp_path, driver).reconcile()
    assert sorted(recreated) == ["a1", "a2"] and errors == {}
    assert sorted(p.name for p in (tmp_path / "cdi").iterdir()) == ["v-c_a1.yaml", "v-c_a2.yaml"]
    (tmp_path / "cdi" / "v-c_a1.yaml").unlink()
    _state(tmp_path, driver).prepare([_claim("a1")])
    assert (tmp_path / "cdi" / "v-c_a1.yaml").exists()
    assert driver.prepared == ["a1", "a2"]


def test_errors_are_per_claim_and_unprepare_cleans_up(tmp_path: Path) -> None:
    driver = RecordingDriver()
    state = _state(tmp_path, driver)
    out = state.prepare([_claim("ok"), _claim("bad", name="broken")])
    assert out["ok"].error is None and out["bad"].error == "device on fire"
    data = state.checkpoint.load()
    assert data.claims["bad"].state == "PrepareStarted"  # unprepare will still reach the driver
    result = state.unprepare(
        [ClaimRef("ns", "c", "ok"), ClaimRef("ns", "broken", "bad"), ClaimRef("ns", "x", "never")]
    )
    assert result == {"ok": None, "bad": None, "never": None}
    assert sorted(driver.unprepared) == ["bad", "ok"]  # never-prepared claims do not reach the driver
    assert state.checkpoint.load().claims == {}
    assert list((tmp_path / "cdi").iterdir()) == []
    assert state.unprepare([ClaimRef("ns", "c", "ok")]) == {"ok": None}  # twice is fine


def test_driver_exception_fails_only_its_batch(tmp_path: Path) -> None:
    class Exploding(RecordingDriver):
        def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
            raise RuntimeError("boom")

    out = _state(tmp_path, Exploding()).prepare([_claim("x")])
    assert out["x"].error == "prepare resource claims: boom"
