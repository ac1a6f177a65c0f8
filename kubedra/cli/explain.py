"""`kubedra explain`: why a claim, template or pod does (not) get devices, from manifests or a live cluster.

    kubedra explain pod ollama -n dra-tutorial            # the running cluster (KUBECONFIG / kubedra up)
    kubedra explain resourceclaim/gpu -n demo --kubeconfig ~/.kube/config
    kubedra explain snapshot/ --template gpu-template -n demo   # manifest files, no cluster needed

The snapshot is every DeviceClass, ResourceSlice, ResourceClaim (with status: allocated claims count
as used), ResourceClaimTemplate, Node and Pod, read from the given files and directories or, with
none given, listed from the API server of ``--kubeconfig`` (default: ``$KUBECONFIG``, else the
embedded cluster's ``$KUBEDRA_DATA_DIR/kubeconfig`` or ``~/.kubedra/kubeconfig``). Older
``resource.k8s.io`` versions in files are converted to v1 and defaulted, as kube-apiserver would.
Without Node objects, the nodes named by the slices are used. For a pod, nodes it cannot use
anyway (taints, nodeSelector, node affinity, nodeName) are ruled out first, as kube-scheduler does.
"""

from __future__ import annotations

import argparse
import json
import os
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

# kubectl-style spellings of the three targets (``pod/NAME`` or ``pod NAME``).
TARGET_KINDS = {
    "pod": "pod",
    "pods": "pod",
    "po": "pod",
    "resourceclaim": "claim",
    "resourceclaims": "claim",
    "claim": "claim",
    "resourceclaimtemplate": "template",
    "resourceclaimtemplates": "template",
    "template": "template",
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
    parser.add_argument(
        "items",
        nargs="*",
        metavar="TARGET|FILE|DIR|-",
        help="the target (pod/NAME, resourceclaim NAME, template/NAME) and/or manifests forming the snapshot",
    )
    parser.add_argument("--claim", metavar="NAME", help="a ResourceClaim")
    parser.add_argument("--template", metavar="NAME", help="a ResourceClaimTemplate (explained as a fresh claim)")
    parser.add_argument("--pod", metavar="NAME", help="a Pod: all of its unallocated ResourceClaims together")
    parser.add_argument("-n", "--namespace", default="default")
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="read the snapshot from this cluster when no manifests are given "
        "(default: $KUBECONFIG, else the embedded cluster's kubeconfig)",
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument("--per-node", action="store_true", help="show every node's funnel, not only the summary")
    parser.add_argument(
        "--features",
        metavar="A,B",
        help="allocator features to enable instead of the 1.36 defaults (e.g. PrioritizedList,ListTypeAttributes)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        kind, name, paths = parse_items(args)
        if paths:
            snapshot, templates, pods = load_snapshot(paths)
        else:
            snapshot, templates, pods = load_live(resolve_kubeconfig(args.kubeconfig), kind, name, args.namespace)
        if args.features is not None:
            snapshot.features = Features.from_names(n for n in args.features.split(",") if n)
        claims, label, allocated, pod = resolve(kind, name, args.namespace, snapshot, templates, pods)
        excluded = excluded_nodes(pod, snapshot.nodes) if pod is not None else {}
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scheduler = _scheduler_message(pod) if pod is not None else None
    if not claims:
        return _print_allocated(label, allocated, scheduler, args.output)
    report = explain(snapshot, claims, label, excluded)
    if args.output == "json":
        data = report.to_dict()
        data["allocated"] = {_name(c): describe_allocation(c) for c in allocated}
        data["scheduler"] = scheduler
        print(json.dumps(data, indent=2))
    else:
        text = render(report, per_node=args.per_node).split("\n")
        extra = [f"the scheduler says: {scheduler}"] if scheduler else []
        extra += [f"already allocated: {_name(c)} ({describe_allocation(c)})" for c in allocated]
        print("\n".join(text[:1] + extra + text[1:]))
    return 0 if report.fits_on else 1


# --- the target ----------------------------------------------------------------------------------


def parse_items(args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """(kind, name, manifest paths) from the positional items and --claim/--template/--pod.

    An item names the target when it reads ``KIND/NAME`` or ``KIND NAME`` with a kind of
    :data:`TARGET_KINDS` and is not an existing path; every other item is a manifest path.
    """
    targets: list[tuple[str, str]] = [(k, v) for k in ("claim", "template", "pod") if (v := getattr(args, k))]
    paths: list[str] = []
    items = list(args.items)
    i = 0
    while i < len(items):
        item = items[i]
        word, slash, rest = item.partition("/")
        if item != "-" and not Path(item).exists() and word.lower() in TARGET_KINDS:
            kind = TARGET_KINDS[word.lower()]
            if slash and rest:
                targets.append((kind, rest))
                i += 1
                continue
            if not slash and i + 1 < len(items):
                targets.append((kind, items[i + 1]))
                i += 2
                continue
            raise InputError(f"{item!r}: name the {kind} as {word}/NAME or {word} NAME")
        if item != "-" and not Path(item).exists():
            raise InputError(
                f"{item!r} is neither a file nor a target (pod/NAME, resourceclaim/NAME, resourceclaimtemplate/NAME)"
            )
        paths.append(item)
        i += 1
    if len(targets) != 1:
        found = ", ".join(f"{k}/{n}" for k, n in targets) or "none"
        raise InputError(f"name exactly one pod, resourceclaim or resourceclaimtemplate to explain (got: {found})")
    kind, name = targets[0]
    return kind, name, paths


def resolve(
    kind: str,
    name: str,
    ns: str,
    snapshot: Snapshot,
    templates: list[ResourceClaimTemplate],
    pods: list[Pod],
) -> tuple[list[ResourceClaim], str, list[ResourceClaim], Pod | None]:
    """(claims to explain, label, claims of the target that are already allocated, the pod if any)."""

    def find_claim(claim_name: str) -> ResourceClaim | None:
        return next((c for c in snapshot.claims if c.metadata.name == claim_name and _ns(c) == ns), None)

    def find_template(template_name: str) -> ResourceClaimTemplate:
        found = next((t for t in templates if t.metadata.name == template_name and _ns(t) == ns), None)
        if found is None:
            raise InputError(f"ResourceClaimTemplate {ns}/{template_name} not found")
        return found

    if kind == "claim":
        claim = find_claim(name)
        if claim is None:
            raise InputError(f"ResourceClaim {ns}/{name} not found")
        if _allocated(claim):
            return [], f"ResourceClaim {ns}/{name}", [claim], None
        return [claim], f"ResourceClaim {ns}/{name}", [], None
    if kind == "template":
        return [_from_template(find_template(name), f"{name}-claim", ns)], f"ResourceClaimTemplate {ns}/{name}", [], None
    pod = next((p for p in pods if p.metadata.name == name and _ns(p) == ns), None)
    if pod is None:
        raise InputError(f"Pod {ns}/{name} not found")
    statuses = {
        s.name: s.resource_claim_name for s in (pod.status.resource_claim_statuses if pod.status else None) or []
    }
    claims: list[ResourceClaim] = []
    allocated: list[ResourceClaim] = []
    for pod_claim in (pod.spec.resource_claims if pod.spec else None) or []:
        where = f"Pod {ns}/{name}: spec.resourceClaims[{pod_claim.name}]"
        if pod_claim.resource_claim_name:
            claim = find_claim(pod_claim.resource_claim_name)
            if claim is None:
                raise InputError(f"{where}: ResourceClaim {ns}/{pod_claim.resource_claim_name} not found")
        elif pod_claim.resource_claim_template_name:
            generated = statuses.get(pod_claim.name)
            claim = find_claim(generated) if generated else None
            if claim is None:
                claim = _from_template(
                    find_template(pod_claim.resource_claim_template_name), f"{name}-{pod_claim.name}", ns
                )
        else:
            continue
        (allocated if _allocated(claim) else claims).append(claim)
    if not claims and not allocated:
        raise InputError(f"Pod {ns}/{name} has no ResourceClaims (spec.resourceClaims is empty)")
    return claims, f"Pod {ns}/{name}", allocated, pod


def excluded_nodes(pod: Pod, nodes: list[Node]) -> dict[str, str]:
    """Nodes the pod cannot use whatever its claims, with kube-scheduler's reason."""
    from kubedra.controlplane.scheduler.nodefit import AffinityError, check_node, required_node_affinity

    try:
        required = required_node_affinity(pod)
    except AffinityError as exc:
        raise InputError(f"Pod {_ns(pod)}/{pod.metadata.name}: {exc}") from None
    out: dict[str, str] = {}
    for node in nodes:
        reason = check_node(pod, node, required)
        if reason is not None:
            out[node.metadata.name or ""] = reason
    return out


def describe_allocation(claim: ResourceClaim) -> str:
    """``on node kind-worker: gpu.example.com/kind-worker/gpu-0, ...`` for an allocated claim."""
    allocation = claim.status.allocation if claim.status else None
    if allocation is None:
        return "not allocated"
    devices = allocation.devices
    picked = [f"{r.driver}/{r.pool}/{r.device}" for r in (devices.results if devices else None) or []]
    where = "any node"
    for term in (allocation.node_selector.node_selector_terms if allocation.node_selector else None) or []:
        for field in term.match_fields or []:
            if field.key == "metadata.name" and field.values:
                where = f"node {', '.join(field.values)}"
    return f"on {where}: {', '.join(picked) or 'no devices'}"


def _print_allocated(label: str, allocated: list[ResourceClaim], scheduler: str | None, output: str) -> int:
    if output == "json":
        data = {"target": label, "allocated": {_name(c): describe_allocation(c) for c in allocated},
                "scheduler": scheduler}
        print(json.dumps(data, indent=2))
        return 0
    print(f"explain {label}")
    if scheduler:
        print(f"the scheduler says: {scheduler}")
    print("every claim is already allocated; nothing is waiting for devices:")
    for claim in allocated:
        print(f"  {_name(claim)} {describe_allocation(claim)}")
    return 0


def _scheduler_message(pod: Pod) -> str | None:
    """The PodScheduled=False message of a pending pod (what ``kubectl describe pod`` shows)."""
    for condition in (pod.status.conditions if pod.status else None) or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "not scheduled")
    return None


def _allocated(claim: ResourceClaim) -> bool:
    return claim.status is not None and claim.status.allocation is not None


def _ns(obj: ResourceClaim | ResourceClaimTemplate | Pod) -> str:
    return obj.metadata.namespace or "default"


def _name(claim: ResourceClaim) -> str:
    return f"{_ns(claim)}/{claim.metadata.name}"


def _from_template(template: ResourceClaimTemplate, name: str, namespace: str) -> ResourceClaim:
    return codec.decode(
        ResourceClaim,
        {"metadata": {"name": name, "namespace": namespace}, "spec": codec.to_dict(template.spec.spec)},
    )


# --- the snapshot --------------------------------------------------------------------------------


class _Collector:
    """Sorts decoded objects into the snapshot, the templates and the pods."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.templates: list[ResourceClaimTemplate] = []
        self.pods: list[Pod] = []

    def add(self, obj: dict[str, Any], where: str) -> None:
        obj = _to_v1(obj, where)
        model = KINDS.get(str(obj.get("kind")))
        if model is None:
            return
        try:
            decoded = codec.decode(model, obj)
        except codec.DecodeError as exc:
            raise InputError(f"{where}: {obj.get('kind')}: {exc}") from None
        if isinstance(decoded, DeviceClass):
            self.snapshot.classes.append(decoded)
        elif isinstance(decoded, ResourceSlice):
            self.snapshot.slices.append(decoded)
        elif isinstance(decoded, ResourceClaim):
            self.snapshot.claims.append(decoded)
        elif isinstance(decoded, ResourceClaimTemplate):
            self.templates.append(decoded)
        elif isinstance(decoded, Node):
            self.snapshot.nodes.append(decoded)
        elif isinstance(decoded, Pod):
            self.pods.append(decoded)

    def result(self) -> tuple[Snapshot, list[ResourceClaimTemplate], list[Pod]]:
        snapshot = self.snapshot
        if not snapshot.nodes:
            names = sorted({s.spec.node_name for s in snapshot.slices if s.spec.node_name})
            snapshot.nodes = [codec.decode(Node, {"metadata": {"name": n}}) for n in names]
        return snapshot, self.templates, self.pods


def load_snapshot(paths: list[str]) -> tuple[Snapshot, list[ResourceClaimTemplate], list[Pod]]:
    collector = _Collector()
    for raw in paths:
        docs = load_text(sys.stdin.read(), "<stdin>") if raw == "-" else load_path(Path(raw))
        for doc in docs:
            if doc.error or doc.obj is None:
                raise InputError(f"{doc.location}: {doc.error or 'empty document'}")
            collector.add(doc.obj, doc.location)
    return collector.result()


def resolve_kubeconfig(explicit: str | None) -> Path:
    """--kubeconfig, else the first existing file of $KUBECONFIG, else the embedded cluster's."""
    if explicit:
        return Path(explicit).expanduser()
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    for candidate in env:
        if Path(candidate).expanduser().exists():
            return Path(candidate).expanduser()
    if env:
        return Path(env[0]).expanduser()
    from kubedra.cli.cluster import default_data_dir

    return default_data_dir() / "kubeconfig"


# (resource, kind, namespaced to the target's namespace)
_LIVE = (
    ("deviceclasses", "DeviceClass", False),
    ("resourceslices", "ResourceSlice", False),
    ("resourceclaims", "ResourceClaim", False),  # every namespace: their allocations use devices
    ("resourceclaimtemplates", "ResourceClaimTemplate", True),
    ("nodes", "Node", False),
)


def load_live(
    kubeconfig: Path, kind: str, name: str, namespace: str
) -> tuple[Snapshot, list[ResourceClaimTemplate], list[Pod]]:
    """List the snapshot's objects from the API server; for a pod target, get that pod."""
    from kubedra.controlplane.client import APIError, HTTPClient, NotFound

    if not kubeconfig.exists():
        raise InputError(
            f"no manifests given and no kubeconfig at {kubeconfig}: start a cluster with `kubedra up`, "
            "pass --kubeconfig PATH, or give manifest files"
        )
    try:
        client = HTTPClient.from_kubeconfig(kubeconfig)
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise InputError(f"cannot use kubeconfig {kubeconfig}: {type(exc).__name__}: {exc}") from None
    server = f"https://{client.host}:{client.port}" if client.https else f"http://{client.host}:{client.port}"
    collector = _Collector()
    try:
        for resource, kind_name, namespaced in _LIVE:
            listing = client.list(resource, namespace=namespace if namespaced else None)
            api_version = str(listing.get("apiVersion") or ("v1" if kind_name in ("Node", "Pod") else API_VERSION))
            for item in listing.get("items") or []:
                obj = {"apiVersion": api_version, "kind": kind_name, **item}
                collector.add(obj, f"{server} {kind_name} {_display(item)}")
        if kind == "pod":
            try:
                pod = client.get("pods", name, namespace=namespace)
            except NotFound:
                raise InputError(f"Pod {namespace}/{name} not found on {server}") from None
            collector.add({"apiVersion": "v1", "kind": "Pod", **pod}, f"{server} Pod {namespace}/{name}")
    except APIError as exc:
        raise InputError(f"the API server at {server} (kubeconfig {kubeconfig}) refused: {exc}") from None
    except OSError as exc:
        raise InputError(
            f"cannot reach the API server at {server} (kubeconfig {kubeconfig}): {exc}; "
            "is the cluster running (`kubedra status`)?"
        ) from None
    return collector.result()


def _display(item: dict[str, Any]) -> str:
    meta = item.get("metadata") or {}
    return f"{meta['namespace']}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))


def _to_v1(obj: dict[str, Any], where: str) -> dict[str, Any]:
    version = str(obj.get("apiVersion", ""))
    if version.startswith("resource.k8s.io/") and version != API_VERSION:
        try:
            obj = convert(obj, API_VERSION)
        except Exception as exc:  # ConversionError and friends: report, never a traceback
            raise InputError(f"{where}: {exc}") from None
    return apply_defaults(obj) if version.startswith("resource.k8s.io/") else obj
