"""One worker per pod bound to this node: prepare claims, run containers, report status, tear down.

The life of a pod here, as in the kubelet's SyncPod / SyncTerminatingPod:
1. prepare its ResourceClaims (retried with back-off; each new failure is a
   ``FailedPrepareDynamicResources`` event);
2. run init containers one after the other to completion, then start all containers;
3. restart exited containers per ``restartPolicy`` (Always / OnFailure / Never); when
   nothing is left to run the pod is Succeeded or Failed and its claims are unprepared;
4. on deletion (``deletionTimestamp`` or the object gone): stop the containers, unprepare
   the claims (only the last pod of a claim calls the driver), then delete the pod with
   grace period 0 so it disappears from the API.
Status is written with a JSON merge patch on ``pods/status`` whenever it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube import ApiError, AsyncClient
from lightkube.types import PatchType

from kubedra.node.kubelet.apiclient import Pod, PodStatus, is_not_found, meta, now
from kubedra.node.kubelet.containers import ContainerConfigError, ContainerPlan, NodePaths, plan_container
from kubedra.node.kubelet.dra_manager import DRAManager, PrepareError
from kubedra.node.kubelet.events import EventRecorder
from kubedra.node.kubelet.probes import ContainerProbes, ProbeConfigError, ProbeSpec, parse_probe
from kubedra.node.kubelet.resource_health import HealthManager
from kubedra.node.kubelet.runtime import Container, LocalRuntime, rfc3339
from kubedra.node.plugin.cdi import CDIError
from kubedra.node.plugin.cdi_cache import CDICache, environment

log = logging.getLogger(__name__)

RESTART_BACKOFF_BASE = 2.0
RESTART_BACKOFF_MAX = 60.0
PREPARE_BACKOFF_MAX = 10.0
DEFAULT_GRACE = 30


@dataclass
class NodeServices:
    """What a pod worker needs from its kubelet."""

    client: AsyncClient
    node_name: str
    host_ip: str
    dra: DRAManager
    runtime: LocalRuntime
    paths: NodePaths
    cdi_dirs: list[Path]
    events: EventRecorder
    health: HealthManager | None = None  # set when the ResourceHealthStatus gate is on


class PodWorker:
    def __init__(self, node: NodeServices, pod: dict[str, Any]) -> None:
        self.node = node
        self.pod = pod
        pod_meta = meta(pod)
        self.uid: str = pod_meta.get("uid", "")
        self.namespace: str = pod_meta.get("namespace") or "default"
        self.name: str = pod_meta.get("name", "")
        self.deleted = False  # the object is gone from the API
        self.pod_dir = node.runtime.pod_dir(self.namespace, self.name, self.uid)
        self.containers: dict[str, Container] = {}
        self.init_containers: dict[str, Container] = {}
        self.restart_counts: dict[str, int] = {}
        self.last_state: dict[str, Container] = {}
        self.waiting: dict[str, tuple[str, str]] = {}
        self.restart_at: dict[str, float] = {}
        self.probes: dict[str, ContainerProbes] = {}  # regular containers with probes
        # A pod that already finished (seen again after a kubelet restart) is never run again.
        known = (pod.get("status") or {})
        self.phase = known.get("phase") if known.get("phase") in ("Succeeded", "Failed") else "Pending"
        self.start_time: str | None = known.get("startTime")
        self.initialized = False
        self.transitions: dict[str, tuple[str, str]] = {}
        self._last_status: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self.finished = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # ---- inputs --------------------------------------------------------------------------------

    def update(self, pod: dict[str, Any] | None) -> None:
        """A newer version of the pod (None: it was deleted from the API)."""
        if pod is None:
            self.deleted = True
        else:
            self.pod = pod
        self._wake.set()

    def terminating(self) -> bool:
        return self.deleted or bool(meta(self.pod).get("deletionTimestamp"))

    async def _wait(self, timeout: float | None = None, *others: asyncio.Event) -> None:
        """Sleep until woken (pod update, ``others``) or ``timeout``."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._wake, *others)]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    # ---- main loop -----------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"pod {self.namespace}/{self.name}")

    async def run(self) -> None:
        try:
            if self.phase in ("Succeeded", "Failed"):
                await self._release_claims()
            elif not self.terminating():
                await self._run_pod()
            while not self.terminating():
                await self._wait()
            await self._terminate()
        except asyncio.CancelledError:
            await self.stop_containers(grace=5)
            raise
        except Exception:
            log.exception("pod worker %s/%s crashed", self.namespace, self.name)
            await self.stop_containers(grace=5)
        finally:
            self.finished.set()

    async def _run_pod(self) -> None:
        self.start_time = self.start_time or now()
        await self.publish()
        if not await self._prepare():
            return
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        for index, container in enumerate(spec.get("initContainers") or []):
            if not await self._run_init(container, index, policy):
                return
        self.initialized = True
        for index, container in enumerate(spec.get("containers") or []):
            await self._start(container, f"spec.containers[{index}]", self.containers)
        self._set_phase()
        await self.publish()
        await self._supervise(policy)

    async def _prepare(self) -> bool:
        delay = 1.0
        while not self.terminating():
            try:
                await self.node.dra.prepare_resources(self.pod)
                return True
            except PrepareError as exc:
                await self.node.events.record(self.pod, "Warning", "FailedPrepareDynamicResources",
                                              f"Failed to prepare dynamic resources: {exc}")
            await self._wait(delay)
            delay = min(delay * 2, PREPARE_BACKOFF_MAX)
        return False

    async def _run_init(self, container: dict[str, Any], index: int, policy: str) -> bool:
        name = container.get("name", "")
        while not self.terminating():
            started = await self._start(container, f"spec.initContainers[{index}]", self.init_containers)
            await self.publish()
            if started is None:
                await self._wait(RESTART_BACKOFF_BASE)
                continue
            while not started.done.is_set() and not self.terminating():
                await self._wait(None, started.done)
            if self.terminating():
                return False
            if started.exit_code == 0:
                return True
            if policy == "Never":
                self.phase = "Failed"
                await self.publish()
                await self._release_claims()
                return False
            delay = self._backoff(name)
            self.waiting[name] = ("CrashLoopBackOff", f"back-off {delay:.0f}s restarting failed container={name} "
                                  f"pod={self.name}_{self.namespace}({self.uid})")
            await self.publish()
            await self._wait(delay)
        return False

    def _backoff(self, name: str) -> float:
        count = self.restart_counts.get(name, 0)
        return min(RESTART_BACKOFF_BASE * (2 ** count), RESTART_BACKOFF_MAX)

    async def _start(self, container: dict[str, Any], where: str,
                     into: dict[str, Container]) -> Container | None:
        name = container.get("name", "")
        try:
            plan = self._plan(container, where)
        except (ContainerConfigError, CDIError) as exc:
            self.waiting[name] = ("CreateContainerConfigError", str(exc))
            await self.node.events.record(self.pod, "Warning", "Failed", f"Error: {exc}")
            return None
        previous = into.get(name)
        if previous is not None:
            self.last_state[name] = previous
            self.restart_counts[name] = self.restart_counts.get(name, 0) + 1
        old_probes = self.probes.pop(name, None)
        if old_probes is not None:
            await old_probes.stop()
        started = await self.node.runtime.start(self.pod_dir, name, self.restart_counts.get(name, 0), plan)
        into[name] = started
        self.waiting.pop(name, None)
        if into is self.containers:
            await self._start_probes(container, where, plan, started)
        if not plan.executed or plan.note:
            await self.node.events.record(self.pod, "Warning" if not plan.executed else "Normal",
                                          "ContainerNotExecuted" if not plan.executed else "Substituted", plan.note)
        await self.node.events.record(self.pod, "Normal", "Started", f"Started container {name}")
        return started

    async def _start_probes(self, spec: dict[str, Any], where: str, plan: ContainerPlan,
                            started: Container) -> None:
        specs: list[ProbeSpec] = []
        for kind in ("Startup", "Liveness", "Readiness"):
            field = f"{kind[0].lower()}{kind[1:]}Probe"
            if spec.get(field) is None:
                continue
            try:
                specs.append(parse_probe(kind, spec[field], f"{where}.{field}"))
            except ProbeConfigError as exc:
                await self.node.events.record(self.pod, "Warning", "Unhealthy", f"{kind} probe not run: {exc}")
        if not specs or not started.running:
            return

        async def record(event_type: str, reason: str, message: str) -> None:
            await self.node.events.record(self.pod, event_type, reason, message)

        async def kill() -> None:
            probe_grace = next((s.spec_grace for s in specs if s.spec_grace is not None), None)
            await self.node.runtime.stop(started, self._grace() if probe_grace is None else probe_grace)

        probes = ContainerProbes(specs, spec, where, self.node.host_ip, plan.port_map, plan.env, record,
                                 self._wake.set, kill)
        self.probes[spec.get("name", "")] = probes
        probes.start()

    def _plan(self, container: dict[str, Any], where: str) -> ContainerPlan:
        ids = self.node.dra.cdi_device_ids(self.pod, container)
        cdi_env: dict[str, str] = {}
        if ids:
            cache = CDICache(self.node.cdi_dirs)
            cdi_env = environment(cache.resolve(ids))
        return plan_container(self.pod, container, where, self.node.paths, cdi_env)

    async def _supervise(self, policy: str) -> None:
        spec_containers = {c.get("name", ""): (i, c) for i, c in
                           enumerate((self.pod.get("spec") or {}).get("containers") or [])}
        while not self.terminating():
            now_ = time.monotonic()
            for name, (index, spec) in spec_containers.items():
                current = self.containers.get(name)
                due = self.restart_at.get(name)
                if due is not None and due <= now_:
                    del self.restart_at[name]
                    await self._start(spec, f"spec.containers[{index}]", self.containers)
                    continue
                if current is None or not current.done.is_set() or name in self.restart_at:
                    if current is None and due is None:  # a config error: retry later
                        self.restart_at[name] = now_ + self._backoff(name)
                    continue
                if policy == "Always" or (policy == "OnFailure" and current.exit_code != 0):
                    delay = self._backoff(name)
                    self.restart_at[name] = now_ + delay
                    self.waiting[name] = ("CrashLoopBackOff", f"back-off {delay:.0f}s restarting failed "
                                          f"container={name} pod={self.name}_{self.namespace}({self.uid})")
            if not self.restart_at and all(c.done.is_set() for c in self.containers.values()) \
                    and len(self.containers) == len(spec_containers):
                failed = any(c.exit_code != 0 for c in self.containers.values())
                self.phase = "Failed" if failed else "Succeeded"
                await self.publish()
                await self._release_claims()
                return
            self._set_phase()
            await self.publish()
            timeout = max(0.0, min(self.restart_at.values()) - time.monotonic()) if self.restart_at else None
            pending = [c.done for c in self.containers.values() if not c.done.is_set()]
            await self._wait(timeout, *pending)

    def _set_phase(self) -> None:
        if self.phase in ("Succeeded", "Failed"):
            return
        if self.containers and any(c.running for c in self.containers.values()):
            self.phase = "Running"

    async def _release_claims(self) -> None:
        """A finished pod no longer needs its devices (retried until the driver agrees)."""
        delay = 1.0
        while True:
            try:
                await self.node.dra.unprepare_resources(self.uid)
                return
            except PrepareError as exc:
                await self.node.events.record(self.pod, "Warning", "FailedUnprepareDynamicResources",
                                              f"Failed to unprepare dynamic resources: {exc}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, PREPARE_BACKOFF_MAX)

    # ---- teardown ------------------------------------------------------------------------------

    def _grace(self) -> float:
        pod_meta = meta(self.pod)
        value = pod_meta.get("deletionGracePeriodSeconds")
        if value is None:
            value = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(DEFAULT_GRACE if value is None else value)

    async def stop_containers(self, grace: float) -> None:
        for probes in self.probes.values():
            await probes.stop()
        self.probes.clear()
        everything = [*self.containers.values(), *self.init_containers.values()]
        await asyncio.gather(*(self.node.runtime.stop(c, grace) for c in everything))

    async def _terminate(self) -> None:
        await self.stop_containers(self._grace())
        await self._release_claims()
        if not self.deleted:
            try:
                await self.node.client.delete(Pod, self.name, namespace=self.namespace, grace_period=0)
            except ApiError as exc:
                if not is_not_found(exc):
                    log.warning("deleting pod %s/%s failed: %s", self.namespace, self.name, exc)
        self.node.events.forget(self.uid)
        shutil.rmtree(self.pod_dir, ignore_errors=True)

    # ---- status --------------------------------------------------------------------------------

    def _condition(self, kind: str, ok: bool, reason: str | None = None) -> dict[str, Any]:
        status = "True" if ok else "False"
        previous = self.transitions.get(kind)
        if previous is None or previous[0] != status:
            self.transitions[kind] = (status, now())
        condition: dict[str, Any] = {"type": kind, "status": status, "lastProbeTime": None,
                                     "lastTransitionTime": self.transitions[kind][1]}
        if reason and not ok:
            condition["reason"] = reason
        return condition

    def _container_status(self, spec: dict[str, Any], current: Container | None, init: bool) -> dict[str, Any]:
        name = spec.get("name", "")
        status: dict[str, Any] = {"name": name, "image": spec.get("image", ""), "imageID": "",
                                  "restartCount": self.restart_counts.get(name, 0)}
        waiting = self.waiting.get(name)
        if current is not None and current.running and waiting is None:
            status["state"] = {"running": {"startedAt": rfc3339(current.started_at)}}
            status["containerID"] = current.container_id
            probes = None if init else self.probes.get(name)
            status["ready"] = not init and (probes is None or (probes.started and probes.ready))
            status["started"] = probes is None or probes.started
        elif current is not None and current.exit_code is not None and waiting is None:
            status["state"] = {"terminated": _terminated(current)}
            status["containerID"] = current.container_id
            status["ready"] = init and current.exit_code == 0
            status["started"] = False
        else:
            reason, message = waiting or (("PodInitializing" if not init and not self.initialized
                                           else "ContainerCreating"), "")
            status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
            status["ready"] = False
            status["started"] = False
        if self.node.health is not None:
            resources = self._allocated_resources_status(spec)
            if resources:
                status["allocatedResourcesStatus"] = resources
        last = self.last_state.get(name) if waiting is None else (current or self.last_state.get(name))
        status["lastState"] = {"terminated": _terminated(last)} if last is not None and last.exit_code is not None \
            else {}
        return status

    def _allocated_resources_status(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Health of the devices behind each of the container's claims (gate ResourceHealthStatus)."""
        health = self.node.health
        assert health is not None
        out = []
        for name, devices in self.node.dra.container_devices(self.pod, spec):
            resources = []
            for driver, device in devices:
                resource_id = device.cdi_device_ids[0] if device.cdi_device_ids else \
                    f"{driver}/{device.pool_name}/{device.device_name}"
                entry: dict[str, Any] = {"resourceID": resource_id,
                                         "health": health.health(driver, device.pool_name, device.device_name)}
                message = health.message(driver, device.pool_name, device.device_name)
                if message:
                    entry["message"] = message
                resources.append(entry)
            out.append({"name": name, "resources": resources})
        return out

    def status(self) -> dict[str, Any]:
        spec = self.pod.get("spec") or {}
        containers = [self._container_status(c, self.containers.get(c.get("name", "")), False)
                      for c in spec.get("containers") or []]
        init = [self._container_status(c, self.init_containers.get(c.get("name", "")), True)
                for c in spec.get("initContainers") or []]
        all_ready = bool(containers) and all(c["ready"] for c in containers)
        terminal = self.phase in ("Succeeded", "Failed")
        ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
        conditions = [
            self._condition("PodReadyToStartContainers", self.start_time is not None and not terminal),
            self._condition("Initialized", self.initialized or terminal,
                            None if self.initialized else "ContainersNotInitialized"),
            self._condition("Ready", all_ready and not terminal, ready_reason),
            self._condition("ContainersReady", all_ready and not terminal, ready_reason),
        ]
        scheduled = [c for c in (self.pod.get("status") or {}).get("conditions") or []
                     if c.get("type") == "PodScheduled"]
        ip = self.node.host_ip
        status: dict[str, Any] = {
            "phase": self.phase,
            "conditions": conditions + scheduled,
            "hostIP": ip, "hostIPs": [{"ip": ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": self.start_time,
            "containerStatuses": containers,
            "qosClass": "BestEffort",
        }
        if init:
            status["initContainerStatuses"] = init
        return status

    async def publish(self) -> None:
        if self.deleted:
            return
        status = self.status()
        if status == self._last_status:
            return
        try:
            await self.node.client.patch(PodStatus, self.name, {"status": status}, namespace=self.namespace,
                                         patch_type=PatchType.MERGE)
            self._last_status = status
        except ApiError as exc:
            if is_not_found(exc):
                self.update(None)
            else:
                log.warning("status update of pod %s/%s failed: %s", self.namespace, self.name, exc)
        except Exception as exc:  # transport errors: the next change retries
            log.warning("status update of pod %s/%s failed: %s", self.namespace, self.name, exc)

    def container(self, name: str | None) -> Container | None:
        """The named container (default: the first), for logs and exec."""
        spec = self.pod.get("spec") or {}
        if name is None:
            first = (spec.get("containers") or [{}])[0].get("name")
            return self.containers.get(first or "")
        return self.containers.get(name) or self.init_containers.get(name)

    def log_file(self, name: str, previous: bool) -> Path | None:
        current = self.container(name)
        if current is None:
            return None
        if previous:
            last = self.last_state.get(name)
            return last.log_path if last is not None else None
        return current.log_path

    def forget_logs(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.pod_dir)


def _terminated(container: Container) -> dict[str, Any]:
    code = container.exit_code or 0
    state: dict[str, Any] = {
        "exitCode": code,
        "reason": "Completed" if code == 0 else "Error",
        "startedAt": rfc3339(container.started_at),
        "finishedAt": rfc3339(container.finished_at or container.started_at),
        "containerID": container.container_id,
    }
    if code >= 128 + 1 and code - 128 in (9, 15):
        state["signal"] = code - 128
    return state
