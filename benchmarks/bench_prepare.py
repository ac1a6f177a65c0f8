"""NodePrepareResources latency of the gpu.example.com driver, measured as the kubelet sees it.

The driver runs as a real process (``kubedra driver example``) against a real API
server; this script is the kubelet and times the gRPC calls over the unix socket:

* ``1 claim``: one claim prepared, unprepared, prepared again … (each Prepare does
  the full path: GET claim, checkpoint, GpuConfig, CDI spec, checkpoint);
* ``100 concurrent``: 100 pods synced at once = 100 concurrent NodePrepareResources
  calls with one claim each (serialised inside the driver, as by default);
* ``100 in one call``: one call carrying 100 claims (one pod with 100 claims);
* ``repeat``: Prepare of an already prepared claim (kubelet restart), answered
  from the checkpoint.

Usage: ``python benchmarks/bench_prepare.py [--kubeconfig FILE] [--rounds N]``;
without ``--kubeconfig`` it starts ``kubedra up --data-dir <tmp> --port <free>`` (the
embedded API server with SQLite storage) and stops it with ``kubedra down`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from lightkube import AsyncClient, KubeConfig
from lightkube.types import PatchType

from kubedra.node.plugin.kubeapi import Node, ResourceClaim, ResourceClaimStatus
from kubedra.node.plugin.proto import dra_v1_pb2, dra_v1_pb2_grpc

NODE = "bench-node"
DRIVER = "gpu.example.com"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:<34} n={len(ms):<5} p50={pct(ms, 0.5):7.2f} ms  p99={pct(ms, 0.99):7.2f} ms  "
        f"mean={statistics.fmean(ms):7.2f} ms"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster(data_dir: Path) -> None:
    """``kubedra up`` (API server with SQLite storage, scheduler, controllers) on a free port."""
    done = subprocess.run(
        [sys.executable, "-m", "kubedra", "up", "--data-dir", str(data_dir), "--port", str(_free_port()),
         "--timeout", "60"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not (data_dir / "kubeconfig").exists():
        raise SystemExit(f"kubedra up failed: {done.stderr}")


def stop_cluster(data_dir: Path) -> None:
    subprocess.run([sys.executable, "-m", "kubedra", "down", "--data-dir", str(data_dir)],
                   capture_output=True, check=False)


async def make_claims(client: AsyncClient, count: int) -> list[dra_v1_pb2.Claim]:
    try:
        await client.get(Node, NODE)
    except Exception:
        await client.create(Node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}))
    claims = []
    for i in range(count):
        name = f"bench-{os.getpid()}-{i}"
        obj = await client.create(
            ResourceClaim(
                {
                    "apiVersion": "resource.k8s.io/v1",
                    "kind": "ResourceClaim",
                    "metadata": {"name": name, "namespace": "default"},
                    "spec": {
                        "devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRIVER}}]}
                    },
                }
            ),
            namespace="default",
        )
        status = {
            "status": {
                "allocation": {
                    "devices": {
                        "results": [{"request": "gpu", "driver": DRIVER, "pool": NODE, "device": f"gpu-{i}"}]
                    }
                }
            }
        }
        await client.patch(ResourceClaimStatus, name, status, namespace="default", patch_type=PatchType.MERGE)
        claims.append(dra_v1_pb2.Claim(namespace="default", name=name, uid=obj["metadata"]["uid"]))
    return claims


async def timed_prepare(stub: dra_v1_pb2_grpc.DRAPluginStub, claims: list[dra_v1_pb2.Claim]) -> float:
    start = time.perf_counter()
    response = await stub.NodePrepareResources(
        dra_v1_pb2.NodePrepareResourcesRequest(claims=claims), timeout=45
    )
    elapsed = time.perf_counter() - start
    errors = [r.error for r in response.claims.values() if r.error]
    if errors or len(response.claims) != len(claims):
        raise SystemExit(f"prepare failed: {errors[:3]}")
    return elapsed


async def unprepare(stub: dra_v1_pb2_grpc.DRAPluginStub, claims: list[dra_v1_pb2.Claim]) -> None:
    await stub.NodeUnprepareResources(dra_v1_pb2.NodeUnprepareResourcesRequest(claims=claims), timeout=45)


async def bench(kubeconfig: Path, rounds: int, work: Path) -> None:
    client = AsyncClient(config=KubeConfig.from_file(str(kubeconfig)))
    claims = await make_claims(client, 100)
    env = dict(
        os.environ, NODE_NAME=NODE, CDI_ROOT=str(work / "cdi"), NUM_DEVICES="100", KUBECONFIG=str(kubeconfig)
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "kubedra.drivers.example", "--kubelet-root", str(work / "kubelet")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock = work / "kubelet" / "plugins" / DRIVER / "dra.sock"
    reg = work / "kubelet" / "plugins_registry" / f"{DRIVER}-reg.sock"
    while not reg.is_socket():
        if driver.poll() is not None:
            raise SystemExit("driver exited")
        await asyncio.sleep(0.05)
    try:
        async with grpc.aio.insecure_channel(f"unix://{sock}") as channel:
            stub = dra_v1_pb2_grpc.DRAPluginStub(channel)
            await timed_prepare(stub, [])  # connect
            one: list[float] = []
            repeat: list[float] = []
            for _ in range(rounds * 20):
                one.append(await timed_prepare(stub, claims[:1]))
                repeat.append(await timed_prepare(stub, claims[:1]))
                await unprepare(stub, claims[:1])
            concurrent: list[float] = []
            walls: list[float] = []
            batch: list[float] = []
            for _ in range(rounds):
                start = time.perf_counter()
                concurrent += await asyncio.gather(*(timed_prepare(stub, [c]) for c in claims))
                walls.append(time.perf_counter() - start)
                await unprepare(stub, claims)
                batch.append(await timed_prepare(stub, claims))
                await unprepare(stub, claims)
            report("1 claim (full prepare)", one)
            report("1 claim (already prepared)", repeat)
            report("100 concurrent calls, per call", concurrent)
            report("100 concurrent calls, all done", walls)
            report("1 call with 100 claims", batch)
    finally:
        driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=10)
        for c in claims:
            await client.delete(ResourceClaim, c.name, namespace="default")
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kdb-", dir="/tmp"))
    started = False
    try:
        kubeconfig = args.kubeconfig
        if kubeconfig is None:
            started = True
            start_cluster(work / "cluster")
            kubeconfig = work / "cluster" / "kubeconfig"
        asyncio.run(bench(kubeconfig, args.rounds, work))
    finally:
        if started:
            stop_cluster(work / "cluster")
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
