"""The simulated GPUs of gpu.example.com: devices, attributes, counters, as a ResourceSlice pool.

UUIDs must be stable per node (a restarted driver publishes the same devices) but
differ between nodes; Go's seeded ``math/rand`` stream is not reproducible here, so
they are UUIDv5 of the node name and index instead.
"""

from __future__ import annotations

import uuid

import msgspec

from kubedra.api import resource as r
from kubedra.api.quantity import BINARY_SI, Quantity
from kubedra.api.quantity_field import QuantityStr
from kubedra.node.plugin import Pool

MODEL = "LATEST-GPU-MODEL"
DRIVER_VERSION = "1.0.0"
MEMORY_BYTES = 80 * 2**30
COMPUTE = 100
_NAMESPACE = uuid.UUID("6f1c1a2e-2b9b-4c55-9a53-0d7e1b5c9a10")


def gpu_uuid(node_name: str, index: int) -> str:
    return f"gpu-{uuid.uuid5(_NAMESPACE, f'{node_name}/{index}')}"


def _attrs(node_name: str, index: int) -> dict[str, r.DeviceAttribute]:
    return {
        "index": r.DeviceAttribute(int_=index),
        "uuid": r.DeviceAttribute(string=gpu_uuid(node_name, index)),
        "model": r.DeviceAttribute(string=MODEL),
        "driverVersion": r.DeviceAttribute(version=DRIVER_VERSION),
    }


def _memory(value: int) -> QuantityStr:
    return QuantityStr(Quantity.from_int(value, BINARY_SI).canonical())


def _compute_milli(milli: int) -> QuantityStr:
    return QuantityStr(Quantity.from_milli(milli).canonical())


# --binding-conditions: the condition types every device gets (dra-example-driver v0.4.0).
BINDING_CONDITION = "BindingConditions"
BINDING_FAILURE_CONDITION = "BindingFailureConditions"


def build_pool(node_name: str, num_devices: int, partitions: int = 0, binding_conditions: bool = False) -> Pool:
    """All GPUs of the node; with ``partitions`` each GPU is a counter set split P ways."""
    pool = _build_pool(node_name, num_devices, partitions)
    if binding_conditions:
        pool.devices = [
            msgspec.structs.replace(
                d, binding_conditions=[BINDING_CONDITION], binding_failure_conditions=[BINDING_FAILURE_CONDITION]
            )
            for d in pool.devices
        ]
    return pool


def _build_pool(node_name: str, num_devices: int, partitions: int) -> Pool:
    if num_devices < 0 or partitions < 0:
        raise ValueError("the number of devices and of partitions must not be negative")
    if partitions == 0:
        devices = [
            r.Device(
                name=f"gpu-{i}",
                attributes=_attrs(node_name, i),
                capacity={"memory": r.DeviceCapacity(value=_memory(MEMORY_BYTES))},
            )
            for i in range(num_devices)
        ]
        return Pool(devices=devices)
    counters: list[r.CounterSet] = []
    devices = []
    whole = {
        "memory": r.Counter(value=_memory(MEMORY_BYTES)),
        "compute": r.Counter(value=QuantityStr(str(COMPUTE))),
    }
    part_memory = _memory(MEMORY_BYTES // partitions)
    part_compute = _compute_milli(COMPUTE * 1000 // partitions)
    for i in range(num_devices):
        counter_set = f"gpu-{i}-counters"
        counters.append(r.CounterSet(name=counter_set, counters=whole))
        for j in range(partitions):
            attrs = _attrs(node_name, i) | {
                "partition": r.DeviceAttribute(int_=j),
                "partitionable": r.DeviceAttribute(bool_=True),
            }
            devices.append(
                r.Device(
                    name=f"gpu-{i}-partition-{j}",
                    attributes=attrs,
                    capacity={
                        "memory": r.DeviceCapacity(value=part_memory),
                        "compute": r.DeviceCapacity(value=part_compute),
                    },
                    consumes_counters=[
                        r.DeviceCounterConsumption(
                            counter_set=counter_set,
                            counters={
                                "memory": r.Counter(value=part_memory),
                                "compute": r.Counter(value=part_compute),
                            },
                        )
                    ],
                )
            )
        devices.append(
            r.Device(
                name=f"gpu-{i}-full",
                attributes=_attrs(node_name, i)
                | {"partitionable": r.DeviceAttribute(bool_=True), "full": r.DeviceAttribute(bool_=True)},
                capacity={
                    "memory": r.DeviceCapacity(value=_memory(MEMORY_BYTES)),
                    "compute": r.DeviceCapacity(value=QuantityStr(str(COMPUTE))),
                },
                consumes_counters=[r.DeviceCounterConsumption(counter_set=counter_set, counters=whole)],
            )
        )
    return Pool(devices=devices, shared_counters=counters)
