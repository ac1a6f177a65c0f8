"""Starting or reusing a ``kubedra up`` cluster from commands that need one (tutorial, demo).

They run ``kubedra`` as a subprocess, exactly as a user would, so the cluster outlives the command
and ``kubedra status``/``down`` manage it like any other.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def kubedra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubedra", *args], capture_output=True, text=True, timeout=300)


def cluster_running(data_dir: Path) -> bool:
    """A cluster runs in ``data_dir`` (its kubeconfig exists and ``kubedra status`` says so)."""
    return (data_dir / "kubeconfig").exists() and kubedra("status", "--data-dir", str(data_dir)).returncode == 0


def start_cluster(data_dir: Path, nodes: Sequence[str], *, private_port: bool) -> subprocess.CompletedProcess[str]:
    """``kubedra up`` in ``data_dir``; ``private_port`` picks a free port instead of 6443, so the
    command never collides with a cluster the user already runs."""
    port = ["--port", "0"] if private_port else []
    return kubedra("up", "--data-dir", str(data_dir), "--nodes", ",".join(nodes), *port)
