"""The six gpu-test scenarios of dra-example-driver, end to end on ``kubedra up``.

API server, scheduler, controllers and one kubelet (``kubedra up --nodes node1``); the
example driver runs as the tutorial's DaemonSet (its image mapped to ``kubedra driver
example`` by the kubelet) and prepares claims over real gRPC. Manifests are written
here from shared/reference/example-driver.md §9; the checks follow the upstream e2e
script (``GPU_DEVICE_*`` lines in container logs, GPUs distinct across scenarios), with
gpu-test4 checking what it intends (both pods see the same GPU). Deleting a scenario
must finish within 25 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubedra.cli.binaries import kubectl_path

pytestmark = pytest.mark.slow

CTR = {"image": "ubuntu:22.04", "command": ["bash", "-c"], "args": ["export; trap 'exit 0' TERM; sleep 9999 & wait"]}
GPU_LINE = re.compile(r'^declare -x GPU_DEVICE_(\d+)="(.*)"$')


def _ns(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def _template(ns: str, name: str, requests: list[str], config: str = "") -> str:
    reqs = "".join(f"        - name: {r}\n          exactly:\n            deviceClassName: gpu.example.com\n"
                   for r in requests)
    return (f"apiVersion: resource.k8s.io/v1\nkind: ResourceClaimTemplate\nmetadata:\n  namespace: {ns}\n"
            f"  name: {name}\nspec:\n  spec:\n    devices:\n      requests:\n{reqs}{config}")


def _container(name: str, claim: str, request: str | None = None, args: str | None = None) -> str:
    req = f"\n        request: {request}" if request else ""
    run = args or CTR["args"][0]
    return (f"  - name: {name}\n    image: ubuntu:22.04\n    command: [\"bash\", \"-c\"]\n"
            f"    args: [\"{run}\"]\n    resources:\n      claims:\n      - name: {claim}{req}\n")


def _pod(ns: str, name: str, containers: str, claims: str, init: str = "") -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: {ns}\n  name: {name}\n  labels:\n"
            f"    app: {ns}\nspec:\n  terminationGracePeriodSeconds: 10\n{init}  containers:\n{containers}"
            f"  resourceClaims:\n{claims}")


def _tmpl_claim(name: str, template: str) -> str:
    return f"  - name: {name}\n    resourceClaimTemplateName: {template}\n"


TS_SP_CONFIG = """      config:
      - requests: ["ts-gpu"]
        opaque:
          driver: gpu.example.com
          parameters:
            apiVersion: gpu.resource.example.com/v1alpha1
            kind: GpuConfig
            sharing:
              strategy: TimeSlicing
              timeSlicingConfig:
                interval: Long
      - requests: ["sp-gpu"]
        opaque:
          driver: gpu.example.com
          parameters:
            apiVersion: gpu.resource.example.com/v1alpha1
            kind: GpuConfig
            sharing:
              strategy: SpacePartitioning
              spacePartitioningConfig:
                partitionCount: 10
"""

MANIFESTS: dict[str, str] = {
    "gpu-test1": "---\n".join([
        _ns("gpu-test1"),
        _template("gpu-test1", "single-gpu", ["gpu"]),
        *(_pod("gpu-test1", p, _container("ctr0", "gpu"), _tmpl_claim("gpu", "single-gpu")) for p in ("pod0", "pod1")),
    ]),
    "gpu-test2": "---\n".join([
        _ns("gpu-test2"),
        _template("gpu-test2", "multiple-gpus", ["gpu-1", "gpu-2"]),
        _pod("gpu-test2", "pod0", _container("ctr0", "gpus"), _tmpl_claim("gpus", "multiple-gpus")),
    ]),
    "gpu-test3": "---\n".join([
        _ns("gpu-test3"),
        _template("gpu-test3", "single-gpu", ["gpu"]),
        _pod("gpu-test3", "pod0", _container("ctr0", "shared-gpu") + _container("ctr1", "shared-gpu"),
             _tmpl_claim("shared-gpu", "single-gpu")),
    ]),
    "gpu-test4": "---\n".join([
        _ns("gpu-test4"),
        "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  namespace: gpu-test4\n  name: single-gpu\n"
        "spec:\n  devices:\n    requests:\n    - name: gpu\n      exactly:\n        deviceClassName: gpu.example.com\n",
        *(_pod("gpu-test4", p, _container("ctr0", "shared-gpu"),
               "  - name: shared-gpu\n    resourceClaimName: single-gpu\n") for p in ("pod0", "pod1")),
    ]),
    "gpu-test5": "---\n".join([
        _ns("gpu-test5"),
        _template("gpu-test5", "multiple-gpus", ["ts-gpu", "sp-gpu"], TS_SP_CONFIG),
        _pod("gpu-test5", "pod0",
             "".join(_container(c, "shared-gpus", r) for c, r in
                     (("ts-ctr0", "ts-gpu"), ("ts-ctr1", "ts-gpu"), ("sp-ctr0", "sp-gpu"), ("sp-ctr1", "sp-gpu"))),
             _tmpl_claim("shared-gpus", "multiple-gpus")),
    ]),
    "gpu-test6": "---\n".join([
        _ns("gpu-test6"),
        _template("gpu-test6", "single-gpu", ["gpu"]),
        _pod("gpu-test6", "pod0", _container("ctr0", "shared-gpu"), _tmpl_claim("shared-gpu", "single-gpu"),
             init="  initContainers:\n" + _container("init0", "shared-gpu", args="export")),
    ]),
}

# (namespace, pod, container) whose logs each scenario reads.
CONTAINERS: dict[str, list[tuple[str, str]]] = {
    "gpu-test1": [("pod0", "ctr0"), ("pod1", "ctr0")],
    "gpu-test2": [("pod0", "ctr0")],
    "gpu-test3": [("pod0", "ctr0"), ("pod0", "ctr1")],
    "gpu-test4": [("pod0", "ctr0"), ("pod1", "ctr0")],
    "gpu-test5": [("pod0", "ts-ctr0"), ("pod0", "ts-ctr1"), ("pod0", "sp-ctr0"), ("pod0", "sp-ctr1")],
    "gpu-test6": [("pod0", "init0"), ("pod0", "ctr0")],
}


def gpus(log: str) -> dict[str, str]:
    """``GPU_DEVICE_<n>`` -> value from ``export`` output (the ``_RESOURCE_CLAIM``/... lines do not match)."""
    found = {}
    for line in log.splitlines():
        match = GPU_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def env_value(log: str, name: str) -> str | None:
    for line in log.splitlines():
        if line.startswith(f"declare -x {name}="):
            return line.split("=", 1)[1].strip('"')
    return None


def check(scenario: str, logs: Callable[[str, str], str], seen: set[str]) -> None:
    """Assert the scenario's expectations; ``seen`` collects GPUs across scenarios (must never repeat)."""
    got = {(pod, ctr): logs(pod, ctr) for pod, ctr in CONTAINERS[scenario]}
    devices = {key: gpus(text) for key, text in got.items()}

    def one(key: tuple[str, str]) -> str:
        assert len(devices[key]) == 1, f"{scenario} {key}: expected one GPU, got {devices[key]}"
        return next(iter(devices[key].values()))

    def sharing(key: tuple[str, str], gpu: str, strategy: str, **extra: str) -> None:
        n = gpu.removeprefix("gpu-")
        assert env_value(got[key], f"GPU_DEVICE_{n}_SHARING_STRATEGY") == strategy, (scenario, key, got[key])
        for suffix, value in extra.items():
            assert env_value(got[key], f"GPU_DEVICE_{n}_{suffix}") == value, (scenario, key, suffix)

    def fresh(*gpu_names: str) -> None:
        for name in gpu_names:
            assert name not in seen, f"{scenario}: {name} was already handed out in another scenario"
            seen.add(name)

    if scenario in ("gpu-test1",):
        a, b = one(("pod0", "ctr0")), one(("pod1", "ctr0"))
        assert a != b
        fresh(a, b)
    elif scenario == "gpu-test2":
        values = sorted(devices[("pod0", "ctr0")].values())
        assert len(values) == 2 and values[0] != values[1]
        fresh(*values)
    elif scenario in ("gpu-test3", "gpu-test4", "gpu-test6"):
        keys = CONTAINERS[scenario]
        shared = {one(k) for k in keys}
        assert len(shared) == 1, f"{scenario}: containers see different GPUs {shared}"
        for key in keys:
            sharing(key, next(iter(shared)), "TimeSlicing", TIMESLICE_INTERVAL="Default")
        fresh(*shared)
    elif scenario == "gpu-test5":
        ts = {one(("pod0", c)) for c in ("ts-ctr0", "ts-ctr1")}
        sp = {one(("pod0", c)) for c in ("sp-ctr0", "sp-ctr1")}
        assert len(ts) == 1 and len(sp) == 1 and ts != sp
        for c in ("ts-ctr0", "ts-ctr1"):
            sharing(("pod0", c), next(iter(ts)), "TimeSlicing", TIMESLICE_INTERVAL="Long")
        for c in ("sp-ctr0", "sp-ctr1"):
            sharing(("pod0", c), next(iter(sp)), "SpacePartitioning", PARTITION_COUNT="10")
        fresh(*ts, *sp)


DRIVER_MANIFEST = """apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata:
  name: gpu.example.com
spec:
  selectors:
  - cel:
      expression: "device.driver == 'gpu.example.com'"
---
apiVersion: v1
kind: Namespace
metadata:
  name: dra-example-driver
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: dra-example-driver-kubeletplugin
  namespace: dra-example-driver
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: dra-example-driver}
  template:
    metadata:
      labels: {app.kubernetes.io/name: dra-example-driver}
    spec:
      containers:
      - name: plugin
        image: registry.k8s.io/dra-example-driver/dra-example-driver:v0.2.1
        command: ["dra-example-kubeletplugin"]
        env:
        - {name: CDI_ROOT, value: /var/run/cdi}
        - {name: KUBELET_REGISTRAR_DIRECTORY_PATH, value: /var/lib/kubelet/plugins_registry}
        - {name: KUBELET_PLUGINS_DIRECTORY_PATH, value: /var/lib/kubelet/plugins}
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - {name: NUM_DEVICES, value: "10"}
        - {name: HEALTHCHECK_PORT, value: "51515"}
        livenessProbe:
          grpc: {port: 51515, service: liveness}
          failureThreshold: 3
          periodSeconds: 10
"""

# A GpuConfig with a field the driver does not know: strict decoding must fail the claim's
# Prepare with a clear message on the pod (through scheduler, kubelet and driver).
BAD_CONFIG = "---\n".join([
    _ns("gpu-test-bad"),
    _template("gpu-test-bad", "single-gpu", ["gpu"], """      config:
      - opaque:
          driver: gpu.example.com
          parameters:
            apiVersion: gpu.resource.example.com/v1alpha1
            kind: GpuConfig
            sharing:
              strategy: TimeSlicing
              timeSlicingConfig:
                interval: Long
                burst: 3
"""),
    _pod("gpu-test-bad", "pod0", _container("ctr0", "gpu"), _tmpl_claim("gpu", "single-gpu")),
])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    data_dir = Path(tempfile.mkdtemp(prefix="kd-e2e-", dir="/tmp"))
    env = dict(os.environ, KUBEDRA_DATA_DIR=str(data_dir))
    up = subprocess.run([sys.executable, "-m", "kubedra", "up", "--nodes", "node1", "--port", str(_free_port()),
                         "--storage", "memory", "--timeout", "60"],
                        capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        assert up.returncode == 0, up.stderr

        def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([str(kubectl_path()), "--kubeconfig", str(data_dir / "kubeconfig"), *args],
                                  capture_output=True, text=True, timeout=90, check=False)
            assert not check or done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
            return done

        yield kubectl
    finally:
        subprocess.run([sys.executable, "-m", "kubedra", "down"], env=env, capture_output=True, timeout=60,
                       check=False)
        for log in sorted(data_dir.glob("*.log")):  # shown by pytest only when the test fails
            print(f"==== {log.name}\n" + log.read_text(errors="replace")[-6000:])
        shutil.rmtree(data_dir, ignore_errors=True)


def test_gpu_test1_to_6_end_to_end(cluster: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    kubectl = cluster
    (tmp_path / "driver.yaml").write_text(DRIVER_MANIFEST)
    kubectl("apply", "-f", str(tmp_path / "driver.yaml"))
    kubectl("wait", "--for=condition=Ready", "pod", "-l", "app.kubernetes.io/name=dra-example-driver",
            "-n", "dra-example-driver", "--timeout=60s")
    for name, manifest in MANIFESTS.items():
        (tmp_path / f"{name}.yaml").write_text(manifest)
        kubectl("apply", "-f", str(tmp_path / f"{name}.yaml"))
    (tmp_path / "bad.yaml").write_text(BAD_CONFIG)
    kubectl("apply", "-f", str(tmp_path / "bad.yaml"))
    for name in MANIFESTS:
        kubectl("wait", "--for=condition=Ready", "pod", "--all", "-n", name, "--timeout=120s")
    deadline = time.monotonic() + 60
    while True:
        events = json.loads(kubectl("get", "events", "-n", "gpu-test-bad", "-o", "json").stdout)["items"]
        failed = [e["message"] for e in events if e["reason"] == "FailedPrepareDynamicResources"
                  and e["involvedObject"]["name"] == "pod0"]
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert failed, "no FailedPrepareDynamicResources event for the malformed GpuConfig"
    assert re.search(r"NodePrepareResources failed for ResourceClaim pod0-gpu-\w+: prepare failed: error decoding "
                     r"config parameters: .*burst", failed[0]), failed[0]
    phase = kubectl("get", "pod", "pod0", "-n", "gpu-test-bad", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Pending"
    seen: set[str] = set()
    for name in MANIFESTS:
        check(name, lambda pod, ctr, ns=name: kubectl("logs", "-n", ns, pod, "-c", ctr).stdout, seen)
    assert len(seen) == 9
    for name in MANIFESTS:
        started = time.monotonic()
        kubectl("delete", "-f", str(tmp_path / f"{name}.yaml"), "--timeout=25s")
        assert time.monotonic() - started < 25
    kubectl("delete", "-f", str(tmp_path / "bad.yaml"), "--timeout=25s")
    pods = kubectl("get", "pods", "-A", "-o", "name").stdout.split()
    assert all("dra-example-driver" in p for p in pods), pods
