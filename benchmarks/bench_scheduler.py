"""Scheduler throughput shaped like scheduler_perf's DRA workloads (pods/s, end to end).

Everything goes through the API server: the benchmark creates pods, the ResourceClaim controller
creates their claims from the template, the scheduler allocates and binds; a pod counts when the
API server has it bound. Nodes, ResourceSlices (one per node, pool = node name, ``maxClaimsPerNode``
devices ``instance-<i>`` with model/family/driverVersion/numa attributes and 1Gi memory) and the
DeviceClass are created by the benchmark, like upstream's ``createResourceDriver``.

Workloads (upstream names in docs/performance/scheduler.md):
  template      SchedulingWithResourceClaimTemplate: init pods fill half, measured pods fill the rest
  empty / half / full   SteadyStateClusterResourceClaimTemplate: 0 / 50% / all-but-10 devices
                pre-allocated, then pods are created, scheduled and deleted for --duration seconds
  selector      steady state on an empty cluster, template with CEL selectors (driverVersion, memory)
  match         steady state on an empty cluster, template with a matchAttribute constraint

    python benchmarks/bench_scheduler.py --workload all
    python benchmarks/bench_scheduler.py --workload template --nodes 500 --transport http
    python benchmarks/bench_scheduler.py --workload template --transport inprocess --kubectl-probe
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubedra.controlplane import process
from kubedra.controlplane.apiserver.app import Config, ControlPlane, ServerThread
from kubedra.controlplane.client import Client, HTTPClient, Informer, LocalClient
from kubedra.controlplane.manager import Manager

DRIVER = "test-driver.cdi.k8s.io"
NS = "bench"


def slice_for(node: str, devices: int) -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": node},
        "spec": {
            "driver": DRIVER, "nodeName": node, "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
            "devices": [
                {"name": f"instance-{i}",
                 "attributes": {"model": {"string": "A100"}, "family": {"string": "GPU"},
                                "driverVersion": {"version": "1.2.3"}, "dra.example.com/numa": {"int": i}},
                 "capacity": {"memory": {"value": "1Gi"}}}
                for i in range(devices)
            ],
        },
    }


def template(kind: str) -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": "test-class"}
    devices: dict[str, Any] = {"requests": [{"name": "req-0", "exactly": exactly}]}
    if kind == "selector":
        exactly["selectors"] = [
            {"cel": {"expression": f'device.attributes["{DRIVER}"].driverVersion.isGreaterThan(semver("1.0.0"))'}},
            {"cel": {"expression": f'device.capacity["{DRIVER}"].memory.compareTo(quantity("1Gi")) >= 0'}},
        ]
    if kind == "match":
        devices["constraints"] = [{"matchAttribute": f"{DRIVER}/model"}]
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": "test-claim-template", "namespace": NS}, "spec": {"spec": {"devices": devices}}}


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "pause", "resources": {"claims": [{"name": "resource"}]}}],
                 "resourceClaims": [{"name": "resource", "resourceClaimTemplateName": "test-claim-template"}]},
    }


class LatencyProbe:
    """``kubectl get node`` in a loop from a separate process while pods are being scheduled: how
    responsive the API server stays (a process of its own, so it does not share our GIL)."""

    def __init__(self, kubeconfig: Path, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen([sys.executable, __file__, "--probe", str(kubeconfig), str(out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict[str, Any]:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        samples = sorted(float(x) for x in self.out.read_text().split()) if self.out.exists() else []
        if not samples:
            return {"kubectl_get_samples": 0}
        pick = lambda q: round(samples[min(len(samples) - 1, int(q * len(samples)))] * 1000)  # noqa: E731
        return {"kubectl_get_samples": len(samples), "kubectl_get_p50_ms": pick(0.5),
                "kubectl_get_p95_ms": pick(0.95), "kubectl_get_max_ms": round(samples[-1] * 1000)}


def probe_loop(kubeconfig: str, out: str) -> int:
    with open(out, "a") as f:
        while True:
            t = time.monotonic()
            subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "node", "scheduler-perf-dra-0", "-o", "name"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            f.write(f"{time.monotonic() - t:.4f}\n")
            f.flush()
            time.sleep(0.25)


class BoundCounter:
    """Counts pods the API server reports bound (a pods informer in the benchmark process)."""

    def __init__(self, client: Client) -> None:
        self.cond = threading.Condition()
        self.bound: set[str] = set()
        self.events: list[str] = []
        self.informer = Informer(client, "pods", namespace=NS, handler=self._handle)

    def _handle(self, etype: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        name = obj["metadata"]["name"]
        if etype != "DELETED" and (obj.get("spec") or {}).get("nodeName") and name not in self.bound:
            with self.cond:
                self.bound.add(name)
                self.events.append(name)
                self.cond.notify_all()

    def wait(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.bound) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def preallocate(client: Client, nodes: list[str], devices: int, count: int) -> None:
    """Claims allocated directly in the API (upstream's allocResourceClaims), spread over nodes."""
    made = 0
    for d in range(devices):
        for node in nodes:
            if made >= count:
                return
            name = f"init-{made}"
            claim = client.create("resourceclaims", {
                "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"devices": {"requests": [{"name": "req-0", "exactly": {"deviceClassName": "test-class"}}]}},
            }, namespace=NS)
            claim["status"] = {"allocation": {
                "devices": {"results": [{"request": "req-0", "driver": DRIVER, "pool": node, "device": f"instance-{d}"}]},
                "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
            client.update("resourceclaims", claim, subresource="status")
            made += 1


def setup(client: Client, nodes: int, devices: int, kind: str) -> list[str]:
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    client.create("deviceclasses", {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
                                    "metadata": {"name": "test-class"},
                                    "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}]}})
    names = [f"scheduler-perf-dra-{i}" for i in range(nodes)]
    for n in names:
        client.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})
        client.create("resourceslices", slice_for(n, devices))
    client.create("resourceclaimtemplates", template(kind), namespace=NS)
    return names


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user+system) of this process, or of ``pid`` (the API server process)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_template(client: Client, counter: BoundCounter, total: int, server_pid: int | None = None,
                 kubeconfig: Path | None = None) -> dict[str, Any]:
    init = total // 2
    for i in range(init):
        client.create("pods", pod(f"init-{i}"), namespace=NS)
    if not counter.wait(init, timeout=600):
        raise SystemExit(f"init pods not scheduled: {len(counter.bound)}/{init}")
    probe = LatencyProbe(kubeconfig, kubeconfig.parent / "probe.txt") if kubeconfig is not None else None
    cpu0 = _cpu_seconds(None), (_cpu_seconds(server_pid) if server_pid else 0.0)
    start = time.monotonic()
    for i in range(total - init):
        client.create("pods", pod(f"measured-{i}"), namespace=NS)
    ok = counter.wait(total, timeout=600)
    elapsed = time.monotonic() - start
    cpu1 = _cpu_seconds(None), (_cpu_seconds(server_pid) if server_pid else 0.0)
    measured = len(counter.bound) - init
    result: dict[str, Any] = {
        "measured_pods": measured, "seconds": round(elapsed, 2), "pods_per_second": round(measured / elapsed, 1),
        "complete": ok, "cpu_ms_per_pod": round((cpu1[0] - cpu0[0]) * 1000 / max(measured, 1), 2)}
    if server_pid:
        result["apiserver_cpu_ms_per_pod"] = round((cpu1[1] - cpu0[1]) * 1000 / max(measured, 1), 2)
    if probe is not None:
        result.update(probe.stop())
    return result


def run_steady(client: Client, counter: BoundCounter, in_flight: int, duration: float) -> dict[str, Any]:
    """Keep ``in_flight`` pods pending; each bound pod is deleted and replaced (upstream steadyState)."""
    seq = 0
    for _ in range(in_flight):
        client.create("pods", pod(f"steady-{seq}"), namespace=NS)
        seq += 1
    handled = 0
    start = time.monotonic()
    while time.monotonic() - start < duration:
        with counter.cond:
            if len(counter.events) <= handled:
                counter.cond.wait(0.05)
            fresh = counter.events[handled:]
            handled = len(counter.events)
        for name in fresh:
            client.delete("pods", name, namespace=NS, grace_period_seconds=0)
            client.create("pods", pod(f"steady-{seq}"), namespace=NS)
            seq += 1
    elapsed = time.monotonic() - start
    return {"scheduled_pods": handled, "seconds": round(elapsed, 2), "pods_per_second": round(handled / elapsed, 1)}


def run(workload: str, nodes: int, devices: int, pods: int, duration: float, transport: str,
        binding_workers: int | None = None, probe: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kubedra-bench-") as tmp:
        server: subprocess.Popen[bytes] | None = None
        plane: ControlPlane | None = None
        serving: ServerThread | None = None
        kubeconfig: Path | None = None
        client: Client
        if transport == "inprocess":
            # What ``kubedra up --in-process`` runs: the HTTPS API server on its event loop
            # thread, the scheduler and controllers on LocalClient in the same process.
            serving = ServerThread(Config(data_dir=Path(tmp), storage="memory", port=0, history_size=200_000))
            running = serving.__enter__()
            kubeconfig = running.kubeconfig
            client = LocalClient(running.plane.registry)
        elif transport == "http":
            server = subprocess.Popen(
                [sys.executable, "-m", "kubedra.controlplane.apiserver", "--data-dir", tmp, "--port", "0",
                 "--storage", "memory"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kubeconfig = Path(tmp) / "kubeconfig"
            deadline = time.monotonic() + 60
            while not kubeconfig.exists():
                if time.monotonic() > deadline:
                    raise SystemExit("API server did not start")
                time.sleep(0.1)
            time.sleep(0.2)
            client = HTTPClient.from_kubeconfig(kubeconfig)
        else:
            plane = ControlPlane(Config(data_dir=Path(tmp), storage="memory", port=0, history_size=200_000))
            client = LocalClient(plane.registry)
        try:
            kind = workload if workload in ("selector", "match") else "plain"
            t0 = time.monotonic()
            names = setup(client, nodes, devices, kind)
            capacity = nodes * devices
            pre = {"half": capacity // 2, "full": capacity - 10}.get(workload, 0)
            preallocate(client, names, devices, pre)
            setup_s = time.monotonic() - t0
            counter = BoundCounter(client)
            counter.informer.start()
            counter.informer.wait_synced()
            manager = Manager(client, scheduler_options={"explain": False, "binding_workers": binding_workers})
            t1 = time.monotonic()
            manager.start()
            sync_s = time.monotonic() - t1
            try:
                if workload == "template":
                    result = run_template(client, counter, min(pods, capacity),
                                          server_pid=server.pid if server is not None else None,
                                          kubeconfig=kubeconfig if probe else None)
                else:
                    result = run_steady(client, counter, 10, duration)
            finally:
                manager.stop()
                counter.informer.stop()
            assert manager.scheduler is not None
            result.update(workload=workload, nodes=nodes, devices_per_node=devices, transport=transport,
                          binding_workers=manager.scheduler.binding_workers,
                          preallocated=pre, setup_seconds=round(setup_s, 1), informer_sync_seconds=round(sync_s, 1),
                          scheduling_attempts=manager.scheduler.attempts)
            return result
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            if plane is not None:
                plane.close()
            if serving is not None:
                serving.stop()


def main() -> int:
    # The collector settings of kubedra's server processes (`kubedra up` runs the API server and the
    # controller manager with them; in local/inprocess mode this process plays both roles).
    process.tune_collector()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="all",
                        choices=("all", "template", "empty", "half", "full", "selector", "match"))
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--devices", type=int, default=10, help="devices per node = maxClaimsPerNode")
    parser.add_argument("--pods", type=int, default=5000, help="template workload: init + measured pods")
    parser.add_argument("--duration", type=float, default=10.0, help="steady-state workloads: seconds")
    parser.add_argument("--transport", choices=("local", "inprocess", "http"), default="local",
                        help="local: registry calls only; inprocess: + HTTPS server in this process (kubedra up --in-process); "
                             "http: API server in its own process (kubedra up)")
    parser.add_argument("--binding-workers", type=int, default=None,
                        help="default: the scheduler's own choice (1 in-process, 8 over HTTP)")
    parser.add_argument("--kubectl-probe", action="store_true",
                        help="template workload, inprocess/http: measure `kubectl get node` latency meanwhile")
    parser.add_argument("--probe", nargs=2, metavar=("KUBECONFIG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe_loop(*args.probe)
    workloads = ["template", "empty", "half", "full", "selector", "match"] if args.workload == "all" else [args.workload]
    for w in workloads:
        result = run(w, args.nodes, args.devices, args.pods, args.duration, args.transport, args.binding_workers,
                     probe=args.kubectl_probe)
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
