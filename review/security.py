"""Secrets and hashes: argon2 passwords, API-token digests, the signing key, signed session cookies."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger(__name__)

SESSION_COOKIE = "declscan_session"
SESSION_MAX_AGE = 12 * 3600
TOKEN_PREFIX = "dsk_"

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    """A fresh token to show once; only :func:`token_digest` of it is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    # 256 random bits need no slow hash: sha256 makes a stolen table useless and lookups exact.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_secret_key(configured: str | None, data_dir: Path) -> str:
    """``configured`` if set, else the key in ``data_dir/secret_key``, made once with mode 0600."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            log.info("made a new session signing key in %s", path)
    return path.read_text().strip()


@dataclass(frozen=True)
class SessionData:
    user_id: int
    epoch: int
    csrf: str


class SessionSigner:
    """Signs the session cookie: user id, the user's session epoch and the session's CSRF token."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="declscan.session")

    def dumps(self, data: SessionData) -> str:
        return self._serializer.dumps({"u": data.user_id, "e": data.epoch, "c": data.csrf})

    def loads(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
            return SessionData(user_id=int(raw["u"]), epoch=int(raw["e"]), csrf=str(raw["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
