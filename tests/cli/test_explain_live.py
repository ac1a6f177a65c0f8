"""`kubedra explain` against a live API server (real HTTPS, objects created by hand, no scheduler).

The tutorial's failing variant: nine 80Gi GPUs on kind-worker and a claim asking for exactly 40Gi.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubedra.cli.main import main
from kubedra.controlplane.client import HTTPClient
from tests.conftest import APIServerHandle
from tests.controlplane._cluster import claim_spec, device_class, gpu_slice, node, pod

NS = "dra-tutorial"
WANTS_40GI = 'device.capacity["gpu.example.com"].memory == quantity("40Gi")'
WANTS_80GI = 'device.capacity["gpu.example.com"].memory == quantity("80Gi")'


def _claim(name: str, selector: str, mode: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": claim_spec(selector, mode=mode),
    }


@pytest.fixture
def cluster(apiserver: APIServerHandle) -> HTTPClient:
    """Two tutorial nodes (control plane tainted), nine 80Gi GPUs on kind-worker, two claims, two pods."""
    client = apiserver.client()
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for n in (
        node("kind-control-plane", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        node("kind-worker"),
    ):
        client.create("nodes", n)
    client.create("deviceclasses", device_class())
    client.create("resourceslices", gpu_slice("kind-worker", 9))
    client.create("resourceclaims", _claim("too-small", WANTS_40GI, mode="All"), namespace=NS)
    client.create("resourceclaims", _claim("all-gpus", WANTS_80GI, mode="All"), namespace=NS)
    client.create("pods", pod("ollama", NS, [{"name": "gpu", "resourceClaimName": "too-small"}]), namespace=NS)
    client.create("pods", pod("fits", NS, [{"name": "gpu", "resourceClaimName": "all-gpus"}]), namespace=NS)
    return client


def test_pending_pod_names_the_selector_and_the_nearest_miss(
    apiserver: APIServerHandle, cluster: HTTPClient, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["explain", "pod", "ollama", "-n", NS, "--kubeconfig", str(apiserver.kubeconfig)])
    out = capsys.readouterr().out
    assert status == 1, out
    assert out.startswith(f"explain Pod {NS}/ollama\n")
    # The tainted control-plane node is ruled out as kube-scheduler would, with its reason.
    assert "kind-control-plane: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }" in out
    assert "fits on 0 of 1 nodes" in out
    assert "9 devices in usable pools" in out
    assert f"request selector #0 `{WANTS_40GI}` matched 0 of 9 devices; memory seen: 80Gi \u00d79" in out


def test_satisfiable_claim_shows_node_and_devices(
    apiserver: APIServerHandle, cluster: HTTPClient, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["explain", "resourceclaim/all-gpus", "-n", NS, "--kubeconfig", str(apiserver.kubeconfig)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "fits on 1 of 2 nodes; the scheduler's first fit here is kind-worker:" in out
    for i in range(9):
        assert f"{NS}/all-gpus: gpu -> gpu.example.com/kind-worker/gpu-{i}" in out
    # -o json carries the same answer for scripts.
    assert main(["explain", "pod/fits", "-n", NS, "--kubeconfig", str(apiserver.kubeconfig), "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fits_on"] == ["kind-worker"]
    assert report["excluded_nodes"] == {
        "kind-control-plane": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    }
    assert len(report["chosen"]["devices"]) == 9


def test_allocated_devices_count_as_used_and_allocated_claims_are_reported(
    apiserver: APIServerHandle, cluster: HTTPClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once all-gpus holds the nine GPUs, a second All claim finds them taken; all-gpus itself is done."""
    results = [
        {"request": "gpu", "driver": "gpu.example.com", "pool": "kind-worker", "device": f"gpu-{i}"}
        for i in range(9)
    ]
    claim = cluster.get("resourceclaims", "all-gpus", namespace=NS)
    claim["status"] = {
        "allocation": {
            "devices": {"results": results},
            "nodeSelector": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                        "values": ["kind-worker"]}]}]
            },
        }
    }
    cluster.update("resourceclaims", claim, subresource="status")
    cluster.create("resourceclaims", _claim("second", WANTS_80GI), namespace=NS)
    kubeconfig = str(apiserver.kubeconfig)

    assert main(["explain", "resourceclaim", "second", "-n", NS, "--kubeconfig", kubeconfig]) == 1
    out = capsys.readouterr().out
    assert "9 already allocated" in out and "0 available" in out

    assert main(["explain", "pod", "fits", "-n", NS, "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "every claim is already allocated" in out
    assert f"{NS}/all-gpus on node kind-worker: gpu.example.com/kind-worker/gpu-0" in out


def test_default_kubeconfig_and_clear_errors(
    apiserver: APIServerHandle, cluster: HTTPClient, tmp_path: Path
) -> None:
    """A real `kubedra explain` process: $KUBECONFIG is the default; no cluster or a bad name says why."""
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}

    def kubedra(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kubedra", "explain", *args], capture_output=True,
                              text=True, timeout=60, env={**env, **extra})

    found = kubedra("pod", "ollama", "-n", NS)
    assert found.returncode == 1 and "memory seen: 80Gi \u00d79" in found.stdout, found.stderr
    missing = kubedra("pod", "nope", "-n", NS)
    assert missing.returncode == 2 and f"Pod {NS}/nope not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    # No $KUBECONFIG: the embedded cluster's kubeconfig under $KUBEDRA_DATA_DIR, which is not there.
    no_cluster = kubedra("pod", "ollama", "-n", NS, KUBECONFIG="", KUBEDRA_DATA_DIR=str(tmp_path / "none"))
    assert no_cluster.returncode == 2
    assert f"no kubeconfig at {tmp_path / 'none' / 'kubeconfig'}" in no_cluster.stderr
    assert "kubedra up" in no_cluster.stderr
    # A kubeconfig whose server is gone.
    text = Path(apiserver.kubeconfig).read_text()
    server = next(line.split("server:")[1].strip() for line in text.splitlines() if "server:" in line)
    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(text.replace(server, "https://127.0.0.1:9"))
    unreachable = kubedra("pod", "ollama", "-n", NS, "--kubeconfig", str(dead))
    assert unreachable.returncode == 2 and "cannot reach the API server at https://127.0.0.1:9" in unreachable.stderr
    assert "kubedra status" in unreachable.stderr


def test_target_parsing_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "pod"]) == 2
    assert "name the pod as pod/NAME or pod NAME" in capsys.readouterr().err
    assert main(["explain", "pod/a", "--claim", "b"]) == 2
    assert "name exactly one pod, resourceclaim or resourceclaimtemplate" in capsys.readouterr().err
    assert main(["explain", "no-such-file.yaml", "--claim", "b"]) == 2
    assert "'no-such-file.yaml' is neither a file nor a target" in capsys.readouterr().err
