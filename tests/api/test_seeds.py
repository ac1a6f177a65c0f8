"""Every manifest block of the seed documents, checked by ``kubedra validate`` with its expected outcome.

Seed manifests that are wrong, and why:
- 002 line 200 (Pod gpu-example, two containers): ``resources:`` is indented as a sibling of the
  container list instead of inside each container, so the YAML itself is malformed.
- 002 line 256 (ResourceClaim shared-gpu): ``apiversion`` is lower-case (field names are
  case-sensitive, so the object has no apiVersion), and ``spec.selectors`` does not exist — selectors
  live under ``spec.devices.requests[].exactly.selectors``; the claim requests nothing.
- 003 line 351 (DeviceClass gpu.vendor.com): ``apiversion`` lower-case again, and
  ``resource.k8s.io/v1alpha3`` no longer serves DeviceClass in 1.36.
- 003 lines 467 and 740: ``helm show chart/all`` output — Chart.yaml and values.yaml are not
  Kubernetes objects (no ``kind``).
- 004 line 43 (the v1alpha3 DeviceClass): ``name`` is at the top level instead of under
  ``metadata``, so the class has no name; the ResourceClaimTemplate in the same block is
  ``resource.k8s.io/v1alpha2``, the removed classic-DRA API (rejected with a migration hint).
Seed 000 has no manifests; 001 is prose only.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubedra.api.features import FeatureGates
from kubedra.api.manifest import load_text
from kubedra.cli.validate import check_document, run

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# A manifest block is a fenced code block with a line starting with ``kind:``/``apiVersion:`` (or the
# misspelling ``apiversion:``). Shell-output blocks start with tool chatter (helm headers, ``Pulled:``
# lines): that is cut at the first line that starts a manifest, and helm's trailing ``NOTES:`` prose
# is cut off too.

_FENCE = re.compile(r"^\s*```")
_MANIFEST_LINE = re.compile(r"^(kind|apiVersion|apiversion):")
_MANIFEST_START = re.compile(r"^(---|# Source:|apiVersion:|apiversion:)")


@dataclass(frozen=True)
class Block:
    seed: str  # file name prefix, e.g. "003"
    line: int  # 1-based line of the opening fence
    text: str


def blocks(seed_dir: Path = SEEDS) -> list[Block]:
    found: list[Block] = []
    for path in sorted(seed_dir.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            if not _FENCE.match(lines[i]):
                i += 1
                continue
            j = i + 1
            while j < len(lines) and not _FENCE.match(lines[j]):
                j += 1
            body = lines[i + 1 : j]
            if any(_MANIFEST_LINE.match(line) for line in body):
                start = next((k for k, line in enumerate(body) if _MANIFEST_START.match(line)), 0)
                end = next((k for k, line in enumerate(body) if line == "NOTES:"), len(body))
                found.append(Block(path.name[:3], i + 1, "\n".join(body[start:end]) + "\n"))
            i = j + 1
    return found


NOT_CHECKED = "not checked"

# (seed, fence line, document line inside the block, title, verdict)
EXPECTED = [
    ("002", 97, 1, "Pod gpu-example", NOT_CHECKED),
    ("002", 158, 1, "Pod device-plugin-example", NOT_CHECKED),
    ("002", 176, 1, "Pod dra-example", NOT_CHECKED),
    ("002", 200, 12, "002:200:12", "malformed YAML"),
    ("002", 222, 1, "Pod gpu-example-0", NOT_CHECKED),
    ("002", 239, 1, "Pod gpu-example-1", NOT_CHECKED),
    ("002", 256, 1, "ResourceClaim shared-gpu", "invalid"),
    ("003", 351, 1, "DeviceClass gpu.vendor.com", "invalid"),
    ("003", 420, 1, "ResourceClaim shared-gpu-resourceclaim", "valid"),
    ("003", 467, 1, "<no kind> <no name>", "invalid"),
    ("003", 740, 1, "<no kind> <no name>", "invalid"),
    ("003", 740, 32, "<no kind> <no name>", "invalid"),
    ("003", 740, 259, "CustomResourceDefinition computedomains.resource.nvidia.com", NOT_CHECKED),
    (
        "003",
        1275,
        3,
        "ServiceAccount nvidia-dra-driver-gpu/compute-domain-daemon-service-account",
        NOT_CHECKED,
    ),
    (
        "003",
        1275,
        10,
        "ServiceAccount nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-service-account-controller",
        NOT_CHECKED,
    ),
    (
        "003",
        1275,
        23,
        "ServiceAccount nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-service-account-kubeletplugin",
        NOT_CHECKED,
    ),
    ("003", 1275, 36, "ClusterRole compute-domain-daemon-role", NOT_CHECKED),
    ("003", 1275, 49, "ClusterRole nvidia-dra-driver-gpu-clusterrole-controller", NOT_CHECKED),
    ("003", 1275, 71, "ClusterRole nvidia-dra-driver-gpu-clusterrole-kubeletplugin", NOT_CHECKED),
    (
        "003",
        1275,
        93,
        "ClusterRoleBinding compute-domain-daemon-role-binding-nvidia-dra-driver-gpu",
        NOT_CHECKED,
    ),
    (
        "003",
        1275,
        107,
        "ClusterRoleBinding nvidia-dra-driver-gpu-clusterrole-binding-controller-nvidia-dra-driver-gpu",
        NOT_CHECKED,
    ),
    (
        "003",
        1275,
        121,
        "ClusterRoleBinding nvidia-dra-driver-gpu-clusterrole-binding-kubeletplugin-nvidia-dra-driver-gpu",
        NOT_CHECKED,
    ),
    ("003", 1275, 135, "Role nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-role-controller", NOT_CHECKED),
    ("003", 1275, 146, "Role nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-role-kubeletplugin", NOT_CHECKED),
    (
        "003",
        1275,
        154,
        "RoleBinding nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-role-binding-controller",
        NOT_CHECKED,
    ),
    (
        "003",
        1275,
        169,
        "RoleBinding nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-role-binding-kubeletplugin",
        NOT_CHECKED,
    ),
    ("003", 1275, 184, "DaemonSet nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin", NOT_CHECKED),
    ("003", 1275, 355, "Deployment nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-controller", NOT_CHECKED),
    ("003", 1275, 491, "DeviceClass compute-domain-daemon.nvidia.com", "valid"),
    ("003", 1275, 501, "DeviceClass compute-domain-default-channel.nvidia.com", "valid"),
    ("003", 1275, 511, "ValidatingAdmissionPolicy resourceslices-policy-nvidia-dra-driver-gpu", NOT_CHECKED),
    (
        "003",
        1275,
        549,
        "ValidatingAdmissionPolicyBinding resourceslices-policy-nvidia-dra-driver-gpu",
        NOT_CHECKED,
    ),
    ("003", 1858, 3, "ServiceAccount intel-gpu-resource-driver/intel-gpu-sa", NOT_CHECKED),
    ("003", 1858, 15, "ClusterRole intel-gpu-resource-driver/intel-gpu-resource-driver-role", NOT_CHECKED),
    (
        "003",
        1858,
        32,
        "ClusterRoleBinding intel-gpu-resource-driver/intel-gpu-resource-driver-rolebinding",
        NOT_CHECKED,
    ),
    (
        "003",
        1858,
        47,
        "DaemonSet intel-gpu-resource-driver/intel-gpu-resource-driver-kubelet-plugin",
        NOT_CHECKED,
    ),
    ("003", 1858, 129, "DeviceClass gpu.intel.com", "valid"),
    ("003", 1858, 143, "ValidatingAdmissionPolicy resourceslices-policy-dra-kubelet-plugin-gpu", NOT_CHECKED),
    (
        "003",
        1858,
        176,
        "ValidatingAdmissionPolicyBinding resourceslices-policy-dra-kubelet-plugin-gpu",
        NOT_CHECKED,
    ),
    ("003", 2073, 2, "ClusterRole dranet", NOT_CHECKED),
    ("003", 2073, 38, "ClusterRoleBinding dranet", NOT_CHECKED),
    ("003", 2073, 51, "ServiceAccount kube-system/dranet", NOT_CHECKED),
    ("003", 2073, 57, "DaemonSet kube-system/dranet", NOT_CHECKED),
    ("003", 2292, 1, "DeviceClass gpu.example.com", "valid"),  # v1beta1: converted, with a deprecation note
    ("003", 2317, 2, "DeviceClass compute-domain-daemon.nvidia.com", "valid"),
    ("003", 2317, 12, "DeviceClass compute-domain-default-channel.nvidia.com", "valid"),
    ("003", 2351, 2, "DeviceClass gpu.intel.com", "valid"),  # uses extendedResourceName (gate on in 1.36)
    ("003", 2393, 2, "ServiceAccount dra-tutorial/dra-example-driver-service-account", NOT_CHECKED),
    ("003", 2393, 11, "ClusterRole dra-example-driver-role", NOT_CHECKED),
    ("003", 2393, 26, "ClusterRoleBinding dra-example-driver-role-binding", NOT_CHECKED),
    ("003", 2458, 1, "PriorityClass dra-driver-high-priority", NOT_CHECKED),
    ("003", 2486, 1, "DaemonSet dra-tutorial/dra-example-driver-kubeletplugin", NOT_CHECKED),
    ("003", 2598, 1, "ResourceClaim dra-tutorial/example-resource-claim", "valid"),
    ("003", 2652, 1, "Pod dra-tutorial/ollama", NOT_CHECKED),
    ("003", 2829, 1, "Service dra-tutorial/ollama-service", NOT_CHECKED),
    ("004", 43, 1, "DeviceClass <no name>", "invalid"),
    ("004", 43, 9, "ResourceClaimTemplate large-black-cat-claim-template", "rejected"),
    ("004", 86, 1, "Pod pod-with-cats", NOT_CHECKED),
]

# Error lines that must appear for the seed manifests that are wrong.
EXPECTED_ERRORS = {
    ("002", 256, 1): ["apiVersion: Required value: found `apiversion`: field names are case-sensitive"],
    ("003", 351, 1): [
        "apiVersion: Required value: found `apiversion`: field names are case-sensitive",
    ],
    ("003", 467, 1): ["kind: Required value"],
    ("004", 43, 1): ["metadata.name: Required value: name or generateName is required"],
    ("004", 43, 9): [
        "resource.k8s.io/v1alpha2 ResourceClaimTemplate was removed in Kubernetes 1.31",
        "deviceClassName",
    ],
}
EXPECTED_WARNINGS = {
    ("002", 256, 1): ['unknown field "spec.selectors"'],
    ("004", 43, 1): ['unknown field "name"'],
}


def _outcomes() -> dict[tuple[str, int, int], tuple[str, str, list[str], list[str]]]:
    found = {}
    for block in blocks():
        for doc in load_text(block.text, f"{block.seed}:{block.line}"):
            outcome = check_document(doc, strict=False, gates=FeatureGates())
            found[(block.seed, block.line, doc.line)] = (
                outcome.title,
                outcome.verdict,
                outcome.errors,
                outcome.warnings,
            )
    return found


OUTCOMES = _outcomes()


def test_seed_directory_is_present() -> None:
    assert SEEDS.is_dir() and len(list(SEEDS.glob("*.txt"))) == 5


def test_every_seed_manifest_has_an_expected_outcome() -> None:
    assert sorted(OUTCOMES) == sorted((s, b, d) for s, b, d, _, _ in EXPECTED)


@pytest.mark.parametrize(
    ("seed", "block", "doc", "title", "verdict"), EXPECTED, ids=[f"{e[0]}:{e[1]}:{e[2]}" for e in EXPECTED]
)
def test_seed_manifest(seed: str, block: int, doc: int, title: str, verdict: str) -> None:
    got_title, got_verdict, errors, warnings = OUTCOMES[(seed, block, doc)]
    assert got_title == title
    assert got_verdict.startswith(verdict), (got_verdict, errors)
    for expected in EXPECTED_ERRORS.get((seed, block, doc), []):
        assert any(expected in e for e in errors), (expected, errors)
    for expected in EXPECTED_WARNINGS.get((seed, block, doc), []):
        assert any(expected in w for w in warnings), (expected, warnings)
    if verdict in ("valid", NOT_CHECKED):
        assert not errors


def test_tutorial_v1alpha3_deviceclass_is_flagged_as_not_served() -> None:
    _, _, _, warnings = OUTCOMES[("003", 351, 1)]
    # Past the misspelt key, the object is converted from v1alpha3 and checked as v1.
    assert (
        "resource.k8s.io/v1alpha3 DeviceClass is not served by Kubernetes 1.36; checked as resource.k8s.io/v1"
        in warnings
    )


def test_seed_002_claim_is_rejected_in_strict_mode() -> None:
    block = next(b for b in blocks() if (b.seed, b.line) == ("002", 256))
    out = io.StringIO()
    fixed = block.text.replace("apiversion:", "apiVersion:")
    status = run(["-"], out, strict=True, stdin=io.StringIO(fixed))
    assert status == 1, out.getvalue()
    assert (
        'spec.selectors: Forbidden: strict decoding error: unknown field "spec.selectors"' in out.getvalue()
    )
