"""Prepare/Unprepare bookkeeping around the driver: checkpoint, CDI specs, idempotency.

Order of writes on Prepare: checkpoint ``PrepareStarted`` → driver → CDI spec →
checkpoint ``PrepareCompleted`` → reply. A crash anywhere leaves a state the next
call resolves: a started claim is prepared again (the driver's side effects are
idempotent), a completed claim is answered from the checkpoint (same devices, same
CDI IDs) and its CDI spec is written again if it went missing. On Unprepare:
driver → CDI spec removed → checkpoint entry removed; a crash in between repeats it.
Every read-modify-write of the checkpoint reloads the file, so two driver processes
sharing the plugin directory (rolling update) see each other's work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from kubedra.node.plugin import cdi, failpoints
from kubedra.node.plugin.checkpoint import Checkpoint, CheckpointClaim, CheckpointDevice
from kubedra.node.plugin.claims import Claim, ClaimRef
from kubedra.node.plugin.driver import Driver, PrepareResult

log = logging.getLogger(__name__)


@dataclass
class ClaimOutcome:
    devices: list[CheckpointDevice]
    error: str | None = None
    device_status: list[dict[str, Any]] | None = None


class ClaimState:
    """Prepared claims of one driver on this node."""

    def __init__(
        self, driver: Driver, checkpoint: Checkpoint, cdi_dir: Path, cdi_vendor: str, cdi_class: str,
        driver_name: str = "",
    ):
        self.driver = driver
        self.driver_name = driver_name
        self.checkpoint = checkpoint
        self.cdi_dir = cdi_dir
        self.cdi_vendor = cdi_vendor
        self.cdi_class = cdi_class
        self._lock = threading.Lock()  # guards checkpoint read-modify-write

    @property
    def cdi_kind(self) -> str:
        return f"{self.cdi_vendor}/{self.cdi_class}"

    def spec_name(self, claim_uid: str) -> str:
        return cdi.transient_spec_name(self.cdi_vendor, self.cdi_class, claim_uid)

    # --- Prepare ---------------------------------------------------------------------------

    def prepare(self, claims: Sequence[Claim]) -> dict[str, ClaimOutcome]:
        out: dict[str, ClaimOutcome] = {}
        todo: list[Claim] = []
        with self._lock:
            data = self.checkpoint.load()
            for claim in claims:
                entry = data.claims.get(claim.uid)
                if entry is not None and entry.state == "PrepareCompleted":
                    self._ensure_spec(claim.uid, entry)
                    out[claim.uid] = ClaimOutcome(devices=entry.devices, device_status=entry.device_status)
                elif claim.uid not in {c.uid for c in todo}:
                    todo.append(claim)
                    data.claims[claim.uid] = CheckpointClaim(
                        namespace=claim.ref.namespace, name=claim.ref.name, state="PrepareStarted"
                    )
            if todo:
                self.checkpoint.store(data)
        if not todo:
            return out
        failpoints.hit("prepare-started")
        try:
            results = dict(self.driver.prepare(todo))
        except Exception as e:
            log.exception("driver prepare failed")
            for claim in todo:
                out[claim.uid] = ClaimOutcome(devices=[], error=f"prepare resource claims: {e}")
            return out
        failpoints.hit("prepare-driver-done")
        completed: dict[str, CheckpointClaim] = {}
        for claim in todo:
            result = results.get(claim.uid) or PrepareResult(
                error="the driver returned no result for this claim"
            )
            if result.error:
                out[claim.uid] = ClaimOutcome(devices=[], error=result.error)
                continue
            try:
                entry = self._complete(claim, result)
            except (cdi.CDIError, OSError) as e:
                out[claim.uid] = ClaimOutcome(
                    devices=[], error=f"unable to create CDI spec file for claim: {e}"
                )
                continue
            completed[claim.uid] = entry
            out[claim.uid] = ClaimOutcome(devices=entry.devices, device_status=entry.device_status)
        failpoints.hit("prepare-cdi-written")
        if completed:
            with self._lock:
                data = self.checkpoint.load()
                data.claims.update(completed)
                self.checkpoint.store(data)
        failpoints.hit("prepare-completed")
        return out

    def _complete(self, claim: Claim, result: PrepareResult) -> CheckpointClaim:
        """Write the claim's CDI spec and build its PrepareCompleted checkpoint entry."""
        spec_devices: list[cdi.Device] = []
        devices: list[CheckpointDevice] = []
        for d in result.devices:
            ids = list(d.cdi_device_ids)
            if d.edits is not None:
                name = f"{claim.uid}-{d.device}" + (f"-{d.share_id}" if d.share_id else "")
                spec_devices.append(cdi.Device(name=name, container_edits=d.edits))
                ids.append(cdi.qualified_name(self.cdi_vendor, self.cdi_class, name))
            devices.append(
                CheckpointDevice(
                    request_names=list(d.request_names),
                    pool_name=d.pool,
                    device_name=d.device,
                    cdi_device_ids=ids,
                    share_id=d.share_id,
                )
            )
        entry = CheckpointClaim(
            namespace=claim.ref.namespace, name=claim.ref.name, state="PrepareCompleted", devices=devices,
            device_status=[s.to_json(self.driver_name) for s in result.device_status] or None,
        )
        if spec_devices:
            spec = cdi.new_spec(self.cdi_kind, spec_devices)
            stem = self.spec_name(claim.uid)
            cdi.write_spec(self.cdi_dir, spec, stem, durable=False)
            entry.cdi_spec_name = stem
            entry.cdi_spec = msgspec.to_builtins(spec)
        return entry

    def _ensure_spec(self, uid: str, entry: CheckpointClaim) -> bool:
        """Write the claim's CDI spec again if it is gone (``/var/run/cdi`` is tmpfs)."""
        if not entry.cdi_spec_name or entry.cdi_spec is None:
            return False
        if any((self.cdi_dir / f"{entry.cdi_spec_name}{ext}").exists() for ext in (".yaml", ".json")):
            return False
        spec = msgspec.convert(entry.cdi_spec, cdi.Spec)
        cdi.write_spec(self.cdi_dir, spec, entry.cdi_spec_name, durable=False)
        log.warning("re-created missing CDI spec %s for prepared claim %s", entry.cdi_spec_name, uid)
        return True

    # --- Unprepare -------------------------------------------------------------------------

    def unprepare(self, refs: Sequence[ClaimRef]) -> dict[str, str | None]:
        out: dict[str, str | None] = {r.uid: None for r in refs}
        with self._lock:
            data = self.checkpoint.load()
        known = [r for r in dict.fromkeys(refs) if r.uid in data.claims]
        for r in refs:
            if r.uid not in data.claims:
                # Nothing recorded (e.g. the checkpoint was lost): still remove a spec
                # a crashed earlier run may have written, so nothing leaks.
                cdi.remove_spec(self.cdi_dir, self.spec_name(r.uid))
        if not known:
            return out
        try:
            errors = dict(self.driver.unprepare(known))
        except Exception as e:
            log.exception("driver unprepare failed")
            for r in known:
                out[r.uid] = f"unprepare resource claims: {e}"
            return out
        failpoints.hit("unprepare-driver-done")
        done: list[str] = []
        for r in known:
            if errors.get(r.uid):
                out[r.uid] = errors[r.uid]
                continue
            cdi.remove_spec(self.cdi_dir, data.claims[r.uid].cdi_spec_name or self.spec_name(r.uid))
            done.append(r.uid)
        failpoints.hit("unprepare-cdi-removed")
        if done:
            with self._lock:
                data = self.checkpoint.load()
                for uid in done:
                    data.claims.pop(uid, None)
                self.checkpoint.store(data)
        return out

    # --- start -----------------------------------------------------------------------------

    def reconcile(self) -> tuple[list[str], dict[str, str]]:
        """Re-create CDI specs of prepared claims that are missing; return (recreated UIDs, errors)."""
        recreated: list[str] = []
        errors: dict[str, str] = {}
        with self._lock:
            data = self.checkpoint.load()
        for uid, entry in data.claims.items():
            if entry.state != "PrepareCompleted":
                continue
            try:
                if self._ensure_spec(uid, entry):
                    recreated.append(uid)
            except (cdi.CDIError, OSError, msgspec.ValidationError) as e:
                errors[uid] = f"claim {entry.namespace}/{entry.name} ({uid}): cannot re-create CDI spec: {e}"
                log.error("%s", errors[uid])
        return recreated, errors
