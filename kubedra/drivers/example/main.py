"""Runs the gpu.example.com kubelet plugin until SIGTERM/SIGINT/SIGHUP/SIGQUIT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from kubedra.drivers.example.driver import CDI_CLASS, DRIVER_NAME, ExampleDriver
from kubedra.node.plugin import DriverPlugin, DriverResources, PluginOptions
from kubedra.node.plugin.checkpoint import CheckpointError
from kubedra.node.plugin.kubeapi import async_client

log = logging.getLogger(__name__)


@dataclass
class ExampleOptions:
    node_name: str
    cdi_root: Path = Path("/etc/cdi")
    num_devices: int = 8
    gpu_partitions: int = 0
    gpu_device_status: bool = False
    binding_conditions: bool = False
    kubelet_root: Path = Path("/var/lib/kubelet")
    registrar_dir: Path | None = None
    plugins_dir: Path | None = None
    healthcheck_port: int = -1
    pod_uid: str | None = None
    kubeconfig: Path | None = None


async def serve(opts: ExampleOptions, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
    driver = ExampleDriver(opts.node_name, opts.num_devices, opts.gpu_partitions, opts.gpu_device_status,
                           opts.binding_conditions)
    driver.write_common_spec(opts.cdi_root)
    client = async_client(opts.kubeconfig)
    plugin = DriverPlugin(
        driver,
        PluginOptions(
            driver_name=DRIVER_NAME,
            node_name=opts.node_name,
            kubelet_root=opts.kubelet_root,
            registrar_dir=opts.registrar_dir,
            plugin_dir=opts.plugins_dir / DRIVER_NAME if opts.plugins_dir else None,
            cdi_dir=opts.cdi_root,
            cdi_class=CDI_CLASS,
            pod_uid=opts.pod_uid,
            healthcheck_port=opts.healthcheck_port,
        ),
        client,
    )
    await plugin.start()
    for uid in plugin.reconciled:
        log.warning("re-created the CDI spec of prepared claim %s", uid)
    plugin.publish_resources(DriverResources(pools={opts.node_name: driver.pool}))
    if plugin.healthcheck_port is not None:
        log.info("health check on port %d", plugin.healthcheck_port)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await plugin.stop()
        await client.close()


def run(opts: ExampleOptions) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            loop.add_signal_handler(sig, stop.set)
        await serve(opts, stop)

    try:
        asyncio.run(main())
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
