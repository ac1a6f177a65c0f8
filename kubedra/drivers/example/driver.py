"""gpu.example.com: prepares simulated GPUs by describing them to the container as environment.

Behaves like kubernetes-sigs/dra-example-driver: per device ``GPU_DEVICE_<n>...``
variables from the effective GpuConfig (class configs, then claim configs, the last
matching one wins, the documented default below them all), plus a static CDI device
``common`` naming the node and driver. There is no hardware, so Unprepare has
nothing to undo beyond what the SDK removes (the claim's CDI spec).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubedra.api.codec import to_dict
from kubedra.drivers.example.config import (
    SPACE_PARTITIONING,
    ConfigError,
    GpuConfig,
    decode_config,
    default_config,
)
from kubedra.drivers.example.devices import build_pool
from kubedra.node.plugin import cdi
from kubedra.node.plugin.claims import AllocatedDevice, Claim, ClaimRef
from kubedra.node.plugin.device_status import DeviceStatus
from kubedra.node.plugin.driver import PreparedDevice, PrepareResult
from kubedra.node.plugin.slices import Pool

log = logging.getLogger(__name__)

DRIVER_NAME = "gpu.example.com"
CDI_VENDOR = f"k8s.{DRIVER_NAME}"
CDI_CLASS = "gpu"
COMMON_DEVICE = "common"


def env_suffix(device: str) -> str:
    """``gpu-3`` → ``3``, ``gpu-0-partition-1`` → ``0_PARTITION_1``."""
    name = device.removeprefix("gpu-")
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class ExampleDriver:
    def __init__(self, node_name: str, num_devices: int = 8, partitions: int = 0,
                 device_status: bool = False, binding_conditions: bool = False) -> None:
        self.node_name = node_name
        self.pool: Pool = build_pool(node_name, num_devices, partitions, binding_conditions)
        self.allocatable = {d.name for d in self.pool.devices}
        self.device_status = device_status
        # --gpu-device-status: each prepared device's attributes, as published, go to status.devices[].data.
        self._attributes = {d.name: {k: to_dict(v) for k, v in (d.attributes or {}).items()}
                            for d in self.pool.devices}

    @property
    def common_cdi_id(self) -> str:
        return cdi.qualified_name(CDI_VENDOR, CDI_CLASS, COMMON_DEVICE)

    def write_common_spec(self, cdi_dir: Path) -> Path:
        """The static spec every prepared device references (written at start)."""
        env = [f"KUBERNETES_NODE_NAME={self.node_name}", f"DRA_RESOURCE_DRIVER_NAME={DRIVER_NAME}"]
        spec = cdi.new_spec(
            f"{CDI_VENDOR}/{CDI_CLASS}",
            [cdi.Device(name=COMMON_DEVICE, container_edits=cdi.ContainerEdits(env=env))],
        )
        return cdi.write_spec(cdi_dir, spec, cdi.transient_spec_name(CDI_VENDOR, CDI_CLASS, COMMON_DEVICE))

    def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
        results: dict[str, PrepareResult] = {}
        for claim in claims:
            try:
                devices = self._prepare_claim(claim)
                status = [DeviceStatus(pool=d.pool, device=d.device, share_id=d.share_id,
                                       data=self._attributes.get(d.device)) for d in devices] \
                    if self.device_status else []
                results[claim.uid] = PrepareResult(devices=devices, device_status=status)
            except ConfigError as e:
                results[claim.uid] = PrepareResult(error=f"prepare failed: {e}")
        return results

    def _prepare_claim(self, claim: Claim) -> list[PreparedDevice]:
        decoded = [(c, decode_config(c.parameters)) for c in claim.configs]
        devices = []
        for result in claim.devices:
            if result.device not in self.allocatable:
                raise ConfigError(f"requested GPU is not allocatable: {result.device}")
            config = default_config()
            for opaque, gpu_config in reversed(decoded):
                if opaque.applies_to(result.request):
                    config = gpu_config
                    break
            config = config.normalize()
            config.validate()
            devices.append(
                PreparedDevice.for_result(
                    result,
                    edits=cdi.ContainerEdits(env=self._env(claim, result, config)),
                    cdi_device_ids=[self.common_cdi_id],
                )
            )
        return devices

    @staticmethod
    def _env(claim: Claim, result: AllocatedDevice, config: GpuConfig) -> list[str]:
        n = env_suffix(result.device)
        env = [f"GPU_DEVICE_{n}_RESOURCE_CLAIM={claim.uid}", f"GPU_DEVICE_{n}={result.device}"]
        sharing = config.sharing
        if sharing is not None:
            env.append(f"GPU_DEVICE_{n}_SHARING_STRATEGY={sharing.strategy}")
            if sharing.strategy == SPACE_PARTITIONING and sharing.space_partitioning_config is not None:
                env.append(
                    f"GPU_DEVICE_{n}_PARTITION_COUNT={sharing.space_partitioning_config.partition_count}"
                )
            elif sharing.time_slicing_config is not None:
                env.append(f"GPU_DEVICE_{n}_TIMESLICE_INTERVAL={sharing.time_slicing_config.interval}")
        for key in ("memory", "compute"):
            if key in result.consumed_capacity:
                env.append(f"GPU_DEVICE_{n}_{key.upper()}={result.consumed_capacity[key]}")
        return env

    def unprepare(self, claims: Sequence[ClaimRef]) -> Mapping[str, str | None]:
        return {}
