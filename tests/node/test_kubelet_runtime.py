"""Local container runtime, container plans, CRI logs and the logs/exec endpoint (real processes, real HTTP)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubedra.node.kubelet import checkpoint
from kubedra.node.kubelet.containers import ContainerConfigError, NodePaths, plan_container
from kubedra.node.kubelet.logs import LogOptions, read_log
from kubedra.node.kubelet.runtime import Container, LocalRuntime
from kubedra.node.kubelet.server import KubeletServer

POD: dict[str, Any] = {
    "metadata": {"name": "pod0", "namespace": "gpu-test1", "uid": "u-1", "labels": {"app": "x"}},
    "spec": {"nodeName": "node-a"},
    "status": {"podIP": "127.0.0.1"},
}


def paths(tmp_path: Path) -> NodePaths:
    return NodePaths(root=tmp_path / "kubelet", cdi_dir=tmp_path / "kubelet" / "cdi", kubeconfig=tmp_path / "kc")


def test_plan_runs_local_commands_with_pod_env_then_cdi_env(tmp_path: Path) -> None:
    container = {"name": "ctr0", "image": "ubuntu:22.04", "command": ["bash", "-c"], "args": ["echo $(GREETING)"],
                 "env": [{"name": "GREETING", "value": "hi"},
                         {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                         {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                         {"name": "GPU_DEVICE_0", "value": "overridden by CDI"}]}
    plan = plan_container(POD, container, "spec.containers[0]", paths(tmp_path), {"GPU_DEVICE_0": "gpu-0"})
    assert plan.executed and plan.argv == ["bash", "-c", "echo hi"]
    assert plan.env["NODE"] == "node-a" and plan.env["APP"] == "x" and plan.env["HOSTNAME"] == "pod0"
    assert plan.env["GPU_DEVICE_0"] == "gpu-0"


def test_plan_placeholder_for_unknown_programs_and_config_errors(tmp_path: Path) -> None:
    plan = plan_container(POD, {"name": "ollama", "image": "docker.io/alpine/ollama:0.12.9"},
                          "spec.containers[0]", paths(tmp_path))
    assert not plan.executed and plan.argv[0] == "sleep"
    assert "was not executed" in plan.note and "alpine/ollama" in plan.note
    plan = plan_container(POD, {"name": "x", "command": ["no-such-binary-kubedra"]}, "spec.containers[0]",
                          paths(tmp_path))
    assert not plan.executed and "'no-such-binary-kubedra' does not exist" in plan.note
    bad = {"name": "x", "command": ["sh"], "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "s"}}}]}
    with pytest.raises(ContainerConfigError, match=r"^spec.containers\[1\].env\[0\].valueFrom.secretKeyRef"):
        plan_container(POD, bad, "spec.containers[1]", paths(tmp_path))


def test_plan_maps_the_example_driver_image_to_kubedra_driver(tmp_path: Path) -> None:
    container = {
        "name": "plugin", "image": "registry.k8s.io/dra-example-driver/dra-example-driver:v0.2.0",
        "command": ["dra-example-kubeletplugin"],
        "env": [{"name": "CDI_ROOT", "value": "/var/run/cdi"},
                {"name": "KUBELET_REGISTRAR_DIRECTORY_PATH", "value": "/var/lib/kubelet/plugins_registry"},
                {"name": "KUBELET_PLUGINS_DIRECTORY_PATH", "value": "/var/lib/kubelet/plugins"},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "HEALTHCHECK_PORT", "value": "51515"}],
    }
    p = paths(tmp_path)
    plan = plan_container(POD, container, "spec.containers[0]", p)
    assert plan.argv[:5] == [sys.executable, "-m", "kubedra", "driver", "example"]
    assert plan.argv[5:] == ["--kubelet-root", str(p.root), "--kubeconfig", str(p.kubeconfig)]
    assert plan.env["CDI_ROOT"] == str(p.cdi_dir)
    assert plan.env["KUBELET_REGISTRAR_DIRECTORY_PATH"] == f"{p.root}/plugins_registry"
    assert plan.env["KUBELET_PLUGINS_DIRECTORY_PATH"] == f"{p.root}/plugins"
    assert (plan.env["NODE_NAME"], plan.env["NAMESPACE"]) == ("node-a", "gpu-test1")
    # The fixed health port moves to a free one per pod (two nodes share this machine); probes follow.
    port = int(plan.env["HEALTHCHECK_PORT"])
    assert port != 51515 and plan.port_map == {51515: port}
    disabled = {**container, "env": [{"name": "HEALTHCHECK_PORT", "value": "-1"}]}
    assert plan_container(POD, disabled, "spec.containers[0]", p).env["HEALTHCHECK_PORT"] == "-1"
    with pytest.raises(ContainerConfigError, match=r"spec.containers\[0\].env\[HEALTHCHECK_PORT\]: Invalid value"):
        plan_container(POD, {**container, "env": [{"name": "HEALTHCHECK_PORT", "value": "x"}]},
                       "spec.containers[0]", p)


def test_processes_logs_and_stop_reach_the_whole_process_group(tmp_path: Path) -> None:
    async def scenario() -> None:
        runtime = LocalRuntime(tmp_path)
        pod_dir = runtime.pod_dir("ns", "p", "u")
        plan = plan_container(POD, {"name": "c", "command": ["bash", "-c"],
                                    "args": ["echo out; echo err >&2; printf partial; sleep 300 & wait"]},
                              "spec.containers[0]", paths(tmp_path))
        container = await runtime.start(pod_dir, "c", 0, plan)
        for _ in range(100):
            if b"partial" in container.log_path.read_bytes():
                break
            await asyncio.sleep(0.02)
        assert (container.log_path.parent / "pgid").read_text() == str(container.pid)
        await runtime.stop(container, grace=5)
        assert container.exit_code == 143 and not container.running
        records = container.log_path.read_text().splitlines()
        assert [r.split(" ", 1)[1] for r in records] == ["stdout F out", "stderr F err", "stdout F partial"]
        text, _ = read_log(container.log_path, LogOptions())
        assert sorted(text.decode().splitlines()) == ["err", "out", "partial"]
        assert read_log(container.log_path, LogOptions(tail_lines=1))[0] == b"partial\n"
        stamped = read_log(container.log_path, LogOptions(timestamps=True))[0].decode().splitlines()
        assert all(line.split(" ")[0].endswith("Z") for line in stamped)
        assert not (container.log_path.parent / "pgid").exists()
        # No process of the group survives (the backgrounded sleep included). Orphans may linger as
        # zombies where PID 1 does not reap them (as in some sandboxes): those are dead, not running.
        assert container.pid and _live_group_members(container.pid) == []

    asyncio.run(scenario())


def _live_group_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that are not zombies (read from /proc)."""
    live = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            live.append(int(entry.name))
    return live


def test_missing_program_fails_the_container_not_the_kubelet(tmp_path: Path) -> None:
    async def scenario() -> None:
        runtime = LocalRuntime(tmp_path)
        plan = plan_container(POD, {"name": "c", "command": ["/bin/sh"]}, "w", paths(tmp_path))
        plan.argv = ["/nonexistent/prog"]
        container = await runtime.start(runtime.pod_dir("ns", "p", "u"), "c", 0, plan)
        assert container.exit_code == 128 and container.done.is_set()
        assert b"cannot start /nonexistent/prog" in container.log_path.read_bytes()

    asyncio.run(scenario())


class _Worker:
    """What the endpoint needs from a pod worker: its containers."""

    def __init__(self, container: Container) -> None:
        self.name = "pod0"
        self._container = container
        self.finished = asyncio.Event()

    def container(self, name: str | None) -> Container | None:
        return self._container if name in (None, "ctr0") else None

    def log_file(self, name: str, previous: bool) -> Path | None:
        return None if previous or name != "ctr0" else self._container.log_path


def test_endpoint_serves_logs_follow_and_websocket_exec(tmp_path: Path) -> None:
    async def scenario() -> None:
        runtime = LocalRuntime(tmp_path)
        plan = plan_container(POD, {"name": "ctr0", "command": ["bash", "-c"],
                                    "args": ["echo first; sleep 0.5; echo second"],
                                    "env": [{"name": "GPU_DEVICE_3", "value": "gpu-3"}]},
                              "spec.containers[0]", paths(tmp_path))
        container = await runtime.start(runtime.pod_dir("ns", "pod0", "u"), "ctr0", 0, plan)
        worker = _Worker(container)
        server = KubeletServer(lambda ns, name: worker if (ns, name) == ("gpu-test1", "pod0") else None)  # type: ignore[arg-type,return-value]
        port = await server.start()
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(f"{base}/exec/gpu-test1/pod0/ctr0?command=env&stdout=1&stderr=1",
                                           protocols=("v5.channel.k8s.io",))
                assert ws.protocol == "v5.channel.k8s.io"
                out, status = b"", None
                async for message in ws:
                    if message.data[0] == 1:
                        out += message.data[1:]
                    elif message.data[0] == 3:
                        status = json.loads(message.data[1:])
                assert "GPU_DEVICE_3=gpu-3" in out.decode().splitlines() and status == {"metadata": {},
                                                                                       "status": "Success"}
                ws = await http.ws_connect(
                    f"{base}/exec/gpu-test1/pod0/ctr0?command=sh&command=-c&command=cat;exit+3&stdin=1&stdout=1",
                    protocols=("v5.channel.k8s.io",))
                await ws.send_bytes(b"\x00hello")
                await ws.send_bytes(b"\xff\x00")
                out, status = b"", None
                async for message in ws:
                    if message.data[0] == 1:
                        out += message.data[1:]
                    elif message.data[0] == 3:
                        status = json.loads(message.data[1:])
                assert out == b"hello"
                assert status is not None and status["reason"] == "NonZeroExitCode"
                assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
                ws = await http.ws_connect(f"{base}/exec/gpu-test1/pod0/ctr0?command=ollama&stdout=1",
                                           protocols=("v5.channel.k8s.io",))
                messages = [m.data async for m in ws]
                assert messages[0][0] == 3
                assert 'exec: "ollama": executable file not found in $PATH' in json.loads(messages[0][1:])["message"]

                async with http.get(f"{base}/containerLogs/gpu-test1/pod0/ctr0?follow=true") as response:
                    assert response.status == 200
                    assert await response.text() == "first\nsecond\n"
                async with http.get(f"{base}/containerLogs/gpu-test1/pod0/ctr0?tailLines=1") as response:
                    assert await response.text() == "second\n"
                async with http.get(f"{base}/containerLogs/gpu-test1/pod0/ctr0?limitBytes=3") as response:
                    assert await response.text() == "fir"
                async with http.get(f"{base}/containerLogs/gpu-test1/nope/ctr0") as response:
                    assert response.status == 404
                async with http.get(f"{base}/containerLogs/gpu-test1/pod0/ctr0?previous=true") as response:
                    assert response.status == 400 and "previous terminated container" in await response.text()
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_checkpoint_round_trip_and_corruption_is_an_error(tmp_path: Path) -> None:
    claims = [checkpoint.ClaimState(namespace="ns", name="c", uid="u", drivers=["gpu.example.com"],
                                    devices={"gpu.example.com": [checkpoint.PreparedDevice(
                                        request_names=["gpu"], pool_name="n", device_name="gpu-0",
                                        cdi_device_ids=["k8s.gpu.example.com/gpu=u-gpu-0"])]},
                                    pod_uids=["p1"], prepared=True)]
    checkpoint.store(tmp_path, claims)
    loaded = checkpoint.load(tmp_path)
    assert loaded[0].devices == claims[0].devices and loaded[0].pod_uids == ["p1"]
    assert loaded[0].prepared is False  # a restarted kubelet prepares again
    path = tmp_path / checkpoint.FILE_NAME
    path.write_bytes(path.read_bytes().replace(b"gpu-0", b"gpu-1"))
    with pytest.raises(checkpoint.CheckpointError, match="checksum mismatch"):
        checkpoint.load(tmp_path)
    assert checkpoint.load(tmp_path / "absent") == []


def test_long_kubelet_root_gets_a_short_socket_alias(tmp_path: Path) -> None:
    from kubedra.node.kubelet.kubelet import MAX_SOCKET_ROOT, socket_root

    short = Path("/tmp/kd")
    assert socket_root(short) == short
    deep = tmp_path / ("x" * 60) / "kubelet"
    deep.mkdir(parents=True)
    alias = socket_root(deep)
    assert len(str(alias)) <= MAX_SOCKET_ROOT and alias.resolve() == deep
    assert socket_root(deep) == alias  # stable across restarts
    longest = alias / "plugins_registry" / ("d" * 40 + "-reg.sock")
    assert len(str(longest)) <= 107
