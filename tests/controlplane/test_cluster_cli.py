"""``kubedra up`` / ``status`` / ``down`` as users run them (real background processes, real SQLite)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubedra.cli.cluster import _process_table, descendants
from kubedra.controlplane.client import HTTPClient, NotFound

pytestmark = pytest.mark.slow

COMPONENTS = ("apiserver", "controller-manager", "kubelet-kind-control-plane", "kubelet-kind-worker")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubedra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubedra", *args], capture_output=True, text=True, timeout=90)


def _wait_running(client: HTTPClient, ns: str, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    phase = None
    while time.monotonic() < deadline:
        phase = (client.get("pods", name, namespace=ns).get("status") or {}).get("phase")
        if phase == "Running":
            return
        time.sleep(0.1)
    raise AssertionError(f"pod {ns}/{name} is {phase}, not Running")


def test_up_status_down_leaves_nothing_and_state_survives(tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "cluster"
    up = _kubedra("up", "--data-dir", str(data), "--port", str(port))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        # Progress for each step, then where the kubeconfig is and how to use it.
        for name in COMPONENTS:
            assert re.search(rf"starting {name} \(pid \d+\) \.*\s*ready \(\d+\.\ds\)", up.stdout), up.stdout
        assert "waiting for nodes kind-control-plane, kind-worker to be Ready ..." in up.stdout
        assert f"kubeconfig: {data / 'kubeconfig'}" in up.stdout
        assert up.stdout.rstrip().endswith(f"export KUBECONFIG={data / 'kubeconfig'}")

        again = _kubedra("up", "--data-dir", str(data), "--port", str(_free_port()))
        assert again.returncode == 1 and "already running" in again.stderr and "kubedra down" in again.stderr
        taken = _kubedra("up", "--data-dir", str(tmp_path / "other"), "--port", str(port))
        assert taken.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in taken.stderr

        status = _kubedra("status", "--data-dir", str(data))
        assert status.returncode == 0, status.stderr
        for name in COMPONENTS:
            assert re.search(rf"^{name}\s+\d+\s+running, ready$", status.stdout, re.M), status.stdout
        assert re.search(r"^kind-control-plane\s+Ready\s+control-plane\s+0$", status.stdout, re.M), status.stdout
        assert re.search(r"^kind-worker\s+Ready\s+<none>\s+0$", status.stdout, re.M), status.stdout

        client = HTTPClient.from_kubeconfig(data / "kubeconfig")
        client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "keep"}})
        claim = {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": "kept", "namespace": "keep"},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}},
        }
        client.create("resourceclaims", claim, namespace="keep")
        client.create("pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "keep"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "1000"]}]},
        }, namespace="keep")
        _wait_running(client, "keep", "sleeper")
        pids = [int((data / f"{name}.pid").read_text()) for name in COMPONENTS]
        tree = descendants(pids)
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in tree}
        assert any(cmd.startswith(b"sleep\x001000") for cmd in commands.values()), commands
        # The worst case: kind-worker's kubelet hangs (SIGSTOP), so down has to SIGKILL it and its
        # container is orphaned; down must find and kill that too.
        os.kill(pids[COMPONENTS.index("kubelet-kind-worker")], signal.SIGSTOP)
    finally:
        down = _kubedra("down", "--data-dir", str(data), "--timeout", "3")
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith(
        "stopped kubelet-kind-worker, kubelet-kind-control-plane, controller-manager, apiserver and 1 process(es) "
        "they left behind"
    ), down.stdout
    # Nothing the cluster started survives: not its components, not the containers below them.
    table = _process_table()
    survivors = [pid for pid in pids if pid in table] + [p for p, start in tree.items() if table.get(p, (0, ""))[1] == start]
    assert survivors == [], survivors
    assert not list(data.glob("*.pid"))
    assert _kubedra("status", "--data-dir", str(data)).returncode == 3

    # Up again on the same data directory: the objects are still there (SQLite).
    again = _kubedra("up", "--data-dir", str(data), "--port", str(port), "--nodes", "")
    try:
        assert again.returncode == 0, again.stdout + again.stderr
        client = HTTPClient.from_kubeconfig(data / "kubeconfig")
        kept = client.get("resourceclaims", "kept", namespace="keep")
        assert kept["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "gpu.example.com"
        assert client.get("namespaces", "keep")["status"]["phase"] == "Active"
        with pytest.raises(NotFound):
            client.get("resourceclaims", "never-created", namespace="keep")
    finally:
        assert _kubedra("down", "--data-dir", str(data)).returncode == 0
