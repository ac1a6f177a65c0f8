"""``kubedra kubelet``: run one node's kubelet against an API server (real or kubedra's)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "kubelet",
        help="run a kubelet for one node (DRA plugins, local container processes, logs/exec)",
        description="Register NODE with the API server, watch ROOT/plugins_registry for DRA plugins and run "
        "the pods bound to NODE as local processes.",
    )
    parser.add_argument("--node", required=True, help="node name")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig of the API server")
    parser.add_argument("--root", type=Path, required=True,
                        help="kubelet root directory (plugins_registry, plugins, pods, checkpoints)")
    parser.add_argument("--cdi-dir", type=Path, action="append", default=None,
                        help="CDI spec directory, lowest priority first (repeatable; default ROOT/cdi)")
    parser.add_argument("--address", default="127.0.0.1", help="address of the logs/exec endpoint and the pods")
    parser.add_argument("--port", type=int, default=0, help="port of the logs/exec endpoint (0: any free port)")
    parser.add_argument("--node-label", action="append", default=[], metavar="KEY=VALUE",
                        help="extra label for the Node (repeatable)")
    parser.add_argument("--register-with-taints", action="append", default=[], metavar="KEY[=VALUE]:EFFECT",
                        help="taint the Node with this when registering it (repeatable)")
    parser.add_argument("--feature-gates", default="", metavar="GATE=BOOL,...",
                        help="kubelet feature gates, e.g. ResourceHealthStatus=true (device health in pod status)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="create this file once the kubelet is registered and serving (for supervisors)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(handler=_run, _parser=parser)


def _run(args: argparse.Namespace) -> int:
    from kubedra.node.kubelet.kubelet import Kubelet, KubeletConfig

    labels = {}
    for item in args.node_label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            args._parser.error(f"--node-label {item!r}: expected KEY=VALUE")
        labels[key] = value
    taints = []
    for item in args.register_with_taints:
        key_value, sep, effect = item.rpartition(":")
        key, _, value = key_value.partition("=")
        if not sep or not key or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            args._parser.error(f"--register-with-taints {item!r}: expected KEY[=VALUE]:EFFECT with effect "
                               "NoSchedule, PreferNoSchedule or NoExecute")
        taints.append({"key": key, "effect": effect, **({"value": value} if value else {})})
    from kubedra.api.features import FeatureGateError, FeatureGates

    try:
        gates = FeatureGates.parse(args.feature_gates)
    except FeatureGateError as exc:
        args._parser.error(f"--feature-gates: {exc}")
    if args.kubeconfig is not None and not args.kubeconfig.is_file():
        args._parser.error(f"--kubeconfig {args.kubeconfig}: no such file")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s kubelet[" + args.node + "] %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "aiohttp.access"):  # one line per request drowns what matters
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    config = KubeletConfig(node_name=args.node, root=args.root, kubeconfig=args.kubeconfig, host_ip=args.address,
                           port=args.port, cdi_dirs=list(args.cdi_dir or []), labels=labels,
                           taints=taints, feature_gates=gates)

    async def main() -> None:
        await Kubelet(config).run_forever(ready_file=args.ready_file)

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m kubedra.cli.kubelet``: what ``kubedra up`` spawns per node.

    It parses only the kubelet's own flags, so a kubelet process never imports unrelated commands.
    """
    parser = argparse.ArgumentParser(prog="kubedra")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["kubelet", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
