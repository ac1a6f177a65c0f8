"""SQLite durability: a server killed with SIGKILL comes back with every acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubedra.controlplane.client import HTTPClient

pytestmark = pytest.mark.slow


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], HTTPClient]:
    kubeconfig = data_dir / "kubeconfig"
    kubeconfig.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "kubedra.controlplane.apiserver", "--data-dir", str(data_dir),
                             "--port", "0", "--storage", "sqlite"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not kubeconfig.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    time.sleep(0.05)
    return proc, HTTPClient.from_kubeconfig(kubeconfig)


def test_kill_9_keeps_acknowledged_writes_and_watch_resumes(tmp_path: Path) -> None:
    proc, c = _start(tmp_path)
    try:
        first = c.create("configmaps", {"metadata": {"name": "cm-0", "namespace": "default"}})
        for i in range(1, 50):
            c.create("configmaps", {"metadata": {"name": f"cm-{i}", "namespace": "default"}, "data": {"i": str(i)}})
        c.delete("configmaps", "cm-1", namespace="default")
        last_rv = int(c.list("configmaps", namespace="default")["metadata"]["resourceVersion"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc, c = _start(tmp_path)
    try:
        names = {o["metadata"]["name"] for o in c.list("configmaps", namespace="default")["items"]}
        assert names == {f"cm-{i}" for i in range(50)} - {"cm-1"}
        created = c.create("configmaps", {"metadata": {"name": "after", "namespace": "default"}})
        assert int(created["metadata"]["resourceVersion"]) > last_rv  # revisions keep increasing
        # a watch from before the crash resumes with the history after it
        w = c.watch("configmaps", namespace="default", resource_version=first["metadata"]["resourceVersion"],
                    timeout_seconds=2)
        seen = []
        for ev in w:
            if ev.type != "BOOKMARK":
                seen.append((ev.type, ev.object["metadata"]["name"]))
            if ev.object["metadata"]["name"] == "after":
                break
        w.close()
        assert seen[0] == ("ADDED", "cm-1") and ("DELETED", "cm-1") in seen and seen[-1] == ("ADDED", "after")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
