"""``declscan``: one entry point, one module per group of subcommands.

Each command module exposes ``register(subparsers)``, which adds its subcommands and sets
``func`` on each; ``func(args) -> int`` is the exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys

from declscan.cli import process, service, users

COMMAND_MODULES = (process, service, users)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="declscan", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
