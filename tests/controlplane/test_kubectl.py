"""The real kubectl 1.34 against kubedra: the DRA tutorial's Module 4, as users type it."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kubedra.cli.binaries import kubectl_path

TUTORIAL = Path(__file__).parent.parent / "fixtures" / "tutorial"

pytestmark = pytest.mark.slow


@pytest.fixture
def kubectl(apiserver, tmp_path):
    binary = str(kubectl_path())
    base = [binary, f"--kubeconfig={apiserver.kubeconfig}", f"--cache-dir={tmp_path / 'kube-cache'}"]

    def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*base, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    run.base = base  # type: ignore[attr-defined]
    return run


def rows(output: str) -> list[list[str]]:
    """kubectl's column output split into cells (columns are separated by 2+ spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines() if line.strip()]


def test_tutorial_module4(kubectl):
    # "kubectl create namespace" goes through client-go's typed client, i.e. a protobuf body.
    assert kubectl("create", "namespace", "dra-tutorial").stdout.strip() == "namespace/dra-tutorial created"
    out = kubectl("apply", "-f", str(TUTORIAL)).stdout
    for line in ("deviceclass.resource.k8s.io/gpu.example.com created",
                 "serviceaccount/dra-example-driver-service-account created",
                 "clusterrole.rbac.authorization.k8s.io/dra-example-driver-role created",
                 "clusterrolebinding.rbac.authorization.k8s.io/dra-example-driver-role-binding created",
                 "priorityclass.scheduling.k8s.io/dra-driver-high-priority created",
                 "daemonset.apps/dra-example-driver-kubeletplugin created",
                 "resourceclaim.resource.k8s.io/example-resource-claim created",
                 "pod/ollama created", "service/ollama-service created"):
        assert line in out, out
    assert "namespace/dra-tutorial configured" in out  # created without kubectl apply's annotation

    table = rows(kubectl("get", "resourceclaim", "-n", "dra-tutorial").stdout)
    assert table[0] == ["NAME", "STATE", "AGE"]
    assert table[1][:2] == ["example-resource-claim", "pending"]
    assert re.fullmatch(r"\d+s", table[1][2])

    table = rows(kubectl("get", "deviceclasses").stdout)
    assert table[0] == ["NAME", "AGE"] and table[1][0] == "gpu.example.com"

    out = kubectl("get", "daemonset,pods", "-n", "dra-tutorial", "-l", "app.kubernetes.io/name=dra-example-driver").stdout
    assert rows(out)[0] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
    assert rows(out)[1][0] == "daemonset.apps/dra-example-driver-kubeletplugin"
    table = rows(kubectl("get", "pods", "-n", "dra-tutorial", "-l", "app=ollama").stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1][:4] == ["ollama", "0/1", "Pending", "0"]

    described = kubectl("describe", "resourceclaim", "-n", "dra-tutorial", "example-resource-claim").stdout
    for fragment in ("Name:         example-resource-claim", "Namespace:    dra-tutorial",
                     "API Version:  resource.k8s.io/v1", "Kind:         ResourceClaim",
                     "Allocation Mode:    All", "Device Class Name:  gpu.example.com",
                     'Expression:  device.capacity["gpu.example.com"].memory == quantity("80Gi")',
                     "Name:              example-gpu", "Events:"):
        assert fragment in described, described

    again = kubectl("apply", "-f", str(TUTORIAL)).stdout
    assert again.count("unchanged") == 10, again

    kubectl("delete", "-f", str(TUTORIAL / "05-resourceclaim.yaml"))
    gone = kubectl("get", "resourceclaim", "-n", "dra-tutorial", "example-resource-claim", check=False)
    assert gone.returncode == 1
    assert 'resourceclaims.resource.k8s.io "example-resource-claim" not found' in gone.stderr


def test_apply_patch_follows_merge_keys(kubectl, tmp_path):
    """A changed manifest is sent as a strategic merge patch built from our OpenAPI; the server agrees."""
    kubectl("apply", "-f", str(TUTORIAL / "00-namespace.yaml"))
    kubectl("apply", "-f", str(TUTORIAL / "04-dra-driver-daemonset.yaml"))
    original = (TUTORIAL / "04-dra-driver-daemonset.yaml").read_text()
    changed = original.replace("v0.2.0", "v0.4.0").replace('value: "9"', 'value: "4"')
    changed = re.sub(r"\n        - name: HEALTHCHECK_PORT\n          value: \"51515\"", "", changed)
    (tmp_path / "ds.yaml").write_text(changed)
    log = kubectl("apply", "-f", str(tmp_path / "ds.yaml"), "-v=8").stderr
    assert "application/strategic-merge-patch+json" in log
    ds = json.loads(kubectl("get", "ds", "-n", "dra-tutorial", "dra-example-driver-kubeletplugin", "-o", "json").stdout)
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(":v0.4.0")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert "HEALTHCHECK_PORT" not in env
    assert env["NUM_DEVICES"] == "4" and env["CDI_ROOT"] == "/var/run/cdi"
    assert [m["name"] for m in container["volumeMounts"]] == ["plugins-registry", "plugins", "cdi"]
    assert ds["metadata"]["generation"] == 2


def test_explain_uses_our_openapi(kubectl):
    out = kubectl("explain", "resourceslice").stdout
    assert "KIND:       ResourceSlice" in out and "VERSION:    v1" in out
    assert "publishes devices that a driver manages" in out
    assert re.search(r"spec\s+<ResourceSliceSpec> -required-", out)
    out = kubectl("explain", "resourceclaim.spec.devices.requests").stdout
    assert "FIELD: requests <[]DeviceRequest>" in out
    assert re.search(r"exactly\s+<ExactDeviceRequest>", out)
    assert re.search(r"name\s+<string> -required-", out)
    out = kubectl("explain", "resourceclaim.spec.devices.requests.exactly.allocationMode").stdout
    assert "ExactCount" in out


def test_server_side_apply_conflicts_and_force(kubectl, tmp_path):
    kubectl("apply", "-f", str(TUTORIAL / "00-namespace.yaml"))
    out = kubectl("apply", "--server-side", "-f", str(TUTORIAL / "05-resourceclaim.yaml")).stdout
    assert out.strip() == "resourceclaim.resource.k8s.io/example-resource-claim serverside-applied"
    config = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: dra-tutorial\n"
              "data:\n  a: \"1\"\n  b: \"2\"\n")
    kubectl("apply", "--server-side", "-f", "-", stdin=config)
    other = config.replace('"1"', '"one"')
    refused = kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=other, check=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.a' in refused.stderr
    kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", stdin=other)
    cm = json.loads(kubectl("get", "cm", "settings", "-n", "dra-tutorial", "-o", "json",
                            "--show-managed-fields").stdout)
    assert cm["data"] == {"a": "one", "b": "2"}
    owners = {e["manager"]: e["fieldsV1"] for e in cm["metadata"]["managedFields"]}
    assert owners["other"] == {"f:data": {"f:a": {}, "f:b": {}}}
    assert owners["kubectl"] == {"f:data": {"f:b": {}}}
    # kubectl stops applying b (and agrees on a): "other" still owns b, so it stays.
    kubectl("apply", "--server-side", "-f", "-", stdin=other.replace('  b: "2"\n', ""))
    cm = json.loads(kubectl("get", "cm", "settings", "-n", "dra-tutorial", "-o", "json").stdout)
    assert cm["data"] == {"a": "one", "b": "2"}


def test_server_side_apply_after_client_side_apply_migrates_ownership(kubectl):
    kubectl("apply", "-f", str(TUTORIAL / "01-deviceclass.yaml"))
    out = kubectl("apply", "--server-side", "-f", str(TUTORIAL / "01-deviceclass.yaml")).stdout
    assert "deviceclass.resource.k8s.io/gpu.example.com serverside-applied" in out
    dc = json.loads(kubectl("get", "deviceclass", "gpu.example.com", "-o", "json", "--show-managed-fields").stdout)
    managers = {(e["manager"], e["operation"]) for e in dc["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    assert ("kubectl-client-side-apply", "Update") not in managers


def test_get_watch_receives_events(kubectl, tmp_path):
    kubectl("apply", "-f", str(TUTORIAL / "00-namespace.yaml"))
    watcher = subprocess.Popen([*kubectl.base, "get", "resourceclaims", "-n", "dra-tutorial", "-w",
                                "--request-timeout=30s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        time.sleep(1.0)  # let the watch start before the change
        kubectl("apply", "-f", str(TUTORIAL / "05-resourceclaim.yaml"))
        kubectl("delete", "resourceclaim", "-n", "dra-tutorial", "example-resource-claim")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum("example-resource-claim" in line for line in lines) < 2:
            time.sleep(0.05)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    seen = [line for line in lines if "example-resource-claim" in line]
    assert len(seen) >= 2, lines
    assert rows(seen[0])[0][:2] == ["example-resource-claim", "pending"]


def test_typed_create_commands_send_protobuf(kubectl):
    kubectl("create", "namespace", "tools")
    kubectl("create", "configmap", "cfg", "-n", "tools", "--from-literal=k=v")
    kubectl("create", "secret", "generic", "sec", "-n", "tools", "--from-literal=password=s3cret")
    kubectl("create", "serviceaccount", "robot", "-n", "tools")
    cm = json.loads(kubectl("get", "cm", "cfg", "-n", "tools", "-o", "json").stdout)
    assert cm["data"] == {"k": "v"}
    secret = json.loads(kubectl("get", "secret", "sec", "-n", "tools", "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"}
    table = rows(kubectl("get", "sa,cm,secret", "-n", "tools").stdout)
    assert table[1][:2] == ["serviceaccount/robot", "0"]
