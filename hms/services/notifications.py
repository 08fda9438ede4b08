"""Tell people what concerns them. `notify()` is the one entry point: it records the in-app notice
(the bell) and, following the user's preferences, puts an email and a text message in the outbox,
all in the caller's transaction, so that they exist only if the change does.

The appointment and hospital events are turned into notices here (`connect_subscribers()`, called
from create_app); other modules (billing, prescriptions, memberships) call `notify()` themselves."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from sqlalchemy import bindparam, func, select, update

from hms import clock, events, ical
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import (
    Appointment,
    Hospital,
    HospitalStatus,
    Notification,
    NotificationPreference,
    Role,
    User,
)
from hms.services import outbox, sms
from hms.services.errors import NotFound
from hms.templating import zoned_time


@dataclass(frozen=True)
class Kind:
    """A kind of notice, who can get it, and whether it goes by email / text unless the user says."""

    key: str
    label: str
    roles: tuple[Role, ...]
    email: bool = True
    sms: bool = False


_PATIENT, _DOCTOR, _ADMIN = Role.patient, Role.doctor, Role.hospital_admin

KINDS: dict[str, Kind] = {
    k.key: k
    for k in [
        Kind("appointment_booked", N_("Appointment booked"), (_PATIENT, _DOCTOR)),
        Kind("appointment_rescheduled", N_("Appointment moved"), (_PATIENT, _DOCTOR), sms=True),
        Kind("appointment_cancelled", N_("Appointment cancelled"), (_PATIENT, _DOCTOR), sms=True),
        Kind("appointment_reminder", N_("Appointment reminders"), (_PATIENT,), sms=True),
        Kind("chat_message", N_("New chat messages"), (_PATIENT, _DOCTOR), email=False),
        Kind("prescription_issued", N_("Prescriptions issued"), (_PATIENT,)),
        Kind("prescription_cancelled", N_("Prescriptions cancelled"), (_PATIENT,)),
        Kind("lab_result", N_("Laboratory results"), (_PATIENT, _DOCTOR)),
        Kind("bill_issued", N_("Bills issued"), (_PATIENT,)),
        Kind("bill_cancelled", N_("Bills cancelled"), (_PATIENT,)),
        Kind("payment_received", N_("Payments received"), (_PATIENT, _ADMIN)),
        Kind("refund_issued", N_("Refunds"), (_PATIENT,)),
        Kind("membership_changed", N_("Hospital memberships"), (_DOCTOR, _ADMIN)),
        Kind("hospital_status", N_("Hospital approval and suspension"), (_ADMIN,)),
    ]
}
_UNKNOWN_KIND = Kind("other", N_("Other notices"), tuple(Role))


def kinds_for(role: Role) -> list[Kind]:
    return [k for k in KINDS.values() if role in k.roles]


# ---------------------------------------------------------------- preferences


@dataclass(frozen=True)
class Channels:
    email: bool
    sms: bool


def channels_for(user: User, kind: str) -> Channels:
    """How notices of `kind` reach `user` besides the bell: his choice, else the kind's default."""
    return channels_for_users([user], kind)[user.id]


def channels_for_users(users: list[User], kind: str) -> dict[int, Channels]:
    """`channels_for` of several users at once (the patient and the doctor of a visit): one statement."""
    query = select(NotificationPreference).where(
        NotificationPreference.user_id.in_([u.id for u in users]), NotificationPreference.kind == kind
    )
    with db.session.no_autoflush:  # what the caller wrote so far cannot change a preference
        saved = {row.user_id: Channels(row.email, row.sms) for row in db.session.scalars(query)}
    default = KINDS.get(kind, _UNKNOWN_KIND)
    return {u.id: saved.get(u.id, Channels(default.email, default.sms)) for u in users}


def preferences(user: User) -> list[tuple[Kind, Channels]]:
    return [(kind, channels_for(user, kind.key)) for kind in kinds_for(user.role)]


def set_preferences(user: User, choices: dict[str, Channels]) -> None:
    """Save the user's choice per kind (only kinds his role can receive). Two saves at once (two tabs)
    take turns on the user's row, so the second finds the first's rows instead of inserting twice."""
    lock_rows((User, user.id))
    allowed = {k.key for k in kinds_for(user.role)}
    existing = {
        p.kind: p
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for key, channels in choices.items():
        if key not in allowed:
            continue
        row = existing.get(key)
        if row is None:
            row = NotificationPreference(user_id=user.id, kind=key)
            db.session.add(row)
        row.email, row.sms = channels.email, channels.sms
    db.session.flush()


# ---------------------------------------------------------------- notify


def public_url(path: str | None) -> str | None:
    """An absolute link for emails, built on the configured address (never the request's Host)."""
    if not path:
        return None
    return current_app.config["PUBLIC_URL"] + path


def _default_subject(text: str) -> str:
    first = text.split(". ")[0].strip().rstrip(".")
    return f"HMS: {first[:120]}"


def _default_body(user: User, text: str, link: str | None) -> str:
    with in_language_of(user):
        parts = [gettext("Hello %(name)s,", name=user.first_name), "", text]
        if link:
            parts += ["", public_url(link)]
        parts += [
            "",
            "-- ",
            gettext("HMS. Choose which notices reach you by email or text message:"),
            public_url("/notifications/preferences"),
        ]
    return "\n".join(parts) + "\n"


def notify(
    user: User,
    kind: str,
    text: str,
    link: str | None = None,
    *,
    subject: str | None = None,
    email_body: str | None = None,
    ics: str | None = None,
    hospital_id: int | None = None,
    in_app: bool = True,
    channels: Channels | None = None,
) -> Notification | None:
    """Tell `user` about something, in the caller's transaction: the in-app notice and, as the user
    chose for this kind, an email (with `ics` attached) and a text message (sent through the
    hospital's SMS account, or the platform's). `link` is a path inside HMS; the notice is dated on
    the clock of `hospital_id`, the hospital it is about. The rows go to the database with the
    transaction's next flush (at the latest its commit): the notice has no id before."""
    notice = None
    if in_app:
        hospital = db.session.get(Hospital, hospital_id) if hospital_id else None
        notice = Notification(
            user_id=user.id,
            kind=kind,
            text=text[:500],
            link=link,
            timezone=hospital.timezone if hospital else None,
        )
        db.session.add(notice)
    if not user.active:
        return notice
    channels = channels or channels_for(user, kind)
    if channels.email and user.email is None:
        # An account made at the front desk has no address yet: the text message says it instead.
        channels = Channels(email=False, sms=True)
    if channels.email:
        outbox.enqueue_email(
            to=user.email,
            subject=subject or _default_subject(text),
            body=email_body or _default_body(user, text, link),
            kind=kind,
            user_id=user.id,
            hospital_id=hospital_id,
            ics=ics,
        )
    if channels.sms:
        phone = sms.user_phone(user)
        if phone and sms.credentials_for(hospital_id) is not None:
            outbox.enqueue_sms(
                to=phone, body=f"HMS: {text}", kind=kind, user_id=user.id, hospital_id=hospital_id
            )
    return notice


def send_account_email(user: User, kind: str, subject: str, body: str) -> None:
    """Security mail about the account itself (password reset, password changed): always by email,
    whatever the preferences, and never in the bell. An account without an address gets none."""
    if user.email is None:
        return
    outbox.enqueue_email(to=user.email, subject=subject, body=body, kind=kind, user_id=user.id)


# ---------------------------------------------------------------- the bell and the list


# The bell's count, asked by every full page and every bell poll: built once per process (building it
# and its cache key on each call cost as much as running it).
_UNREAD_COUNT = select(func.count(Notification.id)).where(
    Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)
)


def unread_count(user: User) -> int:
    return db.session.scalar(_UNREAD_COUNT, {"user_id": user.id}) or 0


def list_notifications(user: User, page: int, per_page: int) -> tuple[list[Notification], int]:
    query = select(Notification).where(Notification.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Notification.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def users_notification(user: User, notification_id: int) -> Notification:
    notice = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )
    if notice is None:
        raise NotFound(N_("No such notification."))
    return notice


def mark_read(user: User, notification_id: int) -> Notification:
    notice = users_notification(user, notification_id)
    if notice.read_at is None:
        notice.read_at = clock.now()
        db.session.flush()
    return notice


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# ---------------------------------------------------------------- appointment and hospital events


def when_text(appointment: Appointment) -> str:
    """The appointment's start in its hospital's time zone, e.g. "Tue 03 Mar 2026 at 10:00 EAT", in
    the language of the moment (callers pick the recipient's with `in_language_of`)."""
    return zoned_time(appointment.start_at, appointment.hospital.tz)


def calendar_identity(appointment: Appointment, *, cancelled: bool) -> tuple[str, int]:
    """The calendar UID and SEQUENCE of an appointment, shared by emailed invitations, .ics
    downloads and feeds, so that every calendar sees one event that moves.

    Every state of the event has its own SEQUENCE, always higher for the newer one: the n-th booking of
    a reschedule chain is 2n while booked and 2n + 1 once cancelled (or moved away from). So after a move,
    the old booking's cancellation (2n + 1) is older than the new booking (2n + 2), and a calendar that
    imports both .ics files, in any order, keeps the new time."""
    root_id, depth = _chain(appointment)
    sender = current_app.config["MAIL_DEFAULT_SENDER"] or "no-reply@hms.local"
    domain = sender.rsplit("<", 1)[-1].strip(" >").rsplit("@", 1)[-1]
    return f"appointment-{root_id}@{domain}", 2 * depth + (1 if cancelled else 0)


def _chain(appointment: Appointment) -> tuple[int, int]:
    """(id of the first booking of a reschedule chain, number of moves since): the calendar UID and
    SEQUENCE, so that a calendar moves the event instead of adding another one."""
    root, depth = appointment, 0
    while root.rescheduled_from is not None and depth < 100:
        root, depth = root.rescheduled_from, depth + 1
    return root.id, depth


@dataclass(frozen=True)
class CalendarTexts:
    summary: str
    location: str
    description: str


def calendar_texts(appointment: Appointment, reader: User) -> CalendarTexts:
    """What a calendar shows of an appointment, in the reader's language (emails, downloads, feeds)."""
    hospital = appointment.hospital
    with in_language_of(reader):
        summary = gettext(
            "Appointment: Dr %(doctor)s / %(patient)s",
            doctor=appointment.doctor.name,
            patient=appointment.patient.name,
        )
        description = gettext(
            "%(specialty)s at %(hospital)s.", specialty=appointment.doctor.specialty, hospital=hospital.name
        )
        if appointment.reason:
            description += "\n" + gettext("Reason: %(reason)s", reason=appointment.reason)
    location = ", ".join(p for p in (hospital.name, hospital.address, hospital.city) if p)
    return CalendarTexts(summary, location, description)


def appointment_ics(appointment: Appointment, recipient: User, *, cancelled: bool = False) -> str:
    uid, sequence = calendar_identity(appointment, cancelled=cancelled)
    sender = current_app.config["MAIL_DEFAULT_SENDER"] or "no-reply@hms.local"
    organizer_email = sender.rsplit("<", 1)[-1].strip(" >")
    texts = calendar_texts(appointment, recipient)
    return ical.appointment_event(
        uid=uid,
        start=appointment.start_at,
        end=appointment.end_at,
        stamp=clock.now(),
        summary=texts.summary,
        location=texts.location,
        description=texts.description,
        organizer_name=appointment.hospital.name,
        organizer_email=organizer_email,
        attendee_name=recipient.full_name,
        attendee_email=recipient.email or "",
        sequence=sequence,
        cancelled=cancelled,
    )


def appointment_link(appointment: Appointment, user: User) -> str:
    """Where a notice about this appointment takes its patient or its doctor."""
    if user.role == Role.patient:
        return f"/patient/appointments/{appointment.id}"
    day = appointment.start_at.astimezone(appointment.hospital.tz).date()
    return f"/doctor/agenda?day={day.isoformat()}"


def _tell(
    appointment: Appointment,
    user: User,
    kind: str,
    text: str,
    *,
    cancelled: bool,
    own: bool,
    channels: Channels | None = None,
) -> None:
    notify(
        user,
        kind,
        text,
        link=appointment_link(appointment, user),
        ics=appointment_ics(appointment, user, cancelled=cancelled),
        hospital_id=appointment.hospital_id,
        in_app=not own,  # a confirmation of one's own action goes by email only
        channels=channels,
    )


def on_appointment_booked(appointment: Appointment, actor: User, **_: object) -> None:
    patient, doctor = appointment.patient.user, appointment.doctor.user
    hospital = appointment.hospital.name
    channels = channels_for_users([patient, doctor], "appointment_booked")
    with in_language_of(patient):
        text = gettext(
            "Your appointment with Dr %(doctor)s at %(hospital)s on %(when)s is booked.",
            doctor=doctor.full_name,
            hospital=hospital,
            when=when_text(appointment),
        )
    own = actor.id == patient.id
    _tell(
        appointment,
        patient,
        "appointment_booked",
        text,
        cancelled=False,
        own=own,
        channels=channels[patient.id],
    )
    if actor.id != doctor.id:
        with in_language_of(doctor):
            text = gettext(
                "New appointment: %(patient)s at %(hospital)s on %(when)s.",
                patient=patient.full_name,
                hospital=hospital,
                when=when_text(appointment),
            )
        _tell(
            appointment,
            doctor,
            "appointment_booked",
            text,
            cancelled=False,
            own=False,
            channels=channels[doctor.id],
        )


def on_appointment_rescheduled(appointment: Appointment, old: Appointment, actor: User, **_: object) -> None:
    patient, doctor = appointment.patient.user, appointment.doctor.user
    with in_language_of(patient):
        text = gettext(
            "Your appointment with Dr %(doctor)s moved from %(before)s to %(after)s.",
            doctor=doctor.full_name,
            before=when_text(old),
            after=when_text(appointment),
        )
    _tell(appointment, patient, "appointment_rescheduled", text, cancelled=False, own=actor.id == patient.id)
    if actor.id != doctor.id:
        with in_language_of(doctor):
            text = gettext(
                "%(patient)s's appointment moved from %(before)s to %(after)s.",
                patient=patient.full_name,
                before=when_text(old),
                after=when_text(appointment),
            )
        _tell(appointment, doctor, "appointment_rescheduled", text, cancelled=False, own=False)


def on_appointment_cancelled(appointment: Appointment, actor: User, reason: str = "", **_: object) -> None:
    patient, doctor = appointment.patient.user, appointment.doctor.user
    with in_language_of(patient):
        names = {"doctor": doctor.full_name, "when": when_text(appointment)}
        if actor.id == patient.id:
            patient_text = gettext("You cancelled your appointment with Dr %(doctor)s on %(when)s.", **names)
        elif reason:
            patient_text = gettext(
                "Your appointment with Dr %(doctor)s on %(when)s was cancelled: %(reason)s",
                reason=reason,
                **names,
            )
        else:
            patient_text = gettext("Your appointment with Dr %(doctor)s on %(when)s was cancelled.", **names)
    _tell(
        appointment,
        patient,
        "appointment_cancelled",
        patient_text,
        cancelled=True,
        own=actor.id == patient.id,
    )
    if actor.id != doctor.id:
        with in_language_of(doctor):
            text = gettext(
                "The appointment with %(patient)s on %(when)s was cancelled.",
                patient=patient.full_name,
                when=when_text(appointment),
            )
        _tell(appointment, doctor, "appointment_cancelled", text, cancelled=True, own=False)


def on_hospital_status_changed(hospital: Hospital, actor: User, status: HospitalStatus, **_: object) -> None:
    message = {
        HospitalStatus.active: N_("%(name)s is approved: doctors can now take bookings there."),
        HospitalStatus.suspended: N_("%(name)s is suspended: it takes no new bookings for now."),
    }.get(status)
    if message is None:
        return
    for admin in hospital.admins:
        with in_language_of(admin.user):
            text = gettext(message, name=hospital.name)
        notify(admin.user, "hospital_status", text, link="/hospital/", hospital_id=hospital.id)


def connect_subscribers() -> None:
    """Subscribe to the domain events (idempotent: blinker keeps one connection per receiver)."""
    events.appointment_booked.connect(on_appointment_booked)
    events.appointment_rescheduled.connect(on_appointment_rescheduled)
    events.appointment_cancelled.connect(on_appointment_cancelled)
    events.hospital_status_changed.connect(on_hospital_status_changed)
