"""`kubedra` command line entry point.

Sub-commands live one per module in this package; each module that defines
``register(subparsers)`` is discovered here, so adding a command never means
editing a central table. A module that fails to import is reported as broken
(``kubedra <module>`` explains why) instead of taking every other command down;
``broken_commands()`` lets the test suite insist there are none.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

import kubedra

_BROKEN: dict[str, str] = {}


def broken_commands() -> dict[str, str]:
    """Command modules that failed to import while building the parser, with the error."""
    return dict(_BROKEN)


def _broken_handler(name: str, error: str) -> Callable[[argparse.Namespace], int]:
    def handler(_: argparse.Namespace) -> int:
        print(f"kubedra {name}: this command is unavailable: {error}", file=sys.stderr)
        return 1

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubedra",
        description="Kubernetes Dynamic Resource Allocation, the whole system, in Python.",
    )
    parser.add_argument("--version", action="version", version=f"kubedra {kubedra.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("kubedra.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in ("main", "__main__") or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"kubedra.cli.{info.name}")
        except Exception as exc:  # one broken module must not break the other commands
            _BROKEN[info.name] = f"{type(exc).__name__}: {exc}"
            broken = subparsers.add_parser(info.name, help=f"(unavailable: {type(exc).__name__})")
            broken.set_defaults(handler=_broken_handler(info.name, _BROKEN[info.name]))
            continue
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def _passthrough(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | None:
    """Commands that wrap another program (``kubedra kubectl …``) get their words untouched.

    argparse would otherwise eat the ``--`` of ``kubedra kubectl exec POD -- env`` before the
    sub-command sees it. Such sub-parsers are marked by ``prefix_chars="\x00"`` (no options).
    """
    if not argv:
        return None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices.get(argv[0])
            if sub is not None and sub.prefix_chars == "\x00":
                return argparse.Namespace(command=argv[0], args=argv[1:], **{
                    k: v for k, v in vars(sub.parse_args([])).items() if k != "args"})
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = _passthrough(parser, words) or parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
