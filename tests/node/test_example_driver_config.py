"""gpu.example.com GpuConfig decoding, defaults, validation texts and precedence (no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedra.drivers.example.config import ConfigError, decode_config
from kubedra.drivers.example.driver import ExampleDriver, env_suffix
from kubedra.node.plugin.cdi_cache import CDICache, environment
from kubedra.node.plugin.claims import ClaimError, ClaimRef, claim_from_object

API = "gpu.resource.example.com/v1alpha1"


def _cfg(**sharing: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "GpuConfig", **({"sharing": sharing} if sharing else {})}


def test_defaults_and_normalize() -> None:
    config = decode_config(_cfg()).normalize()
    assert config.sharing is not None and config.sharing.strategy == "TimeSlicing"
    assert config.sharing.time_slicing_config is not None
    assert config.sharing.time_slicing_config.interval == "Default"
    sp = decode_config(_cfg(strategy="SpacePartitioning")).normalize()
    assert sp.sharing is not None and sp.sharing.space_partitioning_config is not None
    assert sp.sharing.space_partitioning_config.partition_count == 1


@pytest.mark.parametrize(
    ("sharing", "message"),
    [
        (
            {"strategy": "TimeSlicing", "timeSlicingConfig": {"interval": "InvalidInterval"}},
            "unknown time-slice interval: InvalidInterval",
        ),
        ({"strategy": "Bogus"}, "unknown GPU sharing strategy: Bogus"),
        (
            {"strategy": "SpacePartitioning", "spacePartitioningConfig": {"partitionCount": -1}},
            "invalid partition count: -1",
        ),
        (
            {"strategy": "TimeSlicing", "spacePartitioningConfig": {"partitionCount": 2}},
            "cannot use SpacePartitioningConfig with the 'TimeSlicing' strategy",
        ),
    ],
)
def test_validation_texts(sharing: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decode_config(_cfg(**sharing)).normalize().validate()


def test_strict_decoding() -> None:
    with pytest.raises(ConfigError, match=r"error decoding config parameters: .*unknown field `intervall`"):
        decode_config(_cfg(strategy="TimeSlicing", timeSlicingConfig={"intervall": "Long"}))
    with pytest.raises(ConfigError, match="error decoding config parameters: no kind 'Other'"):
        decode_config({"apiVersion": API, "kind": "Other"})


def _claim(configs: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "c", "namespace": "ns", "uid": "uid-1"},
        "status": {"allocation": {"devices": {"results": results, "config": configs}}},
    }


def _result(request: str, device: str, driver: str = "gpu.example.com") -> dict[str, Any]:
    return {"request": request, "driver": driver, "pool": "node1", "device": device}


def test_claim_configs_precedence_and_env(tmp_path: Path) -> None:
    configs = [
        {
            "source": "FromClaim",
            "requests": ["ts"],
            "opaque": {
                "driver": "gpu.example.com",
                "parameters": _cfg(strategy="TimeSlicing", timeSlicingConfig={"interval": "Long"}),
            },
        },
        {
            "source": "FromClass",
            "requests": [],
            "opaque": {
                "driver": "gpu.example.com",
                "parameters": _cfg(strategy="TimeSlicing", timeSlicingConfig={"interval": "Short"}),
            },
        },
        {
            "source": "FromClaim",
            "requests": ["sp"],
            "opaque": {
                "driver": "gpu.example.com",
                "parameters": _cfg(
                    strategy="SpacePartitioning", spacePartitioningConfig={"partitionCount": 10}
                ),
            },
        },
        {"source": "FromClaim", "opaque": {"driver": "other.example.com", "parameters": {"anything": True}}},
    ]
    results = [
        _result("ts", "gpu-1"),
        _result("sp", "gpu-2"),
        _result("plain", "gpu-3"),
        _result("x", "dev", "other.example.com"),
    ]
    claim = claim_from_object(_claim(configs, results), ClaimRef("ns", "c", "uid-1"), "gpu.example.com")
    assert [d.device for d in claim.devices] == ["gpu-1", "gpu-2", "gpu-3"]  # other drivers' results dropped
    assert [c.source for c in claim.configs] == ["FromClass", "FromClaim", "FromClaim"]  # class first
    driver = ExampleDriver("node1", num_devices=4)
    result = driver.prepare([claim])["uid-1"]
    assert result.error is None
    envs = {d.device: d.edits.env if d.edits else [] for d in result.devices}
    assert envs["gpu-1"] == [
        "GPU_DEVICE_1_RESOURCE_CLAIM=uid-1",
        "GPU_DEVICE_1=gpu-1",
        "GPU_DEVICE_1_SHARING_STRATEGY=TimeSlicing",
        "GPU_DEVICE_1_TIMESLICE_INTERVAL=Long",
    ]
    assert "GPU_DEVICE_2_PARTITION_COUNT=10" in envs["gpu-2"]
    assert "GPU_DEVICE_3_TIMESLICE_INTERVAL=Short" in envs["gpu-3"]  # the class config applies to all
    assert all(d.cdi_device_ids == ["k8s.gpu.example.com/gpu=common"] for d in result.devices)
    driver.write_common_spec(tmp_path)
    env = environment(CDICache([tmp_path]).resolve(["k8s.gpu.example.com/gpu=common"]))
    assert env == {"KUBERNETES_NODE_NAME": "node1", "DRA_RESOURCE_DRIVER_NAME": "gpu.example.com"}


def test_malformed_config_is_a_per_claim_error() -> None:
    bad = [
        {
            "source": "FromClaim",
            "opaque": {
                "driver": "gpu.example.com",
                "parameters": _cfg(strategy="TimeSlicing", timeSlicingConfig={"interval": "Forever"}),
            },
        }
    ]
    claim = claim_from_object(
        _claim(bad, [_result("gpu", "gpu-0")]), ClaimRef("ns", "c", "uid-1"), "gpu.example.com"
    )
    result = ExampleDriver("node1").prepare([claim])["uid-1"]
    assert result.error == "prepare failed: unknown time-slice interval: Forever"
    claim = claim_from_object(
        _claim([], [_result("gpu", "gpu-99")]), ClaimRef("ns", "c", "uid-1"), "gpu.example.com"
    )
    assert (
        ExampleDriver("node1").prepare([claim])["uid-1"].error
        == "prepare failed: requested GPU is not allocatable: gpu-99"
    )


def test_claim_checks() -> None:
    ref = ClaimRef("ns", "c", "uid-2")
    with pytest.raises(ClaimError, match="claim ns/c got replaced"):
        claim_from_object(_claim([], []), ref, "gpu.example.com")
    with pytest.raises(ClaimError, match="claim ns/c not allocated"):
        claim_from_object({"metadata": {"uid": "uid-2"}, "status": {}}, ref, "gpu.example.com")
    with pytest.raises(ClaimError, match=r"config\[0\]: only opaque parameters"):
        claim_from_object(
            _claim([{"source": "FromClaim"}], []), ClaimRef("ns", "c", "uid-1"), "gpu.example.com"
        )
    with pytest.raises(ClaimError, match="invalid config source: Elsewhere"):
        claim_from_object(
            _claim([{"source": "Elsewhere", "opaque": {}}], []), ClaimRef("ns", "c", "uid-1"), "d"
        )


def test_env_suffix_and_partition_pool() -> None:
    assert env_suffix("gpu-3") == "3"
    assert env_suffix("gpu-0-partition-1") == "0_PARTITION_1"
    driver = ExampleDriver("node1", num_devices=2, partitions=4)
    names = [d.name for d in driver.pool.devices]
    assert names[:5] == [
        "gpu-0-partition-0",
        "gpu-0-partition-1",
        "gpu-0-partition-2",
        "gpu-0-partition-3",
        "gpu-0-full",
    ]
    assert [c.name for c in driver.pool.shared_counters] == ["gpu-0-counters", "gpu-1-counters"]
    assert ExampleDriver("node1").pool.devices[0] == ExampleDriver("node1").pool.devices[0]  # stable UUIDs
    assert ExampleDriver("node1").pool.devices[0] != ExampleDriver("node2").pool.devices[0]
