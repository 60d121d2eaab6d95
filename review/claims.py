"""Who is editing which document: a claim per document that expires unless renewed.

Two operators never edit one document unknowingly: a live claim held by someone else makes every
write fail with :class:`ClaimHeld` until that claim expires or the caller explicitly takes it over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from declscan.review.tables import ClaimRow, as_utc
from declscan.workers.db import utcnow

DEFAULT_CLAIM_TTL = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class ClaimInfo:
    user_name: str
    expires_at: dt.datetime

    def as_json(self) -> dict[str, str]:
        return {"user": self.user_name, "expires_at": self.expires_at.isoformat()}


class ClaimHeld(Exception):
    """The document is claimed by someone else until ``claim.expires_at``."""

    def __init__(self, claim: ClaimInfo) -> None:
        self.claim = claim
        super().__init__(f"claimed by {claim.user_name} until {claim.expires_at:%Y-%m-%d %H:%M} UTC")


def live_claim(session: Session, document_id: str) -> ClaimInfo | None:
    """The unexpired claim on a document, if any."""
    row = session.get(ClaimRow, document_id)
    if row is None or as_utc(row.expires_at) <= utcnow():
        return None
    return ClaimInfo(row.user_name, as_utc(row.expires_at))


def claim(session: Session, document_id: str, user_name: str, ttl: dt.timedelta,
          *, take_over: bool = False) -> ClaimInfo:
    """Claim (or renew) the document for ``user_name``; raises :class:`ClaimHeld` if another person
    holds a live claim, unless ``take_over``. Returns the claim now held."""
    now = utcnow()
    row = session.get(ClaimRow, document_id, with_for_update=True)
    if row is None:
        row = ClaimRow(document_id=document_id, user_name=user_name, claimed_at=now, expires_at=now + ttl)
        session.add(row)
    else:
        held_by_other = row.user_name != user_name and as_utc(row.expires_at) > now
        if held_by_other and not take_over:
            raise ClaimHeld(ClaimInfo(row.user_name, as_utc(row.expires_at)))
        if row.user_name != user_name:
            row.user_name, row.claimed_at = user_name, now
        row.expires_at = now + ttl
    session.flush()
    return ClaimInfo(user_name, as_utc(row.expires_at))


def release(session: Session, document_id: str, user_name: str) -> None:
    """Drop the caller's own claim (someone else's is left alone)."""
    row = session.get(ClaimRow, document_id)
    if row is not None and row.user_name == user_name:
        session.delete(row)
