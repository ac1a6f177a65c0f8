"""kubectl/helm discovery: PATH when new enough, otherwise the binaries packaged on PyPI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubedra.cli import binaries


@pytest.fixture(autouse=True)
def _fresh_caches():
    binaries.kubectl_path.cache_clear()
    binaries.helm_path.cache_clear()
    yield
    binaries.kubectl_path.cache_clear()
    binaries.helm_path.cache_clear()


def _fake_kubectl(directory: Path, minor: str) -> Path:
    """A PATH entry claiming an old kubectl version (only the version probe is exercised)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"clientVersion": {{"major": "1", "minor": "{minor}", "gitVersion": "v1.{minor}.0"}}}}\'\n'
    )
    script.chmod(0o755)
    return script


def test_packaged_kubectl_is_1_34(tmp_path):
    kubectl = binaries.extract_packaged("kubectl", tmp_path)
    assert kubectl == tmp_path / "kubectl"
    assert os.access(kubectl, os.X_OK)
    assert binaries.kubectl_version(kubectl) >= (1, 34)
    # Second call reuses the extracted file.
    mtime = kubectl.stat().st_mtime_ns
    assert binaries.extract_packaged("kubectl", tmp_path).stat().st_mtime_ns == mtime


def test_packaged_helm_is_helm_4(tmp_path):
    helm = binaries.extract_packaged("helm", tmp_path)
    version = binaries.helm_version(helm)
    assert version is not None and version[0] == 4


def test_too_old_kubectl_on_path_is_skipped(tmp_path, monkeypatch):
    old = _fake_kubectl(tmp_path / "path", "32+")
    monkeypatch.setenv("PATH", f"{old.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBEDRA_BIN_DIR", str(tmp_path / "cache"))
    chosen = binaries.kubectl_path()
    assert chosen == tmp_path / "cache" / "kubectl"
    assert binaries.kubectl_version(chosen) >= (1, 34)


def test_new_enough_kubectl_on_path_wins(tmp_path, monkeypatch):
    new = _fake_kubectl(tmp_path / "path", "35")
    monkeypatch.setenv("PATH", str(new.parent))
    monkeypatch.setenv("KUBEDRA_BIN_DIR", str(tmp_path / "cache"))
    assert binaries.kubectl_path() == new
    assert not (tmp_path / "cache").exists()


def test_unrunnable_helm_on_path_falls_back(tmp_path, monkeypatch):
    broken = tmp_path / "path" / "helm"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBEDRA_BIN_DIR", str(tmp_path / "cache"))
    assert binaries.helm_path() == tmp_path / "cache" / "helm"


def test_cli_passes_every_word_to_kubectl(tmp_path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none")}
    out = subprocess.run(
        [sys.executable, "-m", "kubedra", "kubectl", "--request-timeout=1s", "version", "--client", "-o", "json"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert '"clientVersion"' in out.stdout


def test_cli_points_kubectl_at_the_local_cluster(tmp_path):
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubedra-test\n  cluster: {server: 'https://127.0.0.1:1'}\n"
        "contexts:\n- name: c\n  context: {cluster: kubedra-test, user: u}\ncurrent-context: c\n"
        "users:\n- name: u\n  user: {token: t}\n")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"KUBEDRA_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "kubedra", "kubectl", "config", "view", "-o", "jsonpath={.clusters[0].name}"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert out.stdout == "kubedra-test"
