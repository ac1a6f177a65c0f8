"""The scheduler and controllers as a separate component: over HTTPS, and inside ``kubedra up``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kubedra.controlplane.client import HTTPClient
from kubedra.controlplane.manager import Manager

from ._cluster import FAST, claim_spec, device_class, gpu_slice, node, pod, wait_for

NS = "default"


def test_manager_over_https_schedules_a_template_pod(apiserver) -> None:  # type: ignore[no-untyped-def]
    client = apiserver.client()
    client.create("deviceclasses", device_class())
    client.create("nodes", node("worker-0"))
    client.create("resourceslices", gpu_slice("worker-0", 2))
    client.create("resourceclaimtemplates", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
        "metadata": {"name": "one-gpu", "namespace": NS}, "spec": {"spec": claim_spec()}})
    with Manager(HTTPClient(apiserver.url, apiserver.token, apiserver.ca_file), scheduler_options=dict(FAST)):
        client.create("pods", pod("web", NS, [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]))
        assert wait_for(lambda: client.get("pods", "web", namespace=NS)["spec"].get("nodeName")) == "worker-0"
        name = client.get("pods", "web", namespace=NS)["status"]["resourceClaimStatuses"][0]["resourceClaimName"]
        claim = client.get("resourceclaims", name, namespace=NS)
        assert claim["status"]["allocation"]["devices"]["results"][0]["pool"] == "worker-0"
        assert claim["status"]["reservedFor"][0]["name"] == "web"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("in_process", [False, True], ids=["separate-process", "in-process"])
def test_kubedra_up_registers_nodes_and_schedules(tmp_path: Path, in_process: bool) -> None:
    data = tmp_path / "cluster"
    port = _free_port()
    env = {**os.environ, "KUBEDRA_DATA_DIR": str(data)}
    kubedra = [sys.executable, "-m", "kubedra"]
    mode = ["--in-process"] if in_process else []
    up = subprocess.run([*kubedra, "up", "--port", str(port), "--storage", "memory", "--nodes", "a,b", *mode],
                        env=env, capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        status = subprocess.run([*kubedra, "status"], env=env, capture_output=True, text=True, timeout=30)
        assert re.search(r"apiserver\b.*\brunning, ready", status.stdout), status.stdout
        if in_process:
            assert "controller-manager" not in status.stdout, status.stdout
            assert "run in the apiserver process" in status.stdout
            assert "--controllers" in (Path(f"/proc/{(data / 'apiserver.pid').read_text().strip()}/cmdline")
                                       .read_bytes().decode().replace("\0", " "))
        else:
            assert re.search(r"controller-manager\b.*\brunning", status.stdout), status.stdout
        client = HTTPClient.from_kubeconfig(data / "kubeconfig")
        nodes = {n["metadata"]["name"]: n for n in client.list("nodes")["items"]}
        assert set(nodes) == {"a", "b"}
        assert nodes["a"]["status"]["conditions"][0]["type"] == "Ready"
        client.create("deviceclasses", device_class())
        client.create("resourceslices", gpu_slice("b", 1))
        client.create("resourceclaims", {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                                         "metadata": {"name": "c", "namespace": NS}, "spec": claim_spec()})
        client.create("pods", pod("p", NS, [{"name": "gpu", "resourceClaimName": "c"}]))
        assert wait_for(lambda: client.get("pods", "p", namespace=NS)["spec"].get("nodeName"), timeout=30) == "b"
    finally:
        down = subprocess.run([*kubedra, "down"], env=env, capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr
    assert "apiserver" in down.stdout and not list(data.glob("*.pid"))
