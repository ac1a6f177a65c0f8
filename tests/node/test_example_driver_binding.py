"""gpu.example.com with ``--binding-conditions`` and its controller (``--plugins=BindingConditions``).

The controller runs against the real embedded API server over HTTPS (lightkube); the end-to-end test
adds the real driver process and kubedra's scheduler: the pod binds only once the controller has
set the device's binding condition.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedra.controlplane.client import HTTPClient
from kubedra.controlplane.manager import Manager
from kubedra.drivers.example import flags
from kubedra.drivers.example.controller import BindingConditionsController, satisfy
from kubedra.drivers.example.devices import BINDING_CONDITION, BINDING_FAILURE_CONDITION, build_pool
from kubedra.node.plugin.kubeapi import async_client

DRIVER = "gpu.example.com"
NOW = "2026-01-01T00:00:00Z"


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.mark.parametrize("partitions", [0, 2])
def test_every_device_gets_one_binding_and_one_failure_condition(partitions: int) -> None:
    pool = build_pool("n1", 2, partitions, binding_conditions=True)
    assert pool.devices
    for device in pool.devices:
        assert device.binding_conditions == [BINDING_CONDITION] == ["BindingConditions"]
        assert device.binding_failure_conditions == [BINDING_FAILURE_CONDITION] == ["BindingFailureConditions"]
        assert device.binds_to_node is None
    plain = build_pool("n1", 2, partitions)
    assert all(d.binding_conditions is None and d.binding_failure_conditions is None for d in plain.devices)


def test_flag_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*argv: str) -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        flags.add_arguments(parser)
        return parser.parse_args(list(argv))

    monkeypatch.delenv("BINDING_CONDITIONS", raising=False)
    assert parse().binding_conditions is False
    assert parse("--binding-conditions").binding_conditions is True
    monkeypatch.setenv("BINDING_CONDITIONS", "true")
    assert parse().binding_conditions is True
    assert parse("--no-binding-conditions").binding_conditions is False


def _claim(results: list[dict[str, Any]], devices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"allocation": {"devices": {"results": results}}}
    if devices is not None:
        status["devices"] = devices
    return {"metadata": {"name": "c", "namespace": "default"}, "status": status}


def _result(device: str, driver: str = DRIVER, conditions: bool = True) -> dict[str, Any]:
    r: dict[str, Any] = {"request": "gpu", "driver": driver, "pool": "n1", "device": device}
    if conditions:
        r |= {"bindingConditions": [BINDING_CONDITION], "bindingFailureConditions": [BINDING_FAILURE_CONDITION]}
    return r


def test_satisfy_sets_only_its_own_unmet_conditions_and_keeps_other_status() -> None:
    claim = _claim(
        [_result("gpu-0"), _result("gpu-1", conditions=False), _result("x", driver="other.example.com")],
        [{"driver": DRIVER, "pool": "n1", "device": "gpu-0", "data": {"keep": True},
          "conditions": [{"type": BINDING_CONDITION, "status": "False", "reason": "Waiting", "message": "",
                          "lastTransitionTime": "2025-01-01T00:00:00Z"}]}],
    )
    assert satisfy(claim, DRIVER, NOW)
    assert claim["status"]["devices"] == [
        {"driver": DRIVER, "pool": "n1", "device": "gpu-0", "data": {"keep": True},
         "conditions": [{"type": BINDING_CONDITION, "status": "True", "reason": "Ready",
                         "message": "Device is ready", "lastTransitionTime": NOW}]},
    ]
    assert not satisfy(claim, DRIVER, NOW), "a second pass has nothing to do"
    assert not satisfy({"metadata": {}, "status": {}}, DRIVER, NOW)
    other = _claim([_result("x", driver="other.example.com")])
    assert not satisfy(other, DRIVER, NOW) and "devices" not in other["status"]


def test_controller_writes_conditions_through_the_api(apiserver: Any) -> None:
    api = HTTPClient.from_kubeconfig(apiserver.kubeconfig)
    api.create("resourceclaims", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "c", "namespace": "default"},
        "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRIVER}}]}},
    }, namespace="default")

    async def scenario() -> None:
        client = async_client(apiserver.kubeconfig)
        controller = BindingConditionsController(client, DRIVER)
        ready = asyncio.Event()
        task = asyncio.create_task(controller.run(ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            assert controller.updated == 0  # not allocated yet
            claim = await asyncio.to_thread(api.get, "resourceclaims", "c", namespace="default")
            claim["status"] = {"allocation": {"devices": {"results": [_result("gpu-3")]}}}
            await asyncio.to_thread(api.update, "resourceclaims", claim, subresource="status")
            for _ in range(200):
                if controller.updated:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()

    asyncio.run(scenario())
    status = api.get("resourceclaims", "c", namespace="default")["status"]
    (entry,) = status["devices"]
    assert (entry["driver"], entry["pool"], entry["device"]) == (DRIVER, "n1", "gpu-3")
    (cond,) = entry["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        BINDING_CONDITION, "True", "Ready", "Device is ready")


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kdb-", dir="/tmp"))  # short: unix socket paths
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _spawn(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", *args], env=dict(os.environ, **env),
                                stdout=subprocess.DEVNULL, stderr=out)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_pod_binds_once_the_controller_satisfies_the_condition(apiserver: Any, root: Path) -> None:
    api = HTTPClient.from_kubeconfig(apiserver.kubeconfig)
    api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                         "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    api.create("deviceclasses", {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
                                 "metadata": {"name": DRIVER},
                                 "spec": {"selectors": [{"cel": {"expression": f"device.driver == '{DRIVER}'"}}]}})
    driver = _spawn(["kubedra.drivers.example", "--kubelet-root", str(root / "kubelet"), "--kubeconfig",
                     str(apiserver.kubeconfig)], root / "driver.log", NODE_NAME="n1", CDI_ROOT=str(root / "cdi"),
                    NUM_DEVICES="2", BINDING_CONDITIONS="true")
    manager = Manager(api, controllers=True, scheduler_options={"initial_backoff": 0.05, "max_backoff": 0.5})
    controller: subprocess.Popen[bytes] | None = None
    try:
        slices = wait_for(lambda: [s for s in api.list("resourceslices")["items"] if s["spec"]["driver"] == DRIVER])
        assert all(d["bindingConditions"] == ["BindingConditions"] for d in slices[0]["spec"]["devices"])
        manager.start()
        api.create("resourceclaims", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": "gpu", "namespace": "default"},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRIVER}}]}},
        }, namespace="default")
        api.create("pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod0", "namespace": "default"},
            "spec": {"containers": [{"name": "ctr0", "image": "ubuntu:22.04", "resources": {"claims": [{"name": "gpu"}]}}],
                     "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu"}]},
        }, namespace="default")
        wait_for(lambda: (api.get("resourceclaims", "gpu", namespace="default").get("status") or {}).get("allocation"))
        time.sleep(0.5)
        assert not api.get("pods", "pod0", namespace="default")["spec"].get("nodeName"), "bound without the condition"

        controller = _spawn(["kubedra.drivers.example.controller", "--plugins", "BindingConditions",
                             "--kubeconfig", str(apiserver.kubeconfig)], root / "controller.log")
        assert wait_for(lambda: api.get("pods", "pod0", namespace="default")["spec"].get("nodeName")) == "n1"
        (entry,) = api.get("resourceclaims", "gpu", namespace="default")["status"]["devices"]
        assert [(c["type"], c["status"]) for c in entry["conditions"]] == [("BindingConditions", "True")]
    finally:
        manager.stop(informer_timeout=1.0)
        if controller is not None:
            _stop(controller)
        _stop(driver)


def test_controller_refuses_unknown_plugins(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kubedra.drivers.example.controller", "--plugins", "Nope"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--plugins: unknown plugin 'Nope' (known: BindingConditions)" in proc.stderr
