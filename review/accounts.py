"""Users, API tokens and password logins with per user+address backoff (shared by the app and the CLI)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from declscan.review.security import hash_password, new_api_token, token_digest, verify_password
from declscan.review.tables import ROLES, ApiTokenRow, LoginAttemptRow, UserRow, as_utc
from declscan.workers.db import utcnow

log = logging.getLogger(__name__)

# Failures allowed before a pair (user, address) must wait; the wait doubles per further failure.
FREE_FAILURES = 2
FIRST_LOCK_SECONDS = 5
MAX_LOCK = dt.timedelta(minutes=15)


class AccountError(ValueError):
    """A user-management request that cannot be done (duplicate name, unknown user …)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in person or a token acting for one."""

    user_id: int
    name: str
    role: str
    via_token: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class LoginResult:
    principal: Principal | None
    epoch: int = 0
    retry_after: int = 0  # seconds the pair must wait before the next try; 0 when it may try now


def principal_of(user: UserRow, *, via_token: bool = False) -> Principal:
    return Principal(user_id=user.id, name=user.name, role=user.role, via_token=via_token)


def add_user(session: Session, name: str, role: str, password: str) -> UserRow:
    name = name.strip()
    if not name or len(name) > 64:
        raise AccountError("a user name is 1 to 64 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    if session.scalar(select(UserRow).where(UserRow.name == name)) is not None:
        raise AccountError(f"user {name!r} already exists")
    user = UserRow(name=name, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def create_token(session: Session, user_name: str) -> tuple[ApiTokenRow, str]:
    """A new token acting for ``user_name``: the row and the token text, shown once."""
    user = session.scalar(select(UserRow).where(UserRow.name == user_name, UserRow.active.is_(True)))
    if user is None:
        raise AccountError(f"no active user {user_name!r}")
    token = new_api_token()
    row = ApiTokenRow(user_id=user.id, token_hash=token_digest(token), prefix=token[:10])
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, token_id: int) -> ApiTokenRow:
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise AccountError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(UserRow, row.user_id)
    return principal_of(user, via_token=True) if user is not None and user.active else None


def login(session: Session, name: str, password: str, address: str) -> LoginResult:
    """Check a password unless this (name, address) pair is still waiting after earlier failures."""
    now = utcnow()
    key = f"{name[:64]}|{address[:64]}"
    attempt = session.get(LoginAttemptRow, key)
    if attempt is not None and attempt.locked_until is not None:
        wait = (as_utc(attempt.locked_until) - now).total_seconds()
        if wait > 0:
            return LoginResult(principal=None, retry_after=int(wait) + 1)
    user = session.scalar(select(UserRow).where(UserRow.name == name, UserRow.active.is_(True)))
    if verify_password(user.password_hash if user else None, password) and user is not None:
        if attempt is not None:
            session.delete(attempt)
        return LoginResult(principal=principal_of(user), epoch=user.session_epoch)
    if attempt is None:
        attempt = LoginAttemptRow(key=key, failures=0)
        session.add(attempt)
    attempt.failures += 1
    attempt.last_failure_at = now
    over = attempt.failures - FREE_FAILURES - 1
    if over >= 0:
        lock = min(dt.timedelta(seconds=FIRST_LOCK_SECONDS * 2**over), MAX_LOCK)
        attempt.locked_until = now + lock
        log.warning("login for %r from %s failed %d times: locked %ss", name, address,
                    attempt.failures, int(lock.total_seconds()))
        return LoginResult(principal=None, retry_after=int(lock.total_seconds()))
    return LoginResult(principal=None)
