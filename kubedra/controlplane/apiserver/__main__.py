"""``python -m kubedra.controlplane.apiserver``: run one API server in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kubedra.api.features import FeatureGateError, FeatureGates
from kubedra.controlplane import process
from kubedra.controlplane.apiserver.app import Config, PortInUse, run_forever
from kubedra.controlplane.store import STORAGE_KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedra.controlplane.apiserver")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--storage", choices=STORAGE_KINDS, default="sqlite")
    parser.add_argument("--feature-gates", default="")
    parser.add_argument("--bookmark-interval", type=float, default=10.0)
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
    try:
        return run_forever(config)
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
