"""A hospital's wall-screen link: a secret, revocable address that shows today's flow board reduced to
what a waiting room may see (queue numbers, initials, where each patient is), without a login, so that
an unattended screen is never a signed-in staff session (which would be logged out when idle, or, kept
alive, be an open door to the records). Only a SHA-256 of the secret is stored (an ApiToken of kind
`display`, owned by the administrator who made it); making a new link ends the old one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models import ApiToken, FlowState, Hospital, HospitalStatus, QueuePriority, Role, TokenKind, User
from hms.services import flow
from hms.services.api_tokens import _new_secret, hash_token, user_for_token
from hms.services.errors import NotAllowed

# The states a waiting room sees: a patient done or gone is no longer its business.
WALL_STATES = (FlowState.waiting, FlowState.triage, FlowState.ready, FlowState.consultation)


@dataclass(frozen=True)
class WallCard:
    """All a wall screen shows of a patient: no name, no doctor, no reason, no clinical data."""

    number: int
    initials: str
    priority: QueuePriority
    minutes: int


def initials(full_name: str) -> str:
    """'Baraka Otieno Mwangi' → 'B. M.' (first and last): enough for him to know his number is his."""
    words = [w for w in full_name.split() if w[:1].isalpha()]
    if not words:
        return "—"
    picked = [words[0], words[-1]] if len(words) > 1 else words
    return " ".join(f"{w[0].upper()}." for w in picked)


def _admin_hospital(admin: User) -> Hospital:
    if admin.role != Role.hospital_admin or admin.hospital_admin is None:
        raise NotAllowed(N_("Only a hospital administrator makes a wall-screen link."))
    return admin.hospital_admin.hospital


def active_link(admin: User) -> ApiToken | None:
    return db.session.scalar(
        select(ApiToken).where(
            ApiToken.user_id == admin.id, ApiToken.kind == TokenKind.display, ApiToken.revoked_at.is_(None)
        )
    )


def rotate_display_link(admin: User) -> str:
    """A new wall-screen link for the administrator's hospital; the old one stops working. Returns the
    secret (shown once)."""
    _admin_hospital(admin)
    revoke_display_link(admin)
    secret = _new_secret(TokenKind.display)
    db.session.add(
        ApiToken(
            user_id=admin.id,
            kind=TokenKind.display,
            name="Wall screen",
            token_hash=hash_token(secret),
            created_at=clock.now(),
        )
    )
    db.session.flush()
    return secret


def revoke_display_link(admin: User) -> None:
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == admin.id,
            ApiToken.kind == TokenKind.display,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def hospital_for_link(secret: str) -> Hospital | None:
    """The active hospital this link shows, or None (unknown, revoked, its administrator gone)."""
    admin = user_for_token(secret, TokenKind.display)
    if admin is None or admin.hospital_admin is None:
        return None
    hospital = admin.hospital_admin.hospital
    return hospital if hospital.status == HospitalStatus.active else None


def wall_columns(hospital: Hospital) -> list[tuple[FlowState, list[WallCard]]]:
    """Today's open cards of the hospital, reduced to WallCards, per state (one statement)."""
    now = clock.now()
    entries = flow.board_entries(hospital, flow.BoardFilter(), now)
    return [
        (
            state,
            [
                WallCard(e.number, initials(e.patient.name), e.priority, e.minutes_in_state(now))
                for e in entries
                if e.state == state
            ],
        )
        for state in WALL_STATES
    ]
