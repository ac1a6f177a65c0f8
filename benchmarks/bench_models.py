"""Parse throughput of a 128-device ResourceSlice and import cost of the model layer.

Compares kubedra's msgspec models with the same schema in pydantic v2 (skipped when pydantic is
not importable) and with the ``json.loads`` floor; also times encoding and full validation.
Run: ``.venv/bin/python benchmarks/bench_models.py [--iterations N]``. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from kubedra.api import codec
from kubedra.api.resource import ResourceSlice
from kubedra.api.validation import validate


def make_slice(devices: int = 128) -> dict[str, Any]:
    """A realistic v1 slice: owner refs, managedFields, 10 attributes, 3 capacities, counters, some taints."""
    items = []
    for i in range(devices):
        device: dict[str, Any] = {
            "name": f"gpu-{i}",
            "attributes": {
                "model": {"string": "A100-SXM4-80GB"},
                "uuid": {"string": f"GPU-{i:08x}-aaaa-bbbb-cccc-000000000000"},
                "index": {"int": i},
                "minor": {"int": i % 8},
                "migCapable": {"bool": True},
                "cudaComputeCapability": {"version": "8.0.0"},
                "driverVersion": {"version": "550.54.15"},
                "brand": {"string": "Nvidia"},
                "architecture": {"string": "Ampere"},
                "resource.kubernetes.io/pcieRoot": {"string": f"pci0000:{i % 4:02x}"},
            },
            "capacity": {
                "memory": {"value": "80Gi"},
                "multiprocessors": {"value": "108"},
                "copyEngines": {"value": "7"},
            },
            "consumesCounters": [
                {"counterSet": f"gpu-{i}-counters", "counters": {"memory": {"value": "80Gi"}}}
            ],
        }
        if i % 16 == 0:
            device["taints"] = [
                {
                    "key": "example.com/unhealthy",
                    "value": "ecc",
                    "effect": "NoSchedule",
                    "timeAdded": "2025-11-06T07:54:29Z",
                }
            ]
        items.append(device)
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {
            "name": "node-1-gpu.example.com-abcde",
            "uid": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            "resourceVersion": "12345",
            "creationTimestamp": "2025-11-06T07:54:29Z",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": "node-1",
                    "uid": "8f2504e0-4f89-41d3-9a0c-0305e82c3301",
                    "controller": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "gpu-kubelet-plugin",
                    "operation": "Apply",
                    "apiVersion": "resource.k8s.io/v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {}},
                }
            ],
        },
        "spec": {
            "driver": "gpu.example.com",
            "pool": {"name": "node-1", "generation": 3, "resourceSliceCount": 1},
            "nodeName": "node-1",
            "devices": items,
        },
    }


def timed(label: str, fn: Callable[[], Any], iterations: int, devices: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    per = (time.perf_counter() - start) / iterations
    print(
        f"{label:<52} {1 / per:>9,.0f} slices/s {per * 1000:>8.3f} ms/slice {devices / per:>11,.0f} devices/s"
    )
    return per


def pydantic_parser() -> Callable[[bytes], Any] | None:
    try:
        import pydantic
    except ImportError:
        return None
    from pydantic import BaseModel, ConfigDict, Field
    from pydantic.alias_generators import to_camel

    class M(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    class Attr(M):
        int_: int | None = Field(default=None, alias="int")
        bool_: bool | None = Field(default=None, alias="bool")
        string: str | None = None
        version: str | None = None

    class Cap(M):
        value: str

    class Counter(M):
        value: str

    class Consumption(M):
        counter_set: str
        counters: dict[str, Counter]

    class Taint(M):
        key: str
        value: str | None = None
        effect: str
        time_added: str | None = None

    class Device(M):
        name: str
        attributes: dict[str, Attr] | None = None
        capacity: dict[str, Cap] | None = None
        consumes_counters: list[Consumption] | None = None
        taints: list[Taint] | None = None

    class Pool(M):
        name: str
        generation: int = 0
        resource_slice_count: int = 0

    class Spec(M):
        driver: str
        pool: Pool
        node_name: str | None = None
        devices: list[Device] | None = None

    class Owner(M):
        api_version: str
        kind: str
        name: str
        uid: str
        controller: bool | None = None

    class Meta(M):
        name: str | None = None
        uid: str | None = None
        resource_version: str | None = None
        creation_timestamp: str | None = None
        owner_references: list[Owner] | None = None
        managed_fields: list[dict[str, Any]] | None = None

    class Slice(M):
        api_version: str
        kind: str
        metadata: Meta
        spec: Spec

    print(f"# pydantic {pydantic.VERSION}")
    return Slice.model_validate_json


def import_time(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=128)
    args = parser.parse_args()
    obj = make_slice(args.devices)
    raw = json.dumps(obj).encode()
    n, d = args.iterations, args.devices
    print(
        f"# {d}-device ResourceSlice, {len(raw):,} bytes of JSON, {n} iterations, Python {sys.version.split()[0]}"
    )
    timed("json.loads (floor, no objects)", lambda: json.loads(raw), n, d)
    timed("kubedra msgspec models: codec.decode(bytes)", lambda: codec.decode(ResourceSlice, raw), n, d)
    parsed = json.loads(raw)
    timed("kubedra msgspec models: codec.decode(dict)", lambda: codec.decode(ResourceSlice, parsed), n, d)
    model = codec.decode(ResourceSlice, raw)
    timed("kubedra msgspec models: codec.to_json (encode)", lambda: codec.to_json(model), n, d)
    validate_pydantic = pydantic_parser()
    if validate_pydantic is not None:
        timed("pydantic v2 model_validate_json(bytes)", lambda: validate_pydantic(raw), n, d)
    else:
        print("# pydantic not importable: skipped")
    timed("kubedra validate(dict) (decode + every rule)", lambda: validate(parsed), max(n // 10, 1), d)
    print(f"import kubedra.api.resource+codec: {import_time('import kubedra.api.codec') * 1000:.1f} ms")
    print(f"import kubedra.api.validation:     {import_time('import kubedra.api.validation') * 1000:.1f} ms")
    if validate_pydantic is not None:
        print(
            f"import pydantic:                   {import_time('import pydantic; pydantic.BaseModel') * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
