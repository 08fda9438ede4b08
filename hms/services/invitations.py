"""Invitations: a hospital invites a new doctor, staff member or administrator by a one-time link.

The link carries a random token; only its SHA-256 hash is stored, so a copy of the database opens
no account. A link works once and only until it expires."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from sqlalchemy import select, update

from hms import clock
from hms.database import savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Department,
    Hospital,
    Invitation,
    InvitationState,
    Membership,
    MembershipStatus,
    Role,
    StaffKind,
    User,
)
from hms.models.users import normalize_email
from hms.services import accounts, notifications, outbox
from hms.services.audit import record_event
from hms.services.errors import Conflict, EmailTaken, Invalid, NotFound
from hms.templating import zoned_time

INVITABLE = (Role.doctor, Role.staff, Role.hospital_admin)
ALREADY_WAITING = N_("An invitation to this email is already waiting. Revoke it to send a new one.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitations(hospital: Hospital, roles: tuple[Role, ...]) -> list[Invitation]:
    now = clock.now()
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.hospital_id == hospital.id,
                Invitation.role.in_(roles),
                Invitation.open_email.is_not(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        )
    )


def invite(
    hospital: Hospital,
    actor: User,
    *,
    email: str,
    full_name: str,
    role: Role,
    staff_kind: StaffKind | None = None,
    specialty: str | None = None,
    department: Department | None = None,
    fee_minor: int = 0,
) -> tuple[Invitation, str]:
    """A new invitation and its token (shown once, to be sent to the person)."""
    if role not in INVITABLE:
        raise Invalid(N_("Only doctors, staff and administrators can be invited."))
    if role == Role.staff and staff_kind is None:
        raise Invalid(N_("Choose the staff member's role."), field="kind")
    if role == Role.doctor and not (specialty or "").strip():
        raise Invalid(N_("Enter the doctor's specialty."), field="specialty")
    if department is not None and (department.hospital_id != hospital.id or department.retired):
        raise Invalid(N_("Choose one of this hospital's departments."), field="department")
    if not hospital.is_active:
        raise Conflict(N_("The hospital is not active; it cannot invite anyone."))
    email = normalize_email(email)
    if accounts.find_user_by_email(email) is not None:
        message = (
            N_("An account with this email already exists. Add the doctor by email instead.")
            if role == Role.doctor
            else N_("An account with this email already exists.")
        )
        raise Conflict(message, field="email")
    now = clock.now()
    waiting = db.session.scalar(
        select(Invitation).where(Invitation.hospital_id == hospital.id, Invitation.open_email == email)
    )
    if waiting is not None:
        if waiting.expires_at > now:
            raise Conflict(ALREADY_WAITING, field="email")
        waiting.open_email = None  # an expired invitation makes way for the new one
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        hospital=hospital,
        email=email,
        open_email=email,
        full_name=" ".join(full_name.split()),
        role=role,
        staff_kind=staff_kind if role == Role.staff else None,
        specialty=(specialty or "").strip() or None if role == Role.doctor else None,
        department=department if role == Role.doctor else None,
        fee_minor=fee_minor if role == Role.doctor else 0,
        token_hash=hash_token(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["INVITATION_TTL_HOURS"]),
    )
    with savepoint(Conflict(ALREADY_WAITING, field="email")):  # the same invitation sent twice at once
        db.session.add(invitation)
    record_event(
        "invite", "invitation", invitation.id, hospital_id=hospital.id, user_id=actor.id, detail=role.value
    )
    _email_invitation(invitation, token, actor)
    return invitation, token


def _role_words(invitation: Invitation) -> str:
    if invitation.role == Role.doctor:
        return "a doctor"
    if invitation.role == Role.staff and invitation.staff_kind is not None:
        return f"a {invitation.staff_kind.label.lower()}"
    return "an administrator"


def _email_invitation(invitation: Invitation, token: str, actor: User) -> None:
    """Send the one-time link to the invited person (through the outbox, in this transaction); the
    admin also sees it once, to pass on by other means if the email does not arrive."""
    hospital = invitation.hospital
    link = notifications.public_url(url_for("auth.accept_invitation", token=token))
    with force_locale("en"):  # the invited person has no language yet; the email is in English
        until = zoned_time(invitation.expires_at, hospital.tz)
    body = "\n".join(
        [
            f"Hello {invitation.full_name},",
            "",
            f"{actor.full_name} invites you to join {hospital.name} on HMS as {_role_words(invitation)}.",
            f"Open this link to set your password; it works once, until {until}:",
            "",
            link,
            "",
            "If you did not expect this, ignore this email: nothing happens unless the link is used.",
        ]
    )
    outbox.enqueue_email(
        to=invitation.email,
        subject=f"HMS: {hospital.name} invites you to join"[:255],
        body=body + "\n",
        kind="invitation",
        hospital_id=hospital.id,
    )


def find_invitation(token: str) -> Invitation:
    """The invitation of `token` whatever its state; NotFound for a token that was never issued."""
    if not token or len(token) > 128:
        raise NotFound(N_("This invitation link is not valid. Check that you copied the whole link."))
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise NotFound(N_("This invitation link is not valid. Check that you copied the whole link."))
    return invitation


STATE_MESSAGES = {
    InvitationState.accepted: N_(
        "This invitation link was already used. Log in with your email and password."
    ),
    InvitationState.expired: N_(
        "This invitation link has expired. Ask the hospital's administrator for a new one."
    ),  # noqa: E501
    InvitationState.revoked: N_(
        "This invitation was withdrawn by the hospital. Ask its administrator if in doubt."
    ),  # noqa: E501
}


def usable_problem(invitation: Invitation) -> str | None:
    """Why the invitation cannot be used now, or None."""
    state = invitation.state(clock.now())
    if state != InvitationState.pending:
        return STATE_MESSAGES[state]
    if not invitation.hospital.is_active:
        return N_("This hospital is not active on the platform at the moment; the invitation cannot be used.")
    return None


def accept_invitation(token: str, *, full_name: str, password: str, specialty: str | None = None) -> User:
    """Create the invited account (with its membership or staff place) and close the invitation."""
    invitation = find_invitation(token)
    problem = usable_problem(invitation)
    if problem:
        raise Conflict(problem)
    now = clock.now()
    # Close the invitation first, conditionally: of two submits at once only one gets here.
    closed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        )
        .values(accepted_at=now, open_email=None)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        raise Conflict(STATE_MESSAGES[InvitationState.accepted])
    db.session.refresh(invitation)
    hospital = invitation.hospital
    name = " ".join((full_name or invitation.full_name).split())
    try:
        if invitation.role == Role.doctor:
            user = accounts.register_doctor(
                full_name=name,
                email=invitation.email,
                password=password,
                specialty=(specialty or invitation.specialty or "").strip() or "General practice",
            )
            db.session.add(
                Membership(
                    doctor=user.doctor,
                    hospital=hospital,
                    department=invitation.department,
                    fee_minor=invitation.fee_minor,
                    status=MembershipStatus.active,
                    since=now,
                )
            )
        elif invitation.role == Role.staff:
            user = accounts.create_staff(
                hospital=hospital,
                kind=invitation.staff_kind or StaffKind.nurse,
                full_name=name,
                email=invitation.email,
                password=password,
            )
        else:
            user = accounts.create_hospital_admin(
                hospital=hospital, full_name=name, email=invitation.email, password=password
            )
    except EmailTaken as error:
        raise Conflict(
            N_("An account with this email was created meanwhile. Log in with it instead."), field="password"
        ) from error
    invitation.user = user
    db.session.flush()
    record_event(
        "accept",
        "invitation",
        invitation.id,
        hospital_id=hospital.id,
        user_id=user.id,
        detail=invitation.role.value,
    )
    if invitation.role == Role.doctor:
        record_event(
            "create", "membership", user.doctor.memberships[0].id, hospital_id=hospital.id, user_id=user.id
        )
    return user


def revoke_invitation(invitation: Invitation, actor: User) -> bool:
    """Withdraw an unused invitation; False when it was already used, withdrawn or expired."""
    if invitation.state(clock.now()) != InvitationState.pending:
        return False
    invitation.revoked_at = clock.now()
    invitation.open_email = None
    db.session.flush()
    record_event("revoke", "invitation", invitation.id, hospital_id=invitation.hospital_id, user_id=actor.id)
    return True
