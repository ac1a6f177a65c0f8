"""``python -m kubedra.controlplane.apiserver``: run one API server in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from kubedra.api.features import FeatureGateError, FeatureGates
from kubedra.controlplane import process
from kubedra.controlplane.apiserver.app import Config, PortInUse, Running, run_forever
from kubedra.controlplane.store import STORAGE_KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedra.controlplane.apiserver")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--storage", choices=STORAGE_KINDS, default="sqlite")
    parser.add_argument("--feature-gates", default="")
    parser.add_argument("--bookmark-interval", type=float, default=10.0)
    parser.add_argument("--controllers", action="store_true",
                        help="also run the scheduler and controllers in this process (kubedra up --in-process)")
    parser.add_argument("--nodes", default="", help="with --controllers: Node objects to register (Ready)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="with --controllers: touched once the scheduler and controllers run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        gates = FeatureGates.parse(args.feature_gates)
    except FeatureGateError as exc:
        print(f"error: --feature-gates: {exc}", file=sys.stderr)
        return 2
    process.tune_collector()
    config = Config(args.data_dir, port=args.port, storage=args.storage, feature_gates=gates,
                    bookmark_interval=args.bookmark_interval)
    companion = _controllers(args.nodes, args.ready_file) if args.controllers else None
    try:
        return run_forever(config, companion=companion)
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _controllers(nodes: str, ready_file: Path | None) -> Callable[[Running], Callable[[], None]]:
    """Scheduler and controllers on the registry itself: no HTTP, JSON or TLS between them and the
    store, which is what makes one process faster (docs/decisions/scheduler.md); the price is
    that they share the interpreter lock with the server's event loop."""

    def start(running: Running) -> Callable[[], None]:
        from kubedra.controlplane.client import LocalClient
        from kubedra.controlplane.manager import Manager, register_nodes

        client = LocalClient(running.plane.registry)
        register_nodes(client, [n.strip() for n in nodes.split(",") if n.strip()])
        manager = Manager(client).start()
        if ready_file is not None:
            ready_file.write_text("ready\n")

        def stop() -> None:
            manager.stop(informer_timeout=1.0)
            if ready_file is not None:
                ready_file.unlink(missing_ok=True)

        return stop

    return start


if __name__ == "__main__":
    sys.exit(main())
