"""The kubelet's DRA checkpoint (``<root>/dra_manager_state``): which claims are prepared, for which pods.

Unprepare must happen exactly once per claim, after the last pod using it is gone,
even if the kubelet restarted in between: so the claim cache outlives the process.
The file is versioned JSON with a SHA-256 checksum, written atomically (temp file,
fsync, rename, fsync of the directory). A damaged file is an error, never treated as
empty: that would silently leak every prepared claim.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from kubedra.node.plugin.atomicfile import write_atomically

API_VERSION = "kubelet.kubedra.io/v1"
KIND = "DRAManagerState"
FILE_NAME = "dra_manager_state"


class CheckpointError(RuntimeError):
    """The checkpoint cannot be trusted; the message names the file and the reason."""


class _Base(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class PreparedDevice(_Base):
    """One device a driver returned for a claim (the CDI IDs are what containers get)."""

    request_names: list[str] = []
    pool_name: str = ""
    device_name: str = ""
    cdi_device_ids: list[str] = []
    share_id: str | None = None


class ClaimState(_Base):
    """A claim known to this kubelet: its identity, drivers, devices and the pods using it."""

    namespace: str
    name: str
    uid: str
    drivers: list[str] = []
    devices: dict[str, list[PreparedDevice]] = {}  # driver -> devices
    pod_uids: list[str] = []
    # Not persisted as true: after a restart every claim is prepared again, and a
    # driver must answer the same (node.md §5 "Kubelet restart").
    prepared: bool = False


class _File(_Base):
    api_version: str
    kind: str
    checksum: str
    claims: list[ClaimState]


def _digest(claims: list[ClaimState]) -> str:
    return hashlib.sha256(msgspec.json.encode(claims)).hexdigest()


def load(root: Path) -> list[ClaimState]:
    """The claims recorded under ``root``; an absent file is an empty state."""
    path = root / FILE_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        content = msgspec.json.decode(data, type=_File)
    except msgspec.DecodeError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    if content.api_version != API_VERSION or content.kind != KIND:
        raise CheckpointError(f"{path}: unsupported {content.api_version}/{content.kind}")
    if _digest(content.claims) != content.checksum:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupt")
    for claim in content.claims:
        claim.prepared = False
    return content.claims


def store(root: Path, claims: list[ClaimState]) -> None:
    """Write ``claims`` atomically; ``prepared`` is not kept (see ClaimState)."""
    saved = [msgspec.structs.replace(c, prepared=False) for c in claims]
    payload = msgspec.json.encode(
        _File(api_version=API_VERSION, kind=KIND, checksum=_digest(saved), claims=saved)
    )
    write_atomically(root / FILE_NAME, payload, prefix=f".{FILE_NAME}.")
