"""One-time links (registration, password reset, account claims): only a hash of the token is stored,
and a link is used up once, even when it is opened twice at the same moment."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update

from hms.extensions import db


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def use_once(model, row_id: int, now: datetime) -> bool:  # type: ignore[no-untyped-def]
    """Mark the link row used; False when it already was (only one of two racing UPDATEs finds it unused)."""
    used = db.session.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1
