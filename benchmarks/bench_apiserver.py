"""API server throughput: create/get/list requests per second and watch fan-out, over real HTTPS.

Usage: python benchmarks/bench_apiserver.py [--slices 10000] [--devices 128] [--storage memory|sqlite]
                                            [--clients 4] [--watchers 10] [--in-process 500]
Prints figures; asserts nothing. The server runs in a thread of this process (one event loop), the
clients in threads using kubedra's HTTPClient (stdlib http.client, keep-alive).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubedra.controlplane.apiserver.app import Config, ServerThread
from kubedra.controlplane.client import HTTPClient


def make_slice(i: int, devices: int) -> dict[str, Any]:
    node = f"node-{i:05d}"
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
        "metadata": {"name": f"{node}-gpu.example.com", "labels": {"node": node}},
        "spec": {
            "driver": "gpu.example.com", "nodeName": node,
            "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
            "devices": [{
                "name": f"gpu-{d}",
                "attributes": {"model": {"string": "LATEST-GPU-MODEL"}, "index": {"int": d},
                               "driverVersion": {"version": "1.0.0"}, "uuid": {"string": f"gpu-{i:05d}-{d:04d}"},
                               "resource.kubernetes.io/pcieRoot": {"string": f"pci0000:{d % 8:02x}"}},
                "capacity": {"memory": {"value": "80Gi"}, "cores": {"value": "132"}},
            } for d in range(devices)],
        },
    }


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parallel(n_clients: int, total: int, work: Any) -> float:
    """Run ``work(client, index)`` for index in range(total) over n_clients threads; returns req/s."""
    chunks = [range(k, total, n_clients) for k in range(n_clients)]

    def run(chunk: range) -> None:
        for i in chunk:
            work(i)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total / (time.perf_counter() - start)


def in_process_creates(n: int, devices: int) -> float:
    """Creates/s through the registry alone (admission: drop, default, validate; store): no HTTP, no client."""
    from kubedra.controlplane.apiserver.app import ControlPlane
    from kubedra.controlplane.apiserver.registry import WriteOptions
    from kubedra.controlplane.apiserver.resources import by_name

    with tempfile.TemporaryDirectory() as tmp:
        plane = ControlPlane(Config(Path(tmp), storage="memory"))
        try:
            slices = by_name("resourceslices")
            bodies = [make_slice(i, devices) for i in range(n)]
            start = time.perf_counter()
            for body in bodies:
                plane.registry.create(slices, None, body, WriteOptions(field_manager="bench"))
            return n / (time.perf_counter() - start)
        finally:
            plane.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=128)
    parser.add_argument("--storage", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--in-process", type=int, default=500, help="slices for the registry-only create rate")
    args = parser.parse_args()
    if args.in_process:
        rate = in_process_creates(args.in_process, args.devices)
        print(f"create in-process (registry: admission + store, no HTTP): {rate:,.0f} slices/s "
              f"({1000 / rate:.1f} ms each, {args.in_process} slices)")

    with tempfile.TemporaryDirectory() as tmp, \
            ServerThread(Config(Path(tmp), port=0, storage=args.storage, history_size=20_000)) as running:
        creds = running.plane.credentials
        clients = threading.local()

        def client() -> HTTPClient:
            c = getattr(clients, "c", None)
            if c is None:
                c = clients.c = HTTPClient(running.url, creds.token, creds.ca_file)
            return c

        body_kib = len(str(make_slice(0, args.devices))) / 1024
        base_rss = rss_mib()
        print(f"storage={args.storage} slices={args.slices} devices/slice={args.devices} "
              f"(~{body_kib:.0f} KiB each) clients={args.clients}")

        rv0 = client().list("resourceslices", limit=1)["metadata"]["resourceVersion"]
        rate = parallel(args.clients, args.slices,
                        lambda i: client().create("resourceslices", make_slice(i, args.devices)))
        print(f"create: {rate:,.0f} req/s ({args.slices / rate:.1f} s)")
        print(f"max RSS after create: {rss_mib():,.0f} MiB (+{rss_mib() - base_rss:,.0f} MiB; server and "
              f"clients share the process)")

        n_get = min(args.slices, 2_000)
        rate = parallel(args.clients, n_get,
                        lambda i: client().get("resourceslices", f"node-{i:05d}-gpu.example.com"))
        print(f"get: {rate:,.0f} req/s")

        rate = parallel(args.clients, 40, lambda i: client().list("resourceslices", limit=500))
        print(f"list (limit=500, {500 * body_kib / 1024:.0f} MiB per page): {rate:,.1f} req/s")
        rate = parallel(args.clients, 200,
                        lambda i: client().list("resourceslices", field_selector=f"spec.nodeName=node-{i:05d}"))
        print(f"list by field selector spec.nodeName (1 of {args.slices}): {rate:,.0f} req/s")
        start = time.perf_counter()
        full = client().list("resourceslices")
        print(f"list all {len(full['items'])} slices: {time.perf_counter() - start:.2f} s "
              "(including client-side JSON decode)")
        del full

        # Watch fan-out: W watchers replay the create history (pure fan-out, not bounded by write speed).
        received = [0] * args.watchers
        done = threading.Event()
        lock = threading.Lock()
        finished = [0]

        def watcher(k: int) -> None:
            w = HTTPClient(running.url, creds.token, creds.ca_file).watch("resourceslices", resource_version=rv0,
                                                                           timeout_seconds=600)
            for ev in w:
                if ev.type == "ADDED":
                    received[k] += 1
                    if received[k] == args.slices:
                        break
            w.close()
            with lock:
                finished[0] += 1
                if finished[0] == args.watchers:
                    done.set()

        threads = [threading.Thread(target=watcher, args=(k,), daemon=True) for k in range(args.watchers)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        done.wait(600)
        elapsed = time.perf_counter() - start
        total = args.slices * args.watchers
        print(f"watch fan-out: {args.watchers} watchers x {args.slices} events = {total:,} events in {elapsed:.1f} s "
              f"({total / elapsed:,.0f} events/s incl. client-side decode, "
              f"{total * body_kib / 1024 / elapsed:,.0f} MiB/s)")
        print(f"max RSS at end: {rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
