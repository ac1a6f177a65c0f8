"""Crash-safe, versioned record of the claims a driver has prepared on this node.

The kubelet may call Prepare again after a restart and Unprepare from a different
driver process (restart, rolling update), so what Unprepare and reconciliation need
must outlive the process. Each claim goes through two states: ``PrepareStarted``
is written BEFORE the driver touches anything, ``PrepareCompleted`` (with the
devices and the CDI spec that were handed out) after, so a crash in between is
visible at the next call. Writes are atomic (temp file, fsync, rename, fsync of the
directory) and the content carries a SHA-256 checksum; a damaged file is an error,
never silently treated as empty (that would leak every prepared claim).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import msgspec

from kubedra.node.plugin.atomicfile import write_atomically

API_VERSION = "plugin.kubedra.io/v1"
KIND = "DriverCheckpoint"

State = Literal["PrepareStarted", "PrepareCompleted"]


class CheckpointError(RuntimeError):
    """The checkpoint file cannot be trusted; the message names the file and the reason."""


class _Base(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class CheckpointDevice(_Base, kw_only=True):
    """One device as answered to the kubelet (so a repeated Prepare gives the same answer)."""

    request_names: list[str]
    pool_name: str
    device_name: str
    cdi_device_ids: list[str] = []
    share_id: str | None = None


class CheckpointClaim(_Base, kw_only=True):
    namespace: str
    name: str
    state: State
    devices: list[CheckpointDevice] = []
    # The claim's CDI spec as written: file stem and content, so a spec lost on
    # reboot (/var/run/cdi is tmpfs) can be written again at start.
    cdi_spec_name: str | None = None
    cdi_spec: dict[str, Any] | None = None
    # status.devices entries the driver asked for (written to the claim on every Prepare answer).
    device_status: list[dict[str, Any]] | None = None


class CheckpointData(_Base, kw_only=True):
    claims: dict[str, CheckpointClaim] = {}


class _File(_Base, kw_only=True):
    api_version: str
    kind: str
    checksum: str
    data: msgspec.Raw


def _digest(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()


class Checkpoint:
    """The checkpoint file ``path`` (usually ``<plugin dir>/checkpoint.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> CheckpointData:
        """Read the file; a missing file is an empty checkpoint, a damaged one an error."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return CheckpointData()
        try:
            envelope = msgspec.json.decode(raw, type=_File)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise CheckpointError(f"checkpoint {self.path}: {e}") from None
        if envelope.api_version != API_VERSION or envelope.kind != KIND:
            raise CheckpointError(
                f"checkpoint {self.path}: apiVersion/kind {envelope.api_version}/{envelope.kind} "
                f"is not supported (want {API_VERSION}/{KIND})"
            )
        payload = bytes(envelope.data)
        if _digest(payload) != envelope.checksum:
            raise CheckpointError(f"checkpoint {self.path}: checksum mismatch, the file is corrupt")
        try:
            return msgspec.json.decode(payload, type=CheckpointData)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise CheckpointError(f"checkpoint {self.path}: data: {e}") from None

    def store(self, data: CheckpointData) -> None:
        """Atomically replace the file with ``data``."""
        payload = msgspec.json.encode(data)
        envelope = _File(
            api_version=API_VERSION, kind=KIND, checksum=_digest(payload), data=msgspec.Raw(payload)
        )
        write_atomically(self.path, msgspec.json.encode(envelope), prefix=".tmp-checkpoint-")
