"""Container Device Interface (CDI) specs: model, names, minimum version, file I/O.

Hand-written instead of using a library because there is no maintained Python CDI
package; the format is small (spec 1.1.0, see shared/reference/node.md §7). Drivers
write specs with :func:`write_spec`; the kubelet resolves device IDs with
:mod:`kubedra.node.plugin.cdi_cache`. Parsing is strict like the Go implementation:
unknown fields and versions lower than the content needs are errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from kubedra.node.plugin.atomicfile import fsync_dir, write_atomically

KNOWN_VERSIONS = ("0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0")
HOOK_NAMES = frozenset(
    {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
)

_VENDOR_CLASS = re.compile(r"^[A-Za-z]([A-Za-z0-9_.\-]*[A-Za-z0-9])?$")
_DEVICE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:\-]*[A-Za-z0-9])?$")


class CDIError(ValueError):
    """A CDI spec or device name is invalid; the message names the file and field."""


class _Base(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    pass


class DeviceNode(_Base, kw_only=True):
    path: str
    host_path: str | None = None
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    permissions: str | None = None
    uid: int | None = None
    gid: int | None = None


class Mount(_Base, kw_only=True):
    host_path: str
    container_path: str
    options: list[str] | None = None
    type: str | None = None


class Hook(_Base, kw_only=True):
    hook_name: str
    path: str
    args: list[str] | None = None
    env: list[str] | None = None
    timeout: int | None = None


class IntelRdt(_Base, kw_only=True):
    clos_id: str | None = msgspec.field(default=None, name="closID")
    l3_cache_schema: str | None = None
    mem_bw_schema: str | None = None
    schemata: list[str] | None = None
    enable_monitoring: bool | None = None


class NetDevice(_Base, kw_only=True):
    host_interface_name: str
    name: str


class ContainerEdits(_Base, kw_only=True):
    env: list[str] | None = None
    device_nodes: list[DeviceNode] | None = None
    hooks: list[Hook] | None = None
    mounts: list[Mount] | None = None
    intel_rdt: IntelRdt | None = None
    additional_gids: list[int] | None = None
    net_devices: list[NetDevice] | None = None

    def merged(self, other: ContainerEdits) -> ContainerEdits:
        """Return these edits followed by ``other``'s (the order the runtime applies them)."""

        def cat(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
            return None if a is None and b is None else [*(a or []), *(b or [])]

        return ContainerEdits(
            env=cat(self.env, other.env),
            device_nodes=cat(self.device_nodes, other.device_nodes),
            hooks=cat(self.hooks, other.hooks),
            mounts=cat(self.mounts, other.mounts),
            intel_rdt=other.intel_rdt or self.intel_rdt,
            additional_gids=cat(self.additional_gids, other.additional_gids),
            net_devices=cat(self.net_devices, other.net_devices),
        )


class Device(_Base, kw_only=True):
    name: str
    annotations: dict[str, str] | None = None
    container_edits: ContainerEdits = msgspec.field(default_factory=ContainerEdits)


class Spec(_Base, kw_only=True):
    cdi_version: str
    kind: str
    annotations: dict[str, str] | None = None
    devices: list[Device]
    container_edits: ContainerEdits | None = None

    @property
    def vendor(self) -> str:
        return self.kind.split("/", 1)[0]

    @property
    def class_(self) -> str:
        return self.kind.split("/", 1)[1] if "/" in self.kind else ""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def qualified_name(vendor: str, class_: str, name: str) -> str:
    """``vendor/class=name``, the fully qualified CDI device ID a runtime resolves."""
    return f"{vendor}/{class_}={name}"


def parse_qualified_name(device_id: str) -> tuple[str, str, str]:
    """Split ``vendor/class=name``; raise :class:`CDIError` saying which part is wrong."""
    kind, sep, name = device_id.partition("=")
    vendor, slash, class_ = kind.partition("/")
    if not sep or not slash:
        raise CDIError(f"invalid CDI device ID {device_id!r}: want vendor/class=name")
    validate_kind(kind)
    if not _DEVICE_NAME.match(name):
        raise CDIError(f"invalid CDI device ID {device_id!r}: bad device name {name!r}")
    return vendor, class_, name


def validate_kind(kind: str) -> None:
    vendor, _, class_ = kind.partition("/")
    if not _VENDOR_CLASS.match(vendor):
        raise CDIError(f"invalid CDI vendor {vendor!r} in kind {kind!r}")
    if not _VENDOR_CLASS.match(class_):
        raise CDIError(f"invalid CDI class {class_!r} in kind {kind!r}")


def _edits_version(edits: ContainerEdits | None) -> str:
    if edits is None:
        return "0.3.0"
    need = "0.3.0"

    def at_least(v: str) -> None:
        nonlocal need
        if _version_key(v) > _version_key(need):
            need = v

    if any(m.type for m in edits.mounts or []):
        at_least("0.4.0")
    if any(n.host_path for n in edits.device_nodes or []):
        at_least("0.5.0")
    if edits.intel_rdt is not None or edits.additional_gids:
        at_least("0.7.0")
    if edits.net_devices or (
        edits.intel_rdt is not None and (edits.intel_rdt.schemata or edits.intel_rdt.enable_monitoring)
    ):
        at_least("1.1.0")
    return need


def minimum_version(spec: Spec) -> str:
    """The lowest ``cdiVersion`` that can express ``spec`` (older runtimes then accept it)."""
    versions = ["0.3.0", _edits_version(spec.container_edits)]
    if spec.annotations or any(d.annotations for d in spec.devices) or "." in spec.class_:
        versions.append("0.6.0")
    for device in spec.devices:
        if device.name[:1].isdigit():
            versions.append("0.5.0")
        versions.append(_edits_version(device.container_edits))
    return max(versions, key=_version_key)


def _validate_edits(edits: ContainerEdits | None, where: str) -> None:
    if edits is None:
        return
    for i, env in enumerate(edits.env or []):
        if env.find("=") <= 0:
            raise CDIError(f"{where}.env[{i}]: invalid environment variable {env!r}, want KEY=VALUE")
    for i, node in enumerate(edits.device_nodes or []):
        if not node.path:
            raise CDIError(f"{where}.deviceNodes[{i}].path: must not be empty")
        if node.type not in (None, "", "b", "c", "u", "p"):
            raise CDIError(f"{where}.deviceNodes[{i}].type: invalid device type {node.type!r}")
        if node.permissions and set(node.permissions) - set("rwm"):
            raise CDIError(f"{where}.deviceNodes[{i}].permissions: invalid {node.permissions!r}")
    for i, hook in enumerate(edits.hooks or []):
        if hook.hook_name not in HOOK_NAMES:
            raise CDIError(f"{where}.hooks[{i}].hookName: invalid hook name {hook.hook_name!r}")
        if not os.path.isabs(hook.path):
            raise CDIError(f"{where}.hooks[{i}].path: must be absolute, got {hook.path!r}")
        if hook.timeout is not None and hook.timeout <= 0:
            raise CDIError(f"{where}.hooks[{i}].timeout: must be positive")
    for i, mount in enumerate(edits.mounts or []):
        if not mount.host_path or not mount.container_path:
            raise CDIError(f"{where}.mounts[{i}]: hostPath and containerPath are required")


def validate_spec(spec: Spec, source: str = "spec") -> None:
    """Check ``spec`` like the CDI reference parser; errors name ``source`` and the field."""
    if spec.cdi_version not in KNOWN_VERSIONS:
        raise CDIError(f"{source}: cdiVersion: unsupported version {spec.cdi_version!r}")
    need = minimum_version(spec)
    if _version_key(spec.cdi_version) < _version_key(need):
        raise CDIError(f"{source}: cdiVersion: {spec.cdi_version} is too low, the content needs {need}")
    try:
        validate_kind(spec.kind)
    except CDIError as e:
        raise CDIError(f"{source}: kind: {e}") from None
    if not spec.devices:
        raise CDIError(f"{source}: devices: at least one device is required")
    _validate_edits(spec.container_edits, f"{source}: containerEdits")
    seen: set[str] = set()
    for i, device in enumerate(spec.devices):
        if not _DEVICE_NAME.match(device.name):
            raise CDIError(f"{source}: devices[{i}].name: invalid device name {device.name!r}")
        if device.name in seen:
            raise CDIError(f"{source}: devices[{i}].name: duplicate device name {device.name!r}")
        seen.add(device.name)
        _validate_edits(device.container_edits, f"{source}: devices[{i}].containerEdits")


def transient_spec_name(vendor: str, class_: str, spec_id: str) -> str:
    """File stem for a spec generated at run time: ``<vendor>-<class>_<id>``."""
    return f"{vendor}-{class_}_{spec_id.replace('/', '_')}"


def new_spec(kind: str, devices: list[Device], edits: ContainerEdits | None = None) -> Spec:
    """A spec with ``cdiVersion`` set to the minimum its content needs."""
    spec = Spec(cdi_version="0.3.0", kind=kind, devices=devices, container_edits=edits)
    spec.cdi_version = minimum_version(spec)
    return spec


def encode_yaml(spec: Spec) -> bytes:
    data = msgspec.to_builtins(spec)
    return ("---\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)).encode()


def write_spec(directory: Path, spec: Spec, stem: str, *, durable: bool = True) -> Path:
    """Atomically write ``spec`` as ``<directory>/<stem>.yaml`` (temp file, rename).

    A runtime that lists the directory concurrently sees either no file or the
    whole file, never a half-written one it would reject. ``durable`` adds fsyncs
    of the file and directory; callers that can rebuild the spec from their own
    checkpoint (the SDK's per-claim specs) skip them, which halves Prepare latency.
    """
    validate_spec(spec, f"CDI spec {stem}")
    target = directory / f"{stem}.yaml"
    write_atomically(target, encode_yaml(spec), prefix="spec.", suffix=".tmp", durable=durable)
    return target


def remove_spec(directory: Path, stem: str, *, durable: bool = True) -> bool:
    """Delete ``<stem>.yaml``/``.json``; a missing file is fine (Unprepare is idempotent)."""
    removed = False
    for ext in (".yaml", ".json"):
        try:
            (directory / f"{stem}{ext}").unlink()
            removed = True
        except FileNotFoundError:
            pass
    if removed and durable:
        fsync_dir(directory)
    return removed


def read_spec(path: Path) -> Spec:
    """Parse and validate one spec file; errors name the file and field path."""
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw) if path.suffix == ".yaml" else msgspec.json.decode(raw)
    except (OSError, yaml.YAMLError, msgspec.DecodeError) as e:
        raise CDIError(f"{path}: cannot read CDI spec: {e}") from None
    try:
        spec = msgspec.convert(data, Spec)
    except msgspec.ValidationError as e:
        raise CDIError(f"{path}: {e}") from None
    validate_spec(spec, str(path))
    return spec


