"""How long `kubedra explain pod NAME` takes on a live cluster, split into listing and explaining.

A real API server (HTTPS, in-memory storage, in this process's threads) holds N nodes with one
ResourceSlice of 8 80Gi GPUs each, N/2 allocated one-GPU claims and a pending pod whose claim asks
for 40Gi (the tutorial's failing variant: nothing matches anywhere, the worst case for explain).

    .venv/bin/python benchmarks/bench_explain_live.py [--nodes 10,100,500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kubedra.allocator.explain import explain
from kubedra.cli.explain import excluded_nodes, load_live, resolve
from kubedra.controlplane.apiserver.app import Config, ServerThread
from kubedra.controlplane.client import HTTPClient

NS = "bench"


def _populate(client: HTTPClient, nodes: int) -> None:
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    client.create("deviceclasses", {
        "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.example.com"},
        "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.example.com'"}}]},
    })
    for n in range(nodes):
        name = f"node-{n}"
        client.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        client.create("resourceslices", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": f"{name}-gpus"},
            "spec": {"driver": "gpu.example.com", "nodeName": name,
                     "pool": {"name": name, "generation": 1, "resourceSliceCount": 1},
                     "devices": [{"name": f"gpu-{i}", "attributes": {"index": {"int": i}},
                                  "capacity": {"memory": {"value": "80Gi"}}} for i in range(8)]},
        })
        if n % 2 == 0:
            claim = _claim(f"used-{n}", None)
            created = client.create("resourceclaims", claim, namespace=NS)
            created["status"] = {"allocation": {"devices": {"results": [
                {"request": "gpu", "driver": "gpu.example.com", "pool": name, "device": "gpu-0"}]}}}
            client.update("resourceclaims", created, subresource="status")
    client.create("resourceclaims", _claim("wants-40gi", 'device.capacity["gpu.example.com"].memory == quantity("40Gi")'),
                  namespace=NS)
    client.create("pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pending", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"claims": [{"name": "gpu"}]}}],
                 "resourceClaims": [{"name": "gpu", "resourceClaimName": "wants-40gi"}]},
    }, namespace=NS)


def _claim(name: str, selector: str | None) -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": "gpu.example.com"}
    if selector:
        exactly["selectors"] = [{"cel": {"expression": selector}}]
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": name, "namespace": NS},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": exactly}]}}}


def measure(nodes: int, repeat: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerThread(Config(Path(tmp), port=0, storage="memory"))
        running = server.__enter__()
        try:
            creds = running.plane.credentials
            _populate(HTTPClient(running.url, creds.token, creds.ca_file), nodes)
            listing, explaining = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                snapshot, templates, pods = load_live(running.kubeconfig, "pod", "pending", NS)
                t1 = time.perf_counter()
                claims, label, _, pod = resolve("pod", "pending", NS, snapshot, templates, pods)
                assert pod is not None
                report = explain(snapshot, claims, label, excluded_nodes(pod, snapshot.nodes))
                t2 = time.perf_counter()
                assert not report.fits_on
                listing.append(t1 - t0)
                explaining.append(t2 - t1)
        finally:
            server.stop()
    return statistics.median(listing), statistics.median(explaining)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", default="10,100,500")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'nodes':>6} {'devices':>8} {'list (s)':>9} {'explain (s)':>12} {'total (s)':>10}")
    for n in (int(x) for x in args.nodes.split(",")):
        listing, explaining = measure(n, args.repeat)
        print(f"{n:>6} {n * 8:>8} {listing:>9.3f} {explaining:>12.3f} {listing + explaining:>10.3f}")


if __name__ == "__main__":
    main()
