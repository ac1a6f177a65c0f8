"""``kubedra driver example``: the gpu.example.com kubelet plugin, with the Go binary's flags/env."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from kubedra.drivers.example.flags import add_arguments

    parser = subparsers.add_parser("driver", help="run a DRA driver's kubelet plugin")
    drivers = parser.add_subparsers(dest="driver", metavar="DRIVER", required=True)
    ex = drivers.add_parser(
        "example",
        help="gpu.example.com (like dra-example-driver); every flag can also be set by its environment variable",
    )
    add_arguments(ex)
    ex.set_defaults(handler=_run_example, _parser=ex)


def _run_example(args: argparse.Namespace) -> int:
    from kubedra.drivers.example.flags import run_from_args

    return run_from_args(args._parser, args)
