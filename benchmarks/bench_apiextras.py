"""Cost of the API server's pure helpers: patch, server-side apply, tables, OpenAPI.

Prints one line per figure; run with ``.venv/bin/python benchmarks/bench_apiextras.py``.
"""

from __future__ import annotations

import copy
import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

from kubedra.controlplane.apiserver import openapi
from kubedra.controlplane.apiserver.apply import server_side_apply, update_managed_fields
from kubedra.controlplane.apiserver.patch import JSON_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from kubedra.controlplane.apiserver.tables import to_table

NOW = "2025-11-06T07:54:29Z"


def rate(name: str, fn: Callable[[], object], seconds: float = 1.0) -> None:
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    elapsed = time.perf_counter() - start
    print(f"{name:<58} {count / elapsed:>10.0f} ops/s  {elapsed / count * 1e6:>9.1f} us/op")


def resource_slice(devices: int) -> dict:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
        "metadata": {"name": "node-1-gpu.example.com", "labels": {"a": "b"}},
        "spec": {"driver": "gpu.example.com", "nodeName": "node-1",
                 "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1},
                 "devices": [{"name": f"gpu-{i}", "attributes": {"index": {"int": i}, "model": {"string": "X"}},
                              "capacity": {"memory": {"value": "80Gi"}}} for i in range(devices)]},
    }


def daemonset() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "plugin", "namespace": "dra"},
        "spec": {"selector": {"matchLabels": {"app": "p"}}, "template": {
            "metadata": {"labels": {"app": "p"}},
            "spec": {"containers": [{
                "name": "plugin", "image": "driver:v0.2.0",
                "env": [{"name": f"E{i}", "value": str(i)} for i in range(10)],
                "volumeMounts": [{"name": f"v{i}", "mountPath": f"/m/{i}"} for i in range(4)]}],
                "volumes": [{"name": f"v{i}", "hostPath": {"path": f"/h/{i}"}} for i in range(4)]}}},
    }


def main() -> None:
    start = time.perf_counter()
    index = openapi.v3_index()
    built = time.perf_counter() - start
    openapi._documents.cache_clear()
    tracemalloc.start()
    openapi.v3_index()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sizes = {key: len(json.dumps(openapi.v3_group_version(key))) for key in index["paths"]}
    print(f"{'openapi: build all v3 documents (cold, once per process)':<58} {built * 1000:>10.0f} ms"
          f"  peak {peak / 2**20:.1f} MiB")
    print(f"{'openapi: api/v1 | resource.k8s.io/v1 document size':<58} {sizes['api/v1'] / 1024:>10.0f} KiB"
          f"  {sizes['apis/resource.k8s.io/v1'] / 1024:.0f} KiB")
    rate("openapi: serve apis/resource.k8s.io/v1 (copy of cached doc)",
         lambda: openapi.v3_group_version("apis/resource.k8s.io/v1"))

    ds = daemonset()
    smp = json.dumps({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "plugin"}],
        "containers": [{"name": "plugin", "image": "driver:v0.4.0", "env": [{"name": "E3", "$patch": "delete"}],
                        "$setElementOrder/env": [{"name": f"E{i}"} for i in range(10) if i != 3]}]}}}}).encode()
    rate("patch: strategic merge patch, DaemonSet template (10 env)",
         lambda: apply_patch(ds, smp, STRATEGIC_MERGE_PATCH, kind="DaemonSet", api_version="apps/v1"))
    ops = json.dumps([{"op": "test", "path": "/metadata/name", "value": "plugin"},
                      {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "x"},
                      {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]).encode()
    rate("patch: JSON patch, 3 ops on the same DaemonSet",
         lambda: apply_patch(ds, ops, JSON_PATCH, kind="DaemonSet", api_version="apps/v1"))

    rs = resource_slice(128)
    created = server_side_apply(None, rs, manager="driver", force=False, now=NOW)
    rate("apply: create ResourceSlice, 128 devices", lambda: server_side_apply(
        None, rs, manager="driver", force=False, now=NOW))
    rate("apply: re-apply same ResourceSlice, 128 devices", lambda: server_side_apply(
        created, rs, manager="driver", force=False, now=NOW))
    changed = copy.deepcopy(rs)
    changed["spec"]["pool"]["generation"] = 2
    rate("apply: update ownership on ordinary write, 128 devices", lambda: update_managed_fields(
        created, copy.deepcopy(changed), manager="kubectl-edit", now=NOW))
    applied_ds = server_side_apply(None, ds, manager="helm", force=False, now=NOW)
    rate("apply: re-apply DaemonSet (keyed containers/env/mounts)", lambda: server_side_apply(
        applied_ds, ds, manager="helm", force=False, now=NOW))

    pods = [{"metadata": {"name": f"p{i}", "creationTimestamp": NOW}, "spec": {"containers": [{"name": "c"}]},
             "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                                                    "state": {"running": {}}}]}}
            for i in range(1000)]
    now = datetime(2025, 11, 6, 8, tzinfo=UTC)
    rate("tables: 1000 pods as a Table (includeObject=Metadata)", lambda: to_table(
        "pods", "", pods, now=now, include_object="Metadata"))


if __name__ == "__main__":
    main()
