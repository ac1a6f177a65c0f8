"""The kubelet as a real process against the real embedded API server, with the example driver as a pod.

No scheduler or controllers here: the test binds pods (``spec.nodeName``) and writes claim
allocations itself over HTTP, so what is checked is the kubelet alone — node registration,
the driver image run as ``kubedra driver example``, plugin registration over real gRPC,
Prepare with retries until the claim is reserved, CDI env in the container, pod status,
logs/exec through the API server with the real kubectl, and deletion → Unprepare.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from kubedra.cli.binaries import kubectl_path

pytestmark = pytest.mark.slow

DRIVER = "gpu.example.com"
NODE = "kl-node"
DRIVER_IMAGE = "registry.k8s.io/dra-example-driver/dra-example-driver:v0.2.0"


class Api:
    def __init__(self, server: Any) -> None:
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"},
                                 verify=ssl.create_default_context(cafile=str(server.ca_file)), timeout=10)

    def request(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code in ok:
            return None
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def pod(self, name: str, ns: str = "default") -> dict[str, Any] | None:
        response = self.http.get(f"/api/v1/namespaces/{ns}/pods/{name}")
        return response.json() if response.status_code == 200 else None


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextlib.contextmanager
def kubelet_process(kubeconfig: Path, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (root.parent / "kubelet.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubedra.cli.kubelet", "--node", NODE, "--kubeconfig", str(kubeconfig),
         "--root", str(root)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        # Shown by pytest only when the test fails.
        print((root.parent / "kubelet.log").read_text(errors="replace")[-20000:])


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(kubectl_path()), "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_kubelet_runs_driver_pod_prepares_claims_and_serves_logs_and_exec(apiserver: Any) -> None:
    api = Api(apiserver)
    base = Path(tempfile.mkdtemp(prefix="kl-", dir="/tmp"))
    root = base / "kubelet"
    kubeconfig = Path(apiserver.kubeconfig)
    try:
        with kubelet_process(kubeconfig, root) as proc:
            # The kubelet creates its Node, then posts the status (as the real one does): wait for both.
            def registered() -> Any:
                got = api.request("GET", f"/api/v1/nodes/{NODE}", ok=(404,))
                return got if got and (got.get("status") or {}).get("conditions") else None

            node = wait_for("node registration", registered)
            assert node["metadata"]["labels"]["kubernetes.io/hostname"] == NODE
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            assert ready[0]["status"] == "True"
            assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0

            # The driver, as the tutorial's DaemonSet would run it: image + env, bound to this node.
            api.request("POST", "/api/v1/namespaces/default/pods", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "driver", "labels": {"app.kubernetes.io/name": "dra-example-driver"}},
                "spec": {"nodeName": NODE, "containers": [{
                    "name": "plugin", "image": DRIVER_IMAGE, "command": ["dra-example-kubeletplugin"],
                    "env": [{"name": "CDI_ROOT", "value": "/var/run/cdi"},
                            {"name": "KUBELET_REGISTRAR_DIRECTORY_PATH", "value": "/var/lib/kubelet/plugins_registry"},
                            {"name": "KUBELET_PLUGINS_DIRECTORY_PATH", "value": "/var/lib/kubelet/plugins"},
                            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            {"name": "NUM_DEVICES", "value": "4"}, {"name": "HEALTHCHECK_PORT", "value": "51515"}],
                    # As in the Helm chart; the readiness probe proves the port mapping reaches the driver.
                    "livenessProbe": {"grpc": {"port": 51515, "service": "liveness"}, "periodSeconds": 10},
                    "readinessProbe": {"grpc": {"port": 51515, "service": "liveness"}, "periodSeconds": 1},
                }]},
            })
            wait_for("driver registration socket", lambda: (root / "plugins_registry" / f"{DRIVER}-reg.sock")
                     .is_socket())
            def driver_ready() -> bool:
                statuses = ((api.pod("driver") or {}).get("status") or {}).get("containerStatuses") or []
                return bool(statuses) and statuses[0]["ready"]

            wait_for("driver pod Ready (gRPC readiness probe on the moved health port)", driver_ready)
            driver_env = kubectl(kubeconfig, "exec", "driver", "--", "env").stdout.splitlines()
            moved = [line for line in driver_env if line.startswith("HEALTHCHECK_PORT=")]
            assert moved and moved[0] != "HEALTHCHECK_PORT=51515", driver_env
            wait_for("driver slices", lambda: [
                s for s in api.request("GET", "/apis/resource.k8s.io/v1/resourceslices")["items"]
                if s["spec"]["nodeName"] == NODE])

            claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"
            claim = api.request("POST", claims, {
                "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "gpu"},
                "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRIVER}}]}}})
            # The workload is bound before its claim is reserved: the kubelet must retry, and say why.
            pod = api.request("POST", "/api/v1/namespaces/default/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod0", "labels": {"app": "w"}},
                "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 5,
                         "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu"}],
                         "containers": [{"name": "ctr0", "image": "ubuntu:22.04", "command": ["bash", "-c"],
                                         "args": ["export; trap 'exit 0' TERM; sleep 9999 & wait"],
                                         "resources": {"claims": [{"name": "gpu"}]}},
                                        {"name": "ollama", "image": "docker.io/alpine/ollama:0.12.9",
                                         "resources": {"claims": [{"name": "gpu"}]}}]},
            })

            def events(reason: str) -> list[dict[str, Any]]:
                items = api.request("GET", "/api/v1/namespaces/default/events")["items"]
                return [e for e in items if e["reason"] == reason and e["involvedObject"]["name"] == "pod0"]

            failed = wait_for("FailedPrepareDynamicResources", lambda: events("FailedPrepareDynamicResources"))
            assert "is not allowed to use ResourceClaim gpu" in failed[0]["message"]
            claim["status"] = {
                "allocation": {"devices": {"results": [
                    {"request": "gpu", "driver": DRIVER, "pool": NODE, "device": "gpu-2"}]}},
                "reservedFor": [{"resource": "pods", "name": "pod0", "uid": pod["metadata"]["uid"]}],
            }
            api.request("PUT", f"{claims}/gpu/status", claim)

            def running() -> bool:
                current = api.pod("pod0") or {}
                statuses = (current.get("status") or {}).get("containerStatuses") or []
                return current.get("status", {}).get("phase") == "Running" and all(s["ready"] for s in statuses)

            wait_for("pod0 Running and ready", running, timeout=40)
            assert events("ContainerNotExecuted")
            table = kubectl(kubeconfig, "get", "pod", "pod0", "--no-headers")
            assert table.returncode == 0, table.stderr
            assert table.stdout.split()[1:3] == ["2/2", "Running"], table.stdout

            def logged() -> str:
                out = kubectl(kubeconfig, "logs", "pod0", "-c", "ctr0")
                return out.stdout if 'GPU_DEVICE_2="gpu-2"' in out.stdout else ""

            text = wait_for("GPU_DEVICE_2 in the logs", logged)
            assert 'declare -x GPU_DEVICE_2_SHARING_STRATEGY="TimeSlicing"' in text
            assert 'declare -x KUBERNETES_NODE_NAME="kl-node"' in text
            by_label = kubectl(kubeconfig, "logs", "-l", "app=w", "-c", "ctr0", "--tail=-1")
            assert 'GPU_DEVICE_2="gpu-2"' in by_label.stdout, by_label.stderr

            env = kubectl(kubeconfig, "exec", "pod0", "-c", "ollama", "--", "env")
            assert env.returncode == 0, env.stderr
            assert "GPU_DEVICE_2=gpu-2" in env.stdout.splitlines()
            assert "DRA_RESOURCE_DRIVER_NAME=gpu.example.com" in env.stdout.splitlines()
            code = kubectl(kubeconfig, "exec", "pod0", "-c", "ctr0", "--", "sh", "-c", "exit 3")
            assert code.returncode == 3, code.stderr

            # Probes through the kubelet: readiness follows a file, a failing liveness probe restarts.
            flag = base / "ready-flag"
            api.request("POST", "/api/v1/namespaces/default/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed"},
                "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "app", "image": "busybox", "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 999 & wait"],
                    "readinessProbe": {"exec": {"command": ["test", "-e", str(flag)]}, "periodSeconds": 1},
                    "livenessProbe": {"exec": {"command": ["test", "!", "-e", str(base / "kill-flag")]},
                                      "periodSeconds": 1, "failureThreshold": 1}}]}})

            def app_status() -> dict[str, Any]:
                statuses = ((api.pod("probed") or {}).get("status") or {}).get("containerStatuses") or [{}]
                return statuses[0]

            wait_for("probed running", lambda: "running" in (app_status().get("state") or {}))
            assert app_status()["ready"] is False
            flag.touch()
            wait_for("probed ready once the readiness probe passes", lambda: app_status().get("ready"))
            (base / "kill-flag").touch()
            wait_for("probed restarted by its liveness probe", lambda: app_status().get("restartCount", 0) >= 1)
            killing = [e for e in api.request("GET", "/api/v1/namespaces/default/events")["items"]
                       if e["reason"] == "Killing" and e["involvedObject"]["name"] == "probed"]
            assert killing and "failed liveness probe" in killing[0]["message"]
            api.request("DELETE", "/api/v1/namespaces/default/pods/probed?gracePeriodSeconds=0")

            driver_logs = kubectl(kubeconfig, "logs", "driver")
            assert driver_logs.returncode == 0, driver_logs.stderr

            # Deletion: containers stop, the claim is unprepared (CDI spec removed), the pod disappears.
            cdi_specs = lambda: sorted(p.name for p in (root / "cdi").iterdir() if claim["metadata"]["uid"] in p.name)  # noqa: E731
            assert cdi_specs()
            started = time.monotonic()
            deleted = kubectl(kubeconfig, "delete", "pod", "pod0", "--timeout=25s")
            assert deleted.returncode == 0, deleted.stderr
            wait_for("pod0 gone", lambda: api.pod("pod0") is None, timeout=25)
            assert time.monotonic() - started < 25
            wait_for("claim CDI spec removed", lambda: not cdi_specs())
            state = json.loads((root / "dra_manager_state").read_text())
            assert state["claims"] == []
            assert proc.poll() is None
    finally:
        with contextlib.suppress(Exception):
            api.request("DELETE", "/api/v1/namespaces/default/pods/driver?gracePeriodSeconds=0", ok=(404,))
        shutil.rmtree(base, ignore_errors=True)
