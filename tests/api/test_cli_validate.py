"""`kubedra validate` as a user runs it: a real process, files, directories and stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLAIM = """\
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: example-resource-claim
  namespace: dra-tutorial
spec:
  devices:
    requests:
    - name: example-gpu
      exactly:
        deviceClassName: gpu.example.com
        allocationMode: All
"""


def kubedra(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubedra", "validate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_valid_file_and_not_checked_kinds(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(CLAIM + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dra-tutorial}\n")
    result = kubedra(str(manifest))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ResourceClaim dra-tutorial/example-resource-claim: valid",
        "Namespace dra-tutorial: not checked (Namespace is not a DRA kind)",
    ]


def test_errors_malformed_yaml_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        CLAIM.replace("allocationMode: All", "allocationMode: All\n        count: 3")
    )
    (tmp_path / "broken.yaml").write_text("kind: Pod\nspec:\n  - a\n  b: c\n")
    result = kubedra(str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0] == f"ResourceClaim dra-tutorial/example-resource-claim: invalid [{tmp_path / 'bad.yaml'}:1]"
    )
    assert (
        lines[1]
        == "  spec.devices.requests[0].exactly.count: Invalid value: 3: must not be specified when allocationMode is 'All'"
    )
    assert lines[2].startswith(f"{tmp_path / 'broken.yaml'}:4: malformed YAML")


def test_stdin_strict_and_feature_gates() -> None:
    extra = CLAIM.replace("allocationMode: All", "allocationMode: All\n        colour: red")
    assert kubedra("-", stdin=extra).returncode == 0
    strict = kubedra("--strict", "-", stdin=extra)
    assert strict.returncode == 1
    assert (
        'spec.devices.requests[0].exactly.colour: Forbidden: strict decoding error: unknown field "spec.devices.requests[0].exactly.colour"'
        in strict.stdout
    )
    tolerating = CLAIM.replace(
        "allocationMode: All", "allocationMode: All\n        tolerations: [{operator: Exists}]"
    )
    assert kubedra("-", stdin=tolerating).returncode == 0
    gated = kubedra("--feature-gates=DRADeviceTaints=false", "-", stdin=tolerating)
    assert gated.returncode == 1 and "feature gate DRADeviceTaints" in gated.stdout
    bad_gate = kubedra("--feature-gates=DRAAdminAccess=false", "-", stdin=CLAIM)
    assert bad_gate.returncode == 2 and "locked" in bad_gate.stderr


def test_older_versions_are_converted_and_legacy_kinds_rejected() -> None:
    beta = "apiVersion: resource.k8s.io/v1beta1\nkind: ResourceClaim\nmetadata: {name: c}\nspec:\n  devices:\n    requests:\n    - {name: r, deviceClassName: gpu, count: -1}\n"
    result = kubedra("-", stdin=beta)
    assert result.returncode == 1
    # Errors use the v1 path, as kube-apiserver normalises v1beta1 paths.
    assert (
        "  spec.devices.requests[0].exactly.count: Invalid value: -1: must be greater than zero"
        in result.stdout.splitlines()
    )
    legacy = kubedra(
        "-", stdin="apiVersion: resource.k8s.io/v1alpha2\nkind: PodSchedulingContext\nmetadata: {name: p}\n"
    )
    assert legacy.returncode == 1 and "PodSchedulingContext p: rejected" in legacy.stdout
