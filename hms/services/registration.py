"""Registration confirmed by email, so that the form says nothing about which addresses have accounts.

Sending the form (patient, doctor or hospital) checks it, hashes the password and answers "we sent you a
link" in every case. When the address is new, a pending registration is stored and the link to finish it
is emailed; when the address already has an account, its owner is emailed instead ("someone tried to
register with your address: log in, or reset your password"). Both ways do the same work: the same checks,
one password hash, one email queued. The account is made only when the link is opened, by whoever can
read that inbox, so nobody can hold an address he does not own (no pre-registration of someone else's
email). At most REGISTRATION_MAILS_PER_HOUR such emails go to one address an hour."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import Hospital, OutboxEmail, PendingRegistration, Role, Sex, User
from hms.models.users import normalize_email
from hms.services import accounts, one_time, passwords
from hms.services.errors import EmailTaken, Invalid
from hms.services.notifications import public_url
from hms.services.outbox import enqueue_email

MAIL_KINDS = ("registration", "registration_taken")
ROLES = (Role.patient, Role.doctor, Role.hospital_admin)
NEXT_KEY = "_next"


class RegistrationLinkInvalid(Invalid):
    def __init__(self) -> None:
        super().__init__(N_("This link has expired or was already used. Register again to get a new one."))


_token_hash = one_time.hash_token


def _check(role: Role, fields: dict) -> None:
    """The rules of the account to be made, checked now (so the form shows them) and again when made."""
    if role == Role.patient and fields["date_of_birth"] > clock.now().date():
        raise Invalid(N_("The date of birth cannot be in the future."), field="date_of_birth")


def start_registration(
    role: Role, email: str, password: str, fields: dict, next_url: str | None = None
) -> None:
    """Check the form's values and email the address: the link to finish, or a note to the owner when
    it already has an account. Raises Invalid for a bad value (the same for every address). Flushes.
    `next_url` (a path on this site, already checked) is where the new account starts once confirmed."""
    if role not in ROLES:
        raise ValueError(role)
    email = normalize_email(email)
    problem = passwords.password_problem(password, email)
    if problem:
        raise Invalid(problem, field="password")
    _check(role, fields)
    password_hash = passwords.hash_password(password)
    owner = accounts.find_user_by_email(email)
    now = clock.now()
    recent = db.session.scalar(
        select(func.count(OutboxEmail.id)).where(
            OutboxEmail.to == email,
            OutboxEmail.kind.in_(MAIL_KINDS),
            OutboxEmail.created_at > now - timedelta(hours=1),
        )
    )
    if recent >= current_app.config["REGISTRATION_MAILS_PER_HOUR"]:
        return  # no mail bombing of one inbox through the form
    if owner is not None:
        _tell_the_owner(owner)
        return
    token = secrets.token_urlsafe(32)
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    payload = {
        k: (v.isoformat() if isinstance(v, date) else getattr(v, "value", v)) for k, v in fields.items()
    }
    payload["password_hash"] = password_hash
    if next_url:
        payload[NEXT_KEY] = next_url
    db.session.add(
        PendingRegistration(
            token_hash=_token_hash(token),
            email=email,
            role=role.value,
            payload=json.dumps(payload),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    subject = gettext("HMS: finish creating your account")
    body = (
        gettext(
            "Hello %(name)s,", name=(fields.get("full_name") or fields.get("admin_name") or "").split(" ")[0]
        )
        + "\n\n"
        + gettext("Open this link within %(num)d hours to finish creating your HMS account:", num=hours)
        + f"\n\n{public_url('/register/confirm/' + token)}\n\n"
        + gettext("If you did not ask for an account, ignore this email: nothing is made without this link.")
        + "\n"
    )
    enqueue_email(to=email, subject=subject, body=body, kind="registration")
    db.session.flush()


def _tell_the_owner(owner: User) -> None:
    with in_language_of(owner):
        subject = gettext("HMS: you already have an account")
        body = (
            gettext("Hello %(name)s,", name=owner.first_name)
            + "\n\n"
            + gettext(
                "Someone (we hope you) tried to register at HMS with this email address, which already has "
                "an account. Nothing was changed."
            )
            + "\n\n"
            + gettext("Log in: %(url)s", url=public_url("/login"))
            + "\n"
            + gettext("Forgot your password? %(url)s", url=public_url("/forgot-password"))
            + "\n"
        )
    enqueue_email(to=owner.email, subject=subject, body=body, kind="registration_taken", user_id=owner.id)


def pending(token: str) -> PendingRegistration:
    """The registration this link finishes, while it can; RegistrationLinkInvalid otherwise."""
    if not token or len(token) > 128:
        raise RegistrationLinkInvalid()
    row = db.session.scalar(
        select(PendingRegistration).where(PendingRegistration.token_hash == _token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        raise RegistrationLinkInvalid()
    return row


def next_url(row: PendingRegistration) -> str | None:
    """Where the registration started from, e.g. the doctor's page with the time chosen before."""
    return json.loads(row.payload).get(NEXT_KEY)


def confirm_registration(token: str) -> User:
    """Make the account of a pending registration (once, even when the link is opened twice at once).
    EmailTaken when the address got an account meanwhile. Flushes."""
    row = pending(token)
    if not one_time.use_once(PendingRegistration, row.id, clock.now()):
        raise RegistrationLinkInvalid()
    data = json.loads(row.payload)
    data.pop(NEXT_KEY, None)
    password = passwords.Hashed(data.pop("password_hash"))
    role = Role(row.role)
    if role == Role.patient:
        data["date_of_birth"] = date.fromisoformat(data["date_of_birth"])
        data["sex"] = Sex(data["sex"])
        _check(role, data)
        return accounts.register_patient(email=row.email, password=password, **data)
    if role == Role.doctor:
        return accounts.register_doctor(email=row.email, password=password, **data)
    hospital: Hospital = accounts.register_hospital(admin_email=row.email, admin_password=password, **data)
    return hospital.admins[0].user


def purge_expired() -> int:
    """Forget registrations whose link has expired or was used a day ago (the worker's housekeeping)."""
    from sqlalchemy import delete, or_

    cutoff = clock.now() - timedelta(days=1)
    result = db.session.execute(
        delete(PendingRegistration)
        .where(or_(PendingRegistration.expires_at <= cutoff, PendingRegistration.used_at <= cutoff))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


__all__ = ["EmailTaken", "RegistrationLinkInvalid", "confirm_registration", "start_registration"]
