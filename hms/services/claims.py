"""Claiming an account registered at the front desk: the desk sends a one-time link (by email when it
has the patient's address, else by SMS through the outbox); the link's page sets his email (when the
desk had none) and password on the same user row, so nothing he had moves. Only a SHA-256 of the token
is stored; a link expires, works once, and a newer one ends the older ones. An email that belongs to a
patient who registered online himself is refused and flagged on the desk's record (a merge is due)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import func, select, update

from hms import clock
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import AccountClaim, Hospital, Patient, Role, User
from hms.models.messaging import Channel
from hms.models.users import normalize_email
from hms.services import one_time, passwords, sms
from hms.services.accounts import find_user_by_email
from hms.services.audit import record_event
from hms.services.errors import Conflict, DomainError, Invalid
from hms.services.notifications import public_url
from hms.services.outbox import enqueue_email, enqueue_sms

CLAIM_DAYS = 7
MAX_CLAIMS_PER_DAY = 3  # per patient: a desk cannot flood one phone or mailbox
KIND = "account_claim"


class ClaimLinkGone(DomainError):
    """An expired, used or replaced link (410: it existed, and will not work again)."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            N_("This link has expired or was already used. Ask the hospital's desk for a new one.")
        )


class OnlineAccountExists(Conflict):
    """The email belongs to a patient who registered online: no second account; the records should be
    merged by the desk."""

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This email already belongs to a patient account registered online. No second account "
                "is made: the hospital's desk will merge the two records. Log in with that account."
            ),
            field="email",
        )


token_hash = one_time.hash_token


def is_claimable(user: User) -> bool:
    return user.role == Role.patient and user.password_hash is None


def _check_email(patient: Patient, email: str) -> str:
    """The address normalized, when no other account has it. An online patient's: flagged on the
    desk's record as a likely duplicate (the caller commits that) and refused."""
    email = normalize_email(email or "")
    if not email or "@" not in email or len(email) > 254:
        raise Invalid(N_("Enter a valid email address."), field="email")
    other = find_user_by_email(email)
    if other is None or other.id == patient.user_id:
        return email
    if other.role == Role.patient:
        patient.duplicate_user_id = other.id
        record_event(
            "flag_duplicate",
            "patient",
            patient.id,
            patient_id=patient.id,
            detail=f"online account {other.id}",
        )
        raise OnlineAccountExists()
    raise Conflict(N_("An account with this email already exists."), field="email")


def send_claim_invitation(
    hospital: Hospital, patient: Patient, actor: User, email: str | None = None
) -> AccountClaim:
    """Send (queue) the link: by email to `email` or the address the desk has, else by SMS to his
    phone. Earlier links stop working. At most MAX_CLAIMS_PER_DAY a day. Flushes; the caller commits
    (also after OnlineAccountExists, to keep the duplicate flag)."""
    user = patient.user
    if not is_claimable(user):
        raise Conflict(N_("This patient has already claimed his account."))
    if email:
        user.email = _check_email(patient, email)
    now = clock.now()
    recent = db.session.scalar(
        select(func.count(AccountClaim.id)).where(
            AccountClaim.user_id == user.id, AccountClaim.created_at > now - timedelta(days=1)
        )
    )
    if recent and recent >= MAX_CLAIMS_PER_DAY:
        raise Conflict(N_("Three invitations were sent in the last day. Try again tomorrow."))
    phone = sms.user_phone(user)
    if user.email is None and phone is None:
        raise Invalid(
            N_("No email and no phone number in international form (+…): enter his email."), field="email"
        )
    _end_open_links(user, now)
    token = secrets.token_urlsafe(32)
    channel = Channel.email if user.email else Channel.sms
    claim = AccountClaim(
        user_id=user.id,
        hospital_id=hospital.id,
        sent_by_id=actor.id,
        channel=channel,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=CLAIM_DAYS),
    )
    db.session.add(claim)
    link = public_url("/claim/" + token)
    with in_language_of(user):
        if channel == Channel.email:
            enqueue_email(
                to=user.email,
                subject=gettext("HMS: your account at %(hospital)s", hospital=hospital.name),
                body=gettext("Hello %(name)s,", name=user.first_name)
                + "\n\n"
                + gettext(
                    "%(hospital)s registered you at its desk. Open this link within %(num)d days to choose "
                    "your password and see your visits online:",
                    hospital=hospital.name,
                    num=CLAIM_DAYS,
                )
                + f"\n\n{link}\n\n"
                + gettext("The link works once.")
                + "\n",
                kind=KIND,
                user_id=user.id,
            )
        else:
            enqueue_sms(
                to=phone,
                body=gettext(
                    "%(hospital)s: set up your HMS account (link valid %(num)d days):",
                    hospital=hospital.name,
                    num=CLAIM_DAYS,
                )
                + f" {link}",
                kind=KIND,
                user_id=user.id,
                hospital_id=hospital.id,
            )
    db.session.flush()
    record_event(
        "send_claim_link",
        "user",
        user.id,
        patient_id=patient.id,
        hospital_id=hospital.id,
        user_id=actor.id,
        detail=channel.value,
    )
    return claim


def _end_open_links(user: User, now) -> None:  # type: ignore[no-untyped-def]
    db.session.execute(
        update(AccountClaim)
        .where(AccountClaim.user_id == user.id, AccountClaim.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def find_claim(token: str) -> AccountClaim | None:
    """The link's claim (None: no such link, a 404); raises ClaimLinkGone when it no longer works."""
    claim = db.session.scalar(select(AccountClaim).where(AccountClaim.token_hash == token_hash(token or "")))
    if claim is None:
        return None
    if not claim.is_usable(clock.now()) or not is_claimable(claim.user):
        raise ClaimLinkGone()
    return claim


def claim_account(token: str, *, email: str | None, password: str) -> User:
    """Set the email (when the desk had none) and the password on the same user: he can log in from
    now on. The link is used up even when two requests race (one UPDATE finds it unused). Flushes;
    the caller commits (also after OnlineAccountExists, to keep the duplicate flag)."""
    claim = find_claim(token)
    if claim is None:
        raise ClaimLinkGone()
    user = claim.user
    patient = user.patient
    if user.email is None:
        user.email = _check_email(patient, email or "")
    problem = passwords.password_problem(password, user.email)
    if problem:
        raise Invalid(problem, field="password")
    now = clock.now()
    if not one_time.use_once(AccountClaim, claim.id, now):
        raise ClaimLinkGone()
    user.password_hash = passwords.hash_password(password)
    db.session.flush()
    record_event("claim_account", "user", user.id, patient_id=patient.id, user_id=user.id)
    return user
