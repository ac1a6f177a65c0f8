"""Loading manifests: multi-document YAML or JSON from files, directories or stdin.

Documents are split and parsed one at a time so that one malformed document is reported with its
file and line while the others are still checked, which is what a user fixing a long manifest
needs. Timestamps stay strings (PyYAML would turn ``2025-11-06T07:54:29Z`` into a datetime, which
is not what the JSON of a Kubernetes object holds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR = re.compile(r"^---(?:\s.*)?$")
_END = re.compile(r"^\.\.\.\s*$")


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: Kubernetes times are strings in JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    """One object (or one parse failure) and where it came from."""

    source: str
    line: int  # 1-based line of the document's first line in the source
    obj: dict[str, Any] | None = None
    error: str | None = None

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


def parse_yaml(text: str) -> Any:
    """Parse one YAML document with kubedra's loader (timestamps stay strings)."""
    return yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader


def load_text(text: str, source: str) -> list[Document]:
    """All documents of a YAML/JSON stream; ``kind: List`` objects are expanded into their items."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return [
                Document(
                    source,
                    exc.lineno,
                    error=f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                )
            ]
        items = data if isinstance(data, list) else [data]
        return [d for item in items for d in _expand(item, source, 1)]
    docs: list[Document] = []
    for start, chunk in _split(text):
        try:
            data = parse_yaml(chunk)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = start + (mark.line if mark else 0)
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            docs.append(Document(source, line, error=f"malformed YAML: {problem}"))
            continue
        except yaml.YAMLError as exc:
            docs.append(Document(source, start, error=f"malformed YAML: {exc}"))
            continue
        if data is None:
            continue
        docs.extend(_expand(data, source, start + _leading_blank_lines(chunk)))
    return docs


def _split(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each ``---``-separated document."""
    lines = text.splitlines(keepends=True)
    start = 1
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        bare = line.rstrip("\r\n")
        if _SEPARATOR.match(bare) or _END.match(bare):
            if current:
                yield start, "".join(current)
            current = []
            start = number + 1
            # Content after "--- " on the same line belongs to the next document.
            rest = bare[3:].strip() if bare.startswith("---") else ""
            if rest and not rest.startswith("#"):
                current.append(rest + "\n")
                start = number
            continue
        current.append(line)
    if current:
        yield start, "".join(current)


def _leading_blank_lines(chunk: str) -> int:
    count = 0
    for line in chunk.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        count += 1
    return count


def _expand(data: Any, source: str, line: int) -> list[Document]:
    if not isinstance(data, dict):
        return [
            Document(
                source, line, error=f"expected an object with apiVersion and kind, got {type(data).__name__}"
            )
        ]
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        out: list[Document] = []
        for item in data["items"]:
            out.extend(_expand(item, source, line))
        return out
    return [Document(source, line, obj=data)]


def load_path(path: Path) -> list[Document]:
    """Documents of a file, or of every ``*.yaml|*.yml|*.json`` file under a directory (sorted)."""
    if path.is_dir():
        docs: list[Document] = []
        for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES):
            docs.extend(load_path(file))
        return docs
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Document(str(path), 0, error=f"cannot read: {exc}")]
    return load_text(text, str(path))


# --- kind recognition ----------------------------------------------------------------------------

RESOURCE_GROUP = "resource.k8s.io"

# Kinds that appear in DRA manifests and tutorials but that kubedra does not validate.
OTHER_KNOWN_KINDS = frozenset(
    {
        "Pod",
        "Namespace",
        "DaemonSet",
        "Deployment",
        "StatefulSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "PriorityClass",
        "CustomResourceDefinition",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "Node",
        "PersistentVolumeClaim",
        "RuntimeClass",
    }
)


def describe(obj: dict[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name``) for report lines."""
    kind = obj.get("kind") or "<no kind>"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "<no name>")
    namespace = meta.get("namespace")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
