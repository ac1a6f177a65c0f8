"""The real helm 4 against kubedra: install, upgrade and uninstall a small DRA chart."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kubedra.cli.binaries import helm_path, kubectl_path

CHART = Path(__file__).parent.parent / "fixtures" / "charts" / "dra-demo"

pytestmark = pytest.mark.slow


@pytest.fixture
def clients(apiserver, tmp_path):
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig),
           "HELM_CACHE_HOME": str(tmp_path / "helm-cache"), "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
           "HELM_DATA_HOME": str(tmp_path / "helm-data"), "KUBECACHEDIR": str(tmp_path / "kube-cache")}

    def run(binary: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{binary.name} {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    return (lambda *a, **k: run(helm_path(), *a, **k)), (lambda *a, **k: run(kubectl_path(), *a, **k))


def test_helm_install_upgrade_uninstall(clients):
    helm, kubectl = clients
    out = helm("install", "demo", str(CHART), "--namespace", "dra-demo", "--create-namespace").stdout
    assert "STATUS: deployed" in out and "REVISION: 1" in out

    dc = json.loads(kubectl("get", "deviceclass", "demo-gpu.example.com", "-o", "json",
                            "--show-managed-fields").stdout)
    assert dc["spec"]["selectors"][0]["cel"]["expression"] == "device.driver == 'gpu.example.com'"
    assert dc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    owners = {(e["manager"], e["operation"]) for e in dc["metadata"]["managedFields"]}
    assert ("helm", "Apply") in owners  # helm 4 installs with server-side apply
    template = json.loads(kubectl("get", "resourceclaimtemplate", "demo-gpus", "-n", "dra-demo", "-o",
                                  "json").stdout)
    assert template["spec"]["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "demo-gpu.example.com"
    cm = json.loads(kubectl("get", "cm", "demo-settings", "-n", "dra-demo", "-o", "json").stdout)
    assert cm["data"] == {"message": "hello from kubedra", "gpus": "1"}
    releases = json.loads(helm("list", "-n", "dra-demo", "-o", "json").stdout)
    assert [(r["name"], r["status"], r["revision"]) for r in releases] == [("demo", "deployed", "1")]

    out = helm("upgrade", "demo", str(CHART), "-n", "dra-demo", "--set", "message=upgraded").stdout
    assert "REVISION: 2" in out
    cm = json.loads(kubectl("get", "cm", "demo-settings", "-n", "dra-demo", "-o", "json").stdout)
    assert cm["data"]["message"] == "upgraded"
    history = json.loads(helm("history", "demo", "-n", "dra-demo", "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    secrets = kubectl("get", "secrets", "-n", "dra-demo", "-l", "owner=helm", "-o", "name").stdout.split()
    assert sorted(secrets) == ["secret/sh.helm.release.v1.demo.v1", "secret/sh.helm.release.v1.demo.v2"]

    out = helm("uninstall", "demo", "-n", "dra-demo").stdout
    assert 'release "demo" uninstalled' in out
    assert kubectl("get", "deviceclass", "demo-gpu.example.com", check=False).returncode == 1
    assert kubectl("get", "cm", "demo-settings", "-n", "dra-demo", check=False).returncode == 1
    assert kubectl("get", "secrets", "-n", "dra-demo", "-l", "owner=helm", "-o", "name").stdout.strip() == ""
