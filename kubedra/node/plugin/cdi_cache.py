"""Resolve CDI device IDs to container edits, the way a CDI-enabled runtime does.

kubedra has no container runtime, so the kubelet does the runtime's part: read every
``*.json``/``*.yaml`` spec in the CDI directories (later directories win; the same
device twice in one directory is a conflict and is dropped) and turn the IDs that
NodePrepareResources returned into environment, mounts and device nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from kubedra.node.plugin.cdi import CDIError, ContainerEdits, Spec, parse_qualified_name, read_spec

log = logging.getLogger(__name__)

DEFAULT_SPEC_DIRS = (Path("/etc/cdi"), Path("/var/run/cdi"))


class CDICache:
    """A snapshot of the specs in ``spec_dirs``; call :meth:`refresh` to re-read them."""

    def __init__(self, spec_dirs: Sequence[Path] = DEFAULT_SPEC_DIRS) -> None:
        self.spec_dirs = list(spec_dirs)
        self.errors: dict[Path, str] = {}
        self._devices: dict[str, tuple[Spec, int]] = {}
        self.refresh()

    def refresh(self) -> None:
        devices: dict[str, tuple[Spec, int]] = {}
        errors: dict[Path, str] = {}
        for directory in self.spec_dirs:
            in_this_dir: dict[str, tuple[Spec, int]] = {}
            conflicts: set[str] = set()
            for path in sorted(_spec_files(directory)):
                try:
                    spec = read_spec(path)
                except CDIError as e:
                    errors[path] = str(e)
                    log.warning("ignoring CDI spec: %s", e)
                    continue
                for index, device in enumerate(spec.devices):
                    key = f"{spec.kind}={device.name}"
                    if key in in_this_dir:
                        conflicts.add(key)
                    in_this_dir[key] = (spec, index)
            for key in conflicts:
                del in_this_dir[key]
                log.warning("CDI device %s is defined twice in %s; dropped", key, directory)
            devices.update(in_this_dir)  # a later directory has higher priority
        self._devices = devices
        self.errors = errors

    def device_ids(self) -> list[str]:
        return sorted(self._devices)

    def resolve(self, device_ids: Iterable[str]) -> ContainerEdits:
        """Merged edits for ``device_ids`` (spec-level edits once per spec, then per device).

        Raises :class:`CDIError` listing every unresolvable ID, as a runtime's
        CreateContainer fails on unknown CDI names.
        """
        ids = list(dict.fromkeys(device_ids))
        missing = []
        for device_id in ids:
            parse_qualified_name(device_id)
            if device_id not in self._devices:
                missing.append(device_id)
        if missing:
            raise CDIError(f"unresolvable CDI devices {', '.join(missing)}")
        edits = ContainerEdits()
        seen_specs: set[int] = set()
        for device_id in ids:
            spec, _ = self._devices[device_id]
            if id(spec) not in seen_specs and spec.container_edits is not None:
                seen_specs.add(id(spec))
                edits = edits.merged(spec.container_edits)
        for device_id in ids:
            spec, index = self._devices[device_id]
            edits = edits.merged(spec.devices[index].container_edits)
        return edits


def _spec_files(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.suffix in (".json", ".yaml") and p.is_file()]
    except FileNotFoundError:
        return []


def environment(edits: ContainerEdits) -> dict[str, str]:
    """The ``env`` entries of ``edits`` as a mapping (a later entry overrides an earlier one)."""
    result: dict[str, str] = {}
    for entry in edits.env or []:
        key, _, value = entry.partition("=")
        result[key] = value
    return result
