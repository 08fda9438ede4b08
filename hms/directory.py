"""The doctor directory and the slot picker, shared by the public pages (anyone, no account) and the
patient's own (who books): one search, one picker, drawn by the same templates. The public picker's
"Book" asks to log in or register and then returns to the patient's picker with the chosen time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import abort
from sqlalchemy import select

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.forms import attach_error
from hms.htmx import is_htmx, render
from hms.models import Hospital, HospitalStatus, Membership
from hms.patient.forms import DoctorSearchForm
from hms.services import scheduling
from hms.services.errors import DomainError

PER_PAGE = 10


def search_page(blueprint: str):  # type: ignore[no-untyped-def]
    """The doctor search (the whole page, or only its results for the debounced HTMX search), each
    doctor with his next free time. `blueprint` names where the links lead ("public" or "patient")."""
    form = DoctorSearchForm(query_args.cleaned())
    form.validate()
    hospital_id = query_args.record_id("hospital")
    page = form.page.data if not form.page.errors and form.page.data else 1
    memberships, total = scheduling.search_doctors(
        text=form.q.data or "" if not form.q.errors else "",
        specialty=form.specialty.data or "" if not form.specialty.errors else "",
        city=form.city.data or "" if not form.city.errors else "",
        hospital_id=hospital_id,
        page=page,
        per_page=PER_PAGE,
    )
    results_only = is_htmx()  # the debounced search swaps the results: no lists for the form's fields
    hospitals = (
        []
        if results_only
        else db.session.scalars(
            select(Hospital).where(Hospital.status == HospitalStatus.active).order_by(Hospital.name)
        ).all()
    )
    return render(
        "patient/find_doctors.html",
        "results",
        bp=blueprint,
        form=form,
        memberships=memberships,
        next_free=scheduling.next_free_slots(memberships),
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        args=query_args.without("page"),
        hospitals=hospitals,
        hospital_id=hospital_id,
        specialties=[] if results_only else scheduling.specialties(),
    )


def bookable_or_404(doctor_id: int, hospital_id: int) -> Membership:
    membership = scheduling.bookable_membership(doctor_id, hospital_id)
    if membership is None:
        abort(404)
    return membership


def picker_card_or_404(doctor_id: int, hospital_id: int) -> scheduling.PickerCard:
    """The doctor at the hospital as the picker's pages (which only read) show him, else 404."""
    card = scheduling.picker_card(doctor_id, hospital_id)
    if card is None:
        abort(404)
    return card


def _first_day(strip: list[tuple[date, int]], preferred: date | None) -> date:
    """The day asked for in ?day= (else `preferred`, e.g. the day of the visit being moved) when the
    strip shows it, else the first day with a free time, else the strip's first day."""
    first, last = strip[0][0], strip[-1][0]
    for day in (query_args.day("day"), preferred):
        if day is not None and first <= day <= last:
            return day
    return next((d for d, count in strip if count), first)


def picker_context(  # type: ignore[no-untyped-def]
    membership: Membership | scheduling.PickerCard,
    day: date | None = None,
    *,
    fragment: bool = False,
    preferred: date | None = None,
    keep_key: str | None = None,
    **extra,
):
    """The strip of days and one day's times, from one calendar read once for the strip's range. The
    picker's day `fragment` (one day of the strip, asked by HTMX) gets only that day's times. Taken
    times are left out, except `taken_key` (the one just refused, shown struck) and `keep_key` (the
    visit being moved, shown as the current one)."""
    hospital = membership.hospital
    now = clock.now()
    today = scheduling.local_today(hospital, now)
    calendar = scheduling.calendar_for(membership, today, today + timedelta(days=scheduling.PICKER_DAYS - 1))
    asked = query_args.day("day") if day is None else None
    if fragment and asked is not None and calendar.covers(asked):
        day, strip = asked, []  # the fragment shows no strip: no need to count every day's times
    else:
        strip = calendar.strip(now)
        day = day or _first_day(strip, preferred)
    slots = (
        calendar.slots(day, now)
        if calendar.covers(day)
        else scheduling.day_slots(membership.doctor_id, hospital, day, now)
    )
    refused = extra.pop("refused", None)
    if refused is not None:  # a time taken meanwhile: the nearest free ones, from this calendar
        extra["alternatives"] = refused.nearest_in(calendar, now)
    shown = {extra.get("taken_key"), keep_key}
    return {
        "membership": membership,
        "doctor": membership.doctor,
        "hospital": hospital,
        "strip": strip,
        "day": day,
        "slots": [s for s in slots if s.free or s.key in shown],
        "keep_key": keep_key,
        "tz_label": tz_label(hospital, day),
    } | extra


def refusal(form, error: DomainError) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    """A refused booking or move, for the picker shown again: the transaction rolled back, the error on
    the form, and the answer's status with what the picker adds: for a time taken meanwhile, 409 with
    that time struck and the nearest free ones (`picker_context` takes them from its calendar); else
    the error's 409 or 422."""
    db.session.rollback()
    attach_error(form, error)
    if isinstance(error, scheduling.SlotTaken):
        return 409, {"taken_key": form.slot.data, "refused": error}
    return (error.status if error.status in (409, 422) else 422), {}


def tz_label(hospital: Hospital, day: date) -> str:
    """How the picker names its time zone, e.g. "Africa/Nairobi (EAT, UTC+03:00)"."""
    moment = datetime.combine(day, time(12), tzinfo=hospital.tz)
    offset = moment.strftime("%z")
    return f"{hospital.timezone.replace('_', ' ')} ({moment.tzname()}, UTC{offset[:3]}:{offset[3:]})"
