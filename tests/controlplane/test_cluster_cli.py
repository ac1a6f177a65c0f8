"""``kubedra up`` / ``status`` / ``down`` as users run them (real background process)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kubedra.controlplane.client import HTTPClient

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubedra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubedra", *args], capture_output=True, text=True, timeout=60)


def test_up_status_down(tmp_path: Path) -> None:
    port = _free_port()
    data = str(tmp_path / "cluster")
    up = _kubedra("up", "--data-dir", data, "--port", str(port))
    try:
        assert up.returncode == 0, up.stderr
        assert "kubeconfig" in up.stdout
        again = _kubedra("up", "--data-dir", data, "--port", str(port))
        assert again.returncode == 1 and "already running" in again.stderr
        status = _kubedra("status", "--data-dir", data)
        assert status.returncode == 0 and "ready" in status.stdout
        client = HTTPClient.from_kubeconfig(Path(data) / "kubeconfig")
        assert client.get("namespaces", "default")["status"]["phase"] == "Active"
        taken = _kubedra("up", "--data-dir", str(tmp_path / "other"), "--port", str(port))
        assert taken.returncode == 1 and f"port {port}" in taken.stderr
    finally:
        down = _kubedra("down", "--data-dir", data)
    assert down.returncode == 0 and "apiserver" in down.stdout
    assert _kubedra("status", "--data-dir", data).returncode == 3
