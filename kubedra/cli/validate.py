"""`kubedra validate [--strict] [--feature-gates=...] FILE|DIR|- ...`: check DRA manifests offline.

Runs what kube-apiserver 1.36 would run on create: version conversion to v1, defaulting, and
validation with the same error texts, plus a migration hint for removed classic-DRA kinds. Other
well-known kinds are recognised and reported as not checked. Exit status 0 iff everything checked
is valid.

CEL selectors are compiled with kubedra's CEL engine in the "new expression" environment, as the
API server does on create: type errors land on the selector's field path and an expression whose
estimated cost exceeds the limit is ``Forbidden: too complex, exceeds cost limit``. The compiler is
injected because ``kubedra.api`` sits below ``kubedra.cel`` and may not import it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kubedra.api import versions
from kubedra.api.codec import DecodeError, unknown_fields
from kubedra.api.defaults import apply_defaults
from kubedra.api.errors import FieldError, forbidden, required
from kubedra.api.features import FeatureGateError, FeatureGates
from kubedra.api.legacy import check_legacy
from kubedra.api.manifest import OTHER_KNOWN_KINDS, RESOURCE_GROUP, Document, describe, load_path, load_text
from kubedra.api.validation import DRA_KINDS, CompileCEL, validate, validate_status
from kubedra.cel.validation import compiler_for


@dataclass
class Outcome:
    """The verdict on one document: ``ok`` False makes the command fail."""

    title: str
    verdict: str
    ok: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_document(
    doc: Document, *, strict: bool, gates: FeatureGates, compile_cel: CompileCEL | None = None
) -> Outcome:
    if doc.obj is None:
        return Outcome(doc.location, doc.error or "unreadable", False)
    compile_cel = compile_cel or compiler_for(gates)
    obj = doc.obj
    title = describe(obj)
    hint = check_legacy(obj)
    if hint is not None:
        return Outcome(title, "rejected", False, [hint])
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if not kind:
        return Outcome(
            title, "invalid", False, [str(required("kind", "every object needs apiVersion and kind"))]
        )
    group = str(api_version or "").partition("/")[0] if "/" in str(api_version or "") else ""
    is_dra_kind = kind in DRA_KINDS
    if is_dra_kind and not api_version:
        found = [k for k in obj if isinstance(k, str) and k.lower() == "apiversion" and k != "apiVersion"]
        if not found:
            return Outcome(title, "invalid", False, [str(required("apiVersion"))])
        # Check the rest as if the key were spelled right, so the user sees every problem at once.
        typo = str(required("apiVersion", f"found `{found[0]}`: field names are case-sensitive"))
        fixed = {("apiVersion" if k == found[0] else k): v for k, v in obj.items()}
        rest = check_document(
            Document(doc.source, doc.line, obj=fixed), strict=strict, gates=gates, compile_cel=compile_cel
        )
        notes = [rest.verdict.partition(" (")[2].rstrip(")")] if " (" in rest.verdict else []
        return Outcome(title, "invalid", False, [typo, *rest.errors], [*notes, *rest.warnings])
    if group != RESOURCE_GROUP or not is_dra_kind:
        if kind in OTHER_KNOWN_KINDS:
            return Outcome(title, f"not checked ({kind} is not a DRA kind)", True)
        if group == RESOURCE_GROUP:
            return Outcome(title, "invalid", False, [f"kind {kind!r} does not exist in {api_version}"])
        return Outcome(title, f"not checked (unknown kind {api_version}/{kind})", True)
    return _check_dra(obj, title, strict=strict, gates=gates, compile_cel=compile_cel)


def _check_dra(
    obj: dict[str, Any], title: str, *, strict: bool, gates: FeatureGates, compile_cel: CompileCEL | None
) -> Outcome:
    api_version = str(obj.get("apiVersion"))
    kind = str(obj.get("kind"))
    notes: list[str] = []
    if api_version not in versions.VERSIONS:
        return Outcome(
            title,
            "invalid",
            False,
            [
                f"apiVersion: Unsupported value: {api_version!r}: supported versions: {', '.join(versions.VERSIONS)}"
            ],
        )
    target = versions.V1BETA2 if kind == "DeviceTaintRule" else versions.V1
    if not versions.is_served(api_version, kind):
        notes.append(f"{api_version} {kind} is not served by Kubernetes 1.36; checked as {target}")
    elif api_version in versions.DEPRECATED:
        notes.append(f"{api_version} is {versions.DEPRECATED[api_version]}")
    try:
        converted = (
            versions.convert(obj, target)
            if kind != "DeviceTaintRule"
            else versions.convert(obj, versions.V1BETA2)
        )
    except versions.ConversionError as exc:
        return Outcome(title, "invalid", False, [str(exc)])
    errors: list[FieldError] = []
    warnings: list[str] = []
    try:
        unknown = unknown_fields(converted, DRA_KINDS[kind])
    except DecodeError:
        unknown = []  # the type error is reported with its path by validate() below
    for path in unknown:
        if strict:
            errors.append(forbidden(path, f'strict decoding error: unknown field "{path}"'))
        else:
            warnings.append(f'unknown field "{path}" (the API server drops it; --strict rejects it)')
    defaulted = apply_defaults(converted)
    errors.extend(validate(defaulted, gates=gates, compile_cel=compile_cel))
    if isinstance(defaulted.get("status"), dict) and not any(e.field.startswith("<root>") for e in errors):
        status_errors = validate_status(defaulted, gates=gates, compile_cel=compile_cel)
        errors.extend(e for e in status_errors if e not in errors)
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if errors:
        return Outcome(title, f"invalid{suffix}", False, [str(e) for e in errors], warnings)
    return Outcome(title, f"valid{suffix}", True, [], warnings)


def run(
    paths: list[str],
    out: TextIO,
    *,
    strict: bool = False,
    gates: FeatureGates | None = None,
    compile_cel: CompileCEL | None = None,
    stdin: TextIO | None = None,
) -> int:
    gates = gates or FeatureGates()
    compile_cel = compile_cel or compiler_for(gates)
    docs: list[Document] = []
    for item in paths:
        if item == "-":
            docs.extend(load_text((stdin or sys.stdin).read(), "<stdin>"))
            continue
        path = Path(item)
        if not path.exists():
            docs.append(Document(item, 0, error="no such file or directory"))
            continue
        docs.extend(load_path(path))
    failed = 0
    for doc in docs:
        outcome = check_document(doc, strict=strict, gates=gates, compile_cel=compile_cel)
        if not outcome.ok:
            failed += 1
        where = "" if doc.obj is None else f" [{doc.location}]"
        out.write(f"{outcome.title}: {outcome.verdict}{where if not outcome.ok else ''}\n")
        for err in outcome.errors:
            out.write(f"  {err}\n")
        for warning in outcome.warnings:
            out.write(f"  warning: {warning}\n")
    if not docs:
        out.write("no objects found\n")
        return 1
    return 1 if failed else 0


def _handler(args: argparse.Namespace) -> int:
    try:
        gates = FeatureGates.parse(",".join(args.feature_gates or []))
    except FeatureGateError as exc:
        print(f"error: --feature-gates: {exc}", file=sys.stderr)
        return 2
    return run(args.paths, sys.stdout, strict=args.strict, gates=gates)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate DRA manifests as kube-apiserver 1.36 would",
        description="Check resource.k8s.io manifests (any served or older version) offline: conversion to v1, "
        "defaulting and validation with Kubernetes' error messages. Exit 0 iff all objects are valid.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="FILE|DIR|-", help="manifest files, directories, or - for stdin"
    )
    parser.add_argument("--strict", action="store_true", help="reject fields the API does not know")
    parser.add_argument(
        "--feature-gates",
        action="append",
        metavar="A=true,B=false",
        help="override the Kubernetes 1.36 gate defaults",
    )
    parser.set_defaults(handler=_handler)
