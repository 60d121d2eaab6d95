"""``declscan users add`` and ``declscan tokens create|revoke``: accounts of the review app."""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from declscan.config.settings import get_settings
from declscan.review.accounts import AccountError, add_user, create_token, revoke_token
from declscan.review.tables import ROLES, create_review_tables
from declscan.workers.db import make_engine, make_sessionmaker


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` and ``tokens`` command groups."""
    users = subparsers.add_parser("users", help="review app accounts").add_subparsers(dest="users_command",
                                                                                    required=True)
    add = users.add_parser("add", help="add an operator or admin (password from a prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="operator")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add_user)

    tokens = subparsers.add_parser("tokens", help="API tokens for machine clients").add_subparsers(
        dest="tokens_command", required=True)
    create = tokens.add_parser("create", help="create a token acting for user NAME; printed once")
    create.add_argument("name")
    create.set_defaults(func=_create_token)
    revoke = tokens.add_parser("revoke", help="revoke token ID")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=_revoke_token)


def _sessions() -> sessionmaker:
    engine = make_engine(get_settings().db_url)
    create_review_tables(engine)
    return make_sessionmaker(engine)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise AccountError("the passwords differ")
    return first


def _reports_account_errors(command: str) -> Callable[[Callable[[argparse.Namespace], None]],
                                                      Callable[[argparse.Namespace], int]]:
    """Run an account command: 0 when it worked, else one ``declscan <command>: reason`` line and 2."""
    def wrap(run: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(run)
        def wrapped(args: argparse.Namespace) -> int:
            try:
                run(args)
            except AccountError as exc:
                print(f"declscan {command}: {exc}", file=sys.stderr)
                return 2
            return 0
        return wrapped
    return wrap


@_reports_account_errors("users add")
def _add_user(args: argparse.Namespace) -> None:
    password = _read_password(args.password_stdin)
    with _sessions().begin() as session:
        user = add_user(session, args.name, args.role, password)
        print(f"added {user.role} {user.name}")


@_reports_account_errors("tokens create")
def _create_token(args: argparse.Namespace) -> None:
    with _sessions().begin() as session:
        row, token = create_token(session, args.name)
        print(f"token {row.id} for {args.name} (shown only now):", file=sys.stderr)
        print(token)


@_reports_account_errors("tokens revoke")
def _revoke_token(args: argparse.Namespace) -> None:
    with _sessions().begin() as session:
        revoke_token(session, args.id)
        print(f"revoked token {args.id}")
