"""``python -m kubedra.drivers.example``: the driver without loading every kubedra command."""

import argparse
import sys

from kubedra.drivers.example.flags import add_arguments, run_from_args

parser = argparse.ArgumentParser(
    prog="kubedra-example-driver", description="gpu.example.com DRA kubelet plugin"
)
add_arguments(parser)
sys.exit(run_from_args(parser, parser.parse_args()))
