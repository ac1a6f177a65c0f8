"""Command-line flags of the example driver, with the Go binary's names and environment variables.

Kept free of heavy imports so that ``kubedra --help`` stays fast; shared by
``kubedra driver example`` and ``python -m kubedra.drivers.example``.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any


def _env(name: str, default: Any) -> Any:
    return os.environ.get(name, default)


def _bool_env(name: str) -> bool:
    value = os.environ.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise SystemExit(f"error: {name}={value!r}: expected true or false")
    return value in ("true", "1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--node-name", default=_env("NODE_NAME", None), help="node to publish devices for [NODE_NAME]"
    )
    parser.add_argument(
        "--cdi-root", type=Path, default=Path(_env("CDI_ROOT", "/etc/cdi")), help="[CDI_ROOT]"
    )
    parser.add_argument("--num-devices", type=int, default=int(_env("NUM_DEVICES", 8)), help="[NUM_DEVICES]")
    parser.add_argument(
        "--gpu-partitions",
        type=int,
        default=int(_env("GPU_PARTITIONS", 0)),
        help="split each GPU into N partitions sharing a counter set [GPU_PARTITIONS]",
    )
    parser.add_argument(
        "--gpu-device-status",
        action=argparse.BooleanOptionalAction,
        default=_bool_env("GPU_DEVICE_STATUS"),
        help="write each prepared GPU's attributes into the claim's status.devices[].data [GPU_DEVICE_STATUS]",
    )
    parser.add_argument(
        "--binding-conditions",
        action=argparse.BooleanOptionalAction,
        default=_bool_env("BINDING_CONDITIONS"),
        help="publish every device with a binding condition and a binding failure condition; "
        "run the controller with --plugins=BindingConditions to satisfy them [BINDING_CONDITIONS]",
    )
    parser.add_argument(
        "--kubelet-root",
        type=Path,
        default=Path(_env("KUBELET_ROOT", "/var/lib/kubelet")),
        help="kubelet root directory; the two paths below default under it [KUBELET_ROOT]",
    )
    parser.add_argument(
        "--kubelet-registrar-directory-path",
        type=Path,
        default=_env("KUBELET_REGISTRAR_DIRECTORY_PATH", None),
        help="[KUBELET_REGISTRAR_DIRECTORY_PATH]",
    )
    parser.add_argument(
        "--kubelet-plugins-directory-path",
        type=Path,
        default=_env("KUBELET_PLUGINS_DIRECTORY_PATH", None),
        help="[KUBELET_PLUGINS_DIRECTORY_PATH]",
    )
    parser.add_argument(
        "--healthcheck-port",
        type=int,
        default=int(_env("HEALTHCHECK_PORT", -1)),
        help="gRPC health port, -1 disabled, 0 random [HEALTHCHECK_PORT]",
    )
    parser.add_argument(
        "--pod-uid", default=_env("POD_UID", None), help="enables rolling-update socket names [POD_UID]"
    )
    parser.add_argument("--kubeconfig", type=Path, default=_env("KUBECONFIG", None), help="[KUBECONFIG]")
    parser.add_argument("-v", "--verbose", action="store_true")


def run_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not args.node_name:
        parser.error("--node-name (or NODE_NAME) is required")
    if args.num_devices < 0 or args.gpu_partitions < 0:
        parser.error("--num-devices and --gpu-partitions must not be negative")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpx2"):  # one line per API request would drown the driver's own story
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    from kubedra.drivers.example.main import ExampleOptions, run

    return run(
        ExampleOptions(
            node_name=args.node_name,
            cdi_root=args.cdi_root,
            num_devices=args.num_devices,
            gpu_partitions=args.gpu_partitions,
            gpu_device_status=args.gpu_device_status,
            binding_conditions=args.binding_conditions,
            kubelet_root=args.kubelet_root,
            registrar_dir=args.kubelet_registrar_directory_path,
            plugins_dir=args.kubelet_plugins_directory_path,
            healthcheck_port=args.healthcheck_port,
            pod_uid=args.pod_uid,
            kubeconfig=args.kubeconfig,
        )
    )
