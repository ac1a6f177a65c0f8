"""The gpu-test checks accept what the demos should print and reject what they must not."""

import pytest

from kubedra.cli.demo.checks import CHECKS, DemoCheckFailed


def gpu_log(*gpus: str, strategy: str = "TimeSlicing", interval: str = "Default", partitions: str | None = None) -> str:
    lines = ['declare -x HOME="/root"']
    for gpu in gpus:
        n = gpu.removeprefix("gpu-")
        lines += [f'declare -x GPU_DEVICE_{n}="{gpu}"', f'declare -x GPU_DEVICE_{n}_RESOURCE_CLAIM="uid"',
                  f'declare -x GPU_DEVICE_{n}_SHARING_STRATEGY="{strategy}"']
        if partitions is None:
            lines.append(f'declare -x GPU_DEVICE_{n}_TIMESLICE_INTERVAL="{interval}"')
        else:
            lines.append(f'declare -x GPU_DEVICE_{n}_PARTITION_COUNT="{partitions}"')
    return "\n".join(lines) + "\n"


def test_gpu_test1_needs_distinct_single_gpus():
    assert "different" in CHECKS["gpu-test1"]({("pod0", "ctr0"): gpu_log("gpu-1"), ("pod1", "ctr0"): gpu_log("gpu-2")})
    with pytest.raises(DemoCheckFailed, match="different GPUs"):
        CHECKS["gpu-test1"]({("pod0", "ctr0"): gpu_log("gpu-1"), ("pod1", "ctr0"): gpu_log("gpu-1")})
    with pytest.raises(DemoCheckFailed, match="exactly one GPU"):
        CHECKS["gpu-test1"]({("pod0", "ctr0"): gpu_log("gpu-1", "gpu-3"), ("pod1", "ctr0"): gpu_log("gpu-2")})


def test_gpu_test2_needs_two_gpus():
    CHECKS["gpu-test2"]({("pod0", "ctr0"): gpu_log("gpu-4", "gpu-5")})
    with pytest.raises(DemoCheckFailed):
        CHECKS["gpu-test2"]({("pod0", "ctr0"): gpu_log("gpu-4")})


def test_gpu_test3_and_4_need_a_shared_time_sliced_gpu():
    CHECKS["gpu-test3"]({("pod0", "ctr0"): gpu_log("gpu-0"), ("pod0", "ctr1"): gpu_log("gpu-0")})
    CHECKS["gpu-test4"]({("pod0", "ctr0"): gpu_log("gpu-7"), ("pod1", "ctr0"): gpu_log("gpu-7")})
    with pytest.raises(DemoCheckFailed, match="share one GPU"):
        CHECKS["gpu-test4"]({("pod0", "ctr0"): gpu_log("gpu-7"), ("pod1", "ctr0"): gpu_log("gpu-6")})
    with pytest.raises(DemoCheckFailed, match="interval"):
        CHECKS["gpu-test3"]({("pod0", "ctr0"): gpu_log("gpu-0", interval="Long"), ("pod0", "ctr1"): gpu_log("gpu-0")})


def test_gpu_test5_needs_per_request_configs():
    good = {("pod0", "ts-ctr0"): gpu_log("gpu-1", interval="Long"), ("pod0", "ts-ctr1"): gpu_log("gpu-1", interval="Long"),
            ("pod0", "sp-ctr0"): gpu_log("gpu-2", strategy="SpacePartitioning", partitions="10"),
            ("pod0", "sp-ctr1"): gpu_log("gpu-2", strategy="SpacePartitioning", partitions="10")}
    assert "Long" in CHECKS["gpu-test5"](good)
    bad = dict(good)
    bad["pod0", "sp-ctr1"] = gpu_log("gpu-2", strategy="SpacePartitioning", partitions="4")
    with pytest.raises(DemoCheckFailed, match="PARTITION_COUNT"):
        CHECKS["gpu-test5"](bad)


def test_gpu_test6_init_and_main_share():
    CHECKS["gpu-test6"]({("pod0", "init0"): gpu_log("gpu-3"), ("pod0", "ctr0"): gpu_log("gpu-3")})
    with pytest.raises(DemoCheckFailed):
        CHECKS["gpu-test6"]({("pod0", "init0"): gpu_log("gpu-3"), ("pod0", "ctr0"): gpu_log("gpu-4")})
