"""`kubedra explain`: why a claim, template or pod does (not) get devices, from a snapshot of manifests.

The snapshot is every DeviceClass, ResourceSlice, ResourceClaim (with status: allocated claims count
as used), ResourceClaimTemplate, Node and Pod found in the given files and directories; older
``resource.k8s.io`` versions are converted to v1 and defaults applied, as kube-apiserver would.
Without Node objects, the nodes named by the slices are used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kubedra.allocator.explain import Snapshot, explain, render
from kubedra.allocator.features import Features
from kubedra.api import codec
from kubedra.api.core import Node, Pod
from kubedra.api.defaults import apply_defaults
from kubedra.api.manifest import load_path, load_text
from kubedra.api.resource import (
    API_VERSION,
    DeviceClass,
    ResourceClaim,
    ResourceClaimTemplate,
    ResourceSlice,
)
from kubedra.api.versions import convert

KINDS: dict[str, type[Any]] = {
    "DeviceClass": DeviceClass,
    "ResourceSlice": ResourceSlice,
    "ResourceClaim": ResourceClaim,
    "ResourceClaimTemplate": ResourceClaimTemplate,
    "Node": Node,
    "Pod": Pod,
}


class InputError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="explain why a pod's ResourceClaims do or do not get devices",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR|-", help="manifests forming the snapshot")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--claim", metavar="NAME", help="a ResourceClaim of the snapshot")
    target.add_argument(
        "--template", metavar="NAME", help="a ResourceClaimTemplate (explained as a fresh claim)"
    )
    target.add_argument("--pod", metavar="NAME", help="a Pod: all of its ResourceClaims together")
    parser.add_argument("-n", "--namespace", default="default")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--per-node", action="store_true", help="show every node's funnel, not only the summary"
    )
    parser.add_argument(
        "--features",
        metavar="A,B",
        help="allocator features to enable instead of the 1.36 defaults (e.g. PrioritizedList,ListTypeAttributes)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        snapshot, templates, pods = load_snapshot(args.paths)
        if args.features is not None:
            snapshot.features = Features.from_names(n for n in args.features.split(",") if n)
        claims, label = resolve(args, snapshot, templates, pods)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = explain(snapshot, claims, label)
    if args.output == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render(report, per_node=args.per_node))
    return 0 if report.fits_on else 1


def load_snapshot(paths: list[str]) -> tuple[Snapshot, list[ResourceClaimTemplate], list[Pod]]:
    snapshot = Snapshot()
    templates: list[ResourceClaimTemplate] = []
    pods: list[Pod] = []
    for raw in paths:
        docs = load_text(sys.stdin.read(), "<stdin>") if raw == "-" else load_path(Path(raw))
        for doc in docs:
            if doc.error or doc.obj is None:
                raise InputError(f"{doc.location}: {doc.error or 'empty document'}")
            obj = _to_v1(doc.obj, doc.location)
            model = KINDS.get(str(obj.get("kind")))
            if model is None:
                continue
            try:
                decoded = codec.decode(model, obj)
            except codec.DecodeError as exc:
                raise InputError(f"{doc.location}: {obj.get('kind')}: {exc}") from None
            if isinstance(decoded, DeviceClass):
                snapshot.classes.append(decoded)
            elif isinstance(decoded, ResourceSlice):
                snapshot.slices.append(decoded)
            elif isinstance(decoded, ResourceClaim):
                snapshot.claims.append(decoded)
            elif isinstance(decoded, ResourceClaimTemplate):
                templates.append(decoded)
            elif isinstance(decoded, Node):
                snapshot.nodes.append(decoded)
            elif isinstance(decoded, Pod):
                pods.append(decoded)
    if not snapshot.nodes:
        names = sorted({s.spec.node_name for s in snapshot.slices if s.spec.node_name})
        snapshot.nodes = [codec.decode(Node, {"metadata": {"name": n}}) for n in names]
    return snapshot, templates, pods


def _to_v1(obj: dict[str, Any], where: str) -> dict[str, Any]:
    version = str(obj.get("apiVersion", ""))
    if version.startswith("resource.k8s.io/") and version != API_VERSION:
        try:
            obj = convert(obj, API_VERSION)
        except Exception as exc:  # ConversionError and friends: report, never a traceback
            raise InputError(f"{where}: {exc}") from None
    return apply_defaults(obj) if version.startswith("resource.k8s.io/") else obj


def _from_template(template: ResourceClaimTemplate, name: str, namespace: str) -> ResourceClaim:
    return codec.decode(
        ResourceClaim,
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": codec.to_dict(template.spec.spec),
        },
    )


def resolve(
    args: argparse.Namespace, snapshot: Snapshot, templates: list[ResourceClaimTemplate], pods: list[Pod]
) -> tuple[list[ResourceClaim], str]:
    ns = args.namespace

    def find_claim(name: str) -> ResourceClaim | None:
        return next(
            (
                c
                for c in snapshot.claims
                if c.metadata.name == name and (c.metadata.namespace or "default") == ns
            ),
            None,
        )

    def find_template(name: str) -> ResourceClaimTemplate:
        found = next(
            (t for t in templates if t.metadata.name == name and (t.metadata.namespace or "default") == ns),
            None,
        )
        if found is None:
            raise InputError(f"ResourceClaimTemplate {ns}/{name} not found in the snapshot")
        return found

    if args.claim:
        claim = find_claim(args.claim)
        if claim is None:
            raise InputError(f"ResourceClaim {ns}/{args.claim} not found in the snapshot")
        return [claim], f"ResourceClaim {ns}/{args.claim}"
    if args.template:
        return [
            _from_template(find_template(args.template), f"{args.template}-claim", ns)
        ], f"ResourceClaimTemplate {ns}/{args.template}"
    pod = next(
        (p for p in pods if p.metadata.name == args.pod and (p.metadata.namespace or "default") == ns), None
    )
    if pod is None:
        raise InputError(f"Pod {ns}/{args.pod} not found in the snapshot")
    statuses = {
        s.name: s.resource_claim_name
        for s in (pod.status.resource_claim_statuses if pod.status else None) or []
    }
    claims: list[ResourceClaim] = []
    for pod_claim in (pod.spec.resource_claims if pod.spec else None) or []:
        if pod_claim.resource_claim_name:
            claim = find_claim(pod_claim.resource_claim_name)
            if claim is None:
                raise InputError(
                    f"pod {ns}/{args.pod}: ResourceClaim {pod_claim.resource_claim_name} not found"
                )
        elif pod_claim.resource_claim_template_name:
            generated = statuses.get(pod_claim.name)
            claim = find_claim(generated) if generated else None
            if claim is None:
                claim = _from_template(
                    find_template(pod_claim.resource_claim_template_name), f"{args.pod}-{pod_claim.name}", ns
                )
        else:
            continue
        if claim.status is not None and claim.status.allocation is not None:
            continue  # already allocated: nothing to explain for it
        claims.append(claim)
    if not claims:
        raise InputError(f"pod {ns}/{args.pod} has no unallocated ResourceClaims to explain")
    return claims, f"Pod {ns}/{args.pod}"
