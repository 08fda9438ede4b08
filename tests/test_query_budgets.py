"""SQL statement budgets per request, counted exactly (a SQLAlchemy event listener, tests/statements.py),
on a busy hospital. Counts are exact, so these are safe in CI, unlike timings. Also: a page view writes
nothing but its audit events, and no list grows its statement count with its rows (no N+1)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.services import api_tokens, scheduling
from tests import busy_hospital
from tests.statements import recorded

HX = {"HX-Request": "true"}
DESK_SEARCH_BUDGET = 3  # the signed-in user and his staff record, the search itself
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)", re.IGNORECASE)


@pytest.fixture
def busy(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        return busy_hospital.build()


def statements(client, path: str, *, method: str = "GET", **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    """The statements of one request, after a first one that warms what a first request does once."""
    client.open(path, method=method, **kwargs) if method == "GET" else None
    with recorded() as seen:
        response = client.open(path, method=method, **kwargs)
    assert response.status_code < 400, (path, response.status_code, response.data[:300])
    return seen


def statement_lines(seen: list[str], width: int = 150, indent: str = "") -> str:
    """The statements, one a line with its whitespace folded, cut to `width`: a failure's message."""
    return "\n".join(indent + " ".join(s.split())[:width] for s in seen)


def only_audit_writes(seen: list[str]) -> list[str]:
    return [s for s in seen if WRITE.match(s) and "audit_events" not in s]


def picker_paths(busy) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    page = f"/patient/doctors/{busy.doctor.doctor.id}/at/{busy.hospital.id}"
    day = scheduling.local_today(busy.hospital) + timedelta(days=2)
    return page, f"{page}?day={day.isoformat()}"


@pytest.mark.parametrize(
    ("who", "path", "headers", "budget"),
    [
        # Issue 18 asked for at most 4 (fragment), 6 (doctor page), 5 (dashboard), 6 (agenda) and 8
        # (hospital admin); these are what the pages take now, so that a statement more shows here.
        # A full page reads the bell's count with the session, in one statement.
        ("patient", "picker-day", HX, 3),  # session; membership and hours; appointments and time off
        ("patient", "picker", {}, 3),  # the doctor's page with the 14-day strip: the same three
        ("patient", "/patient/", {}, 3),
        ("patient", "/patient/doctors", {}, 6),  # search, lists for its fields, next free times (2)
        ("patient", "/patient/doctors?q=a", HX, 4),  # its live results
        ("doctor", "/doctor/agenda", {}, 4),
        ("doctor", "/doctor/agenda?view=week", {}, 5),
        ("admin", "/hospital/", {}, 7),  # the lab's critical count rides with the stock badges
        ("admin", "/hospital/appointments", {}, 6),
    ],
)
def test_pages_stay_within_their_statement_budget(client, login_as, busy, who, path, headers, budget):
    login_as({"patient": busy.patient, "doctor": busy.doctor, "admin": busy.admin}[who])
    page, day = picker_paths(busy)
    path = {"picker": page, "picker-day": day}.get(path, path)
    seen = statements(client, path, headers=headers)
    listing = statement_lines(seen)
    assert len(seen) <= budget, f"{path}: {len(seen)} statements > {budget}\n{listing}"
    assert only_audit_writes(seen) == [], f"a page view wrote:\n{listing}"


def test_the_signed_in_user_and_his_session_are_read_once_and_not_written(client, login_as, busy):
    login_as(busy.patient)
    seen = statements(client, "/patient/")
    assert sum("FROM user_sessions" in s for s in seen) == 1
    assert sum("FROM users" in s for s in seen) <= 1  # joined into the session's statement
    assert not any(WRITE.match(s) for s in seen)


def test_a_full_page_and_the_bells_poll_read_the_bells_count_with_the_session(client, login_as, busy, make):
    """One statement reads the session, the user, his profile and his unread count; a fragment, which
    shows no bell, does not count; the count read first is the count (GET writes nothing else)."""
    from hms.services import notifications

    login_as(busy.patient)
    for i in range(3):
        notifications.notify(busy.patient, "bill_issued", f"Bill {i}")
    notice = notifications.notify(busy.patient, "x", "read already")
    db.session.flush()  # a notice goes to the database with the transaction's next flush
    notifications.mark_read(busy.patient, notice.id)
    db.session.commit()
    unread = notifications.unread_count(busy.patient)
    assert unread >= 3
    for path, headers in (("/patient/", {}), ("/notifications/bell", HX)):
        seen = statements(client, path, headers=headers)
        assert sum("notifications" in s for s in seen) == 1, seen
        assert "user_sessions" in next(s for s in seen if "notifications" in s)
        assert f'data-unread="{unread}"'.encode() in client.get(path, headers=headers).data
    page, day = picker_paths(busy)
    seen = statements(client, day, headers=HX)
    assert not any("notifications" in s for s in seen), seen


def test_the_pickers_search_and_bell_fragments_read_the_session_without_the_profile(client, login_as, busy):
    """The fragments asked for over and over (the bell's poll, the search's results, the picker's days)
    never use the patient's row: the session's statement leaves it out, and nothing reads it later; a
    full page, whose shell uses it, reads it with the session."""
    login_as(busy.patient)
    page, day = picker_paths(busy)
    for path, headers in ((day, HX), ("/patient/doctors?q=a", HX), ("/notifications/bell", HX)):
        seen = statements(client, path, headers=headers)
        assert "user_sessions" in seen[0]
        assert not any("patients" in s for s in seen), (path, seen)
    for path in (page, "/patient/doctors"):
        seen = statements(client, path)
        assert "user_sessions" in seen[0] and "patients" in seen[0], (path, seen)


def test_the_session_is_touched_at_most_once_a_minute_and_never_by_a_poll(client, login_as, busy):
    from hms.models import UserSession

    login_as(busy.patient)
    start = clock.now()
    clock.set_frozen(start + timedelta(seconds=30))
    with recorded() as seen:
        client.get("/patient/")
    assert not any(WRITE.match(s) for s in seen)  # within the minute: no write
    clock.set_frozen(start + timedelta(minutes=2))
    with recorded() as seen:
        client.get("/notifications/bell")  # a background poll
    assert not any(WRITE.match(s) for s in seen)
    with recorded() as seen:
        client.get("/patient/")
    assert sum(bool(WRITE.match(s)) for s in seen) == 1  # one UPDATE, after the answer
    db.session.rollback()
    row = db.session.query(UserSession).filter_by(user_id=busy.patient.id).one()
    assert abs(row.last_seen_at - (start + timedelta(minutes=2))) < timedelta(seconds=1)  # MariaDB: seconds


def test_booking_stays_within_its_budget(client, login_as, busy):
    login_as(busy.patient)
    page, _day = picker_paths(busy)
    html = client.get(page).get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html).group(1)
    slot = re.search(r'name="slot" value="([^"]+)"', html).group(1)
    with recorded() as seen:
        response = client.post(
            page + "/book", data={"slot": slot, "reason": "Cough for a week", "key": key}, headers=HX
        )
    assert response.status_code == 200, response.data[:300]
    listing = statement_lines(seen, 400)
    print(f"booking: {len(seen)} statements")
    assert len(seen) <= 15, f"booking: {len(seen)} statements > 15\n{listing}"


def test_fhir_search_pages_stay_within_budget_whatever_their_size(app, client, busy, monkeypatch):
    """≤ 6 statements for a page of 1 and a page of 50 alike (every row's audit event in one INSERT)."""
    monkeypatch.setitem(app.config, "FHIR_RATE_LIMIT", "10000 per minute")
    for user in (busy.patient, busy.doctor, busy.admin, busy.super_admin):
        _token, secret = api_tokens.create_api_token(user, "Budget")
        db.session.commit()
        bearer = {"Authorization": f"Bearer {secret}"}
        for resource in ("Patient", "Appointment", "Encounter", "Condition", "MedicationRequest",
                         "Invoice", "Practitioner", "PractitionerRole", "Schedule", "Observation",
                         "Organization", "ServiceRequest", "Specimen", "DiagnosticReport",
                         "Location"):  # fmt: skip
            counts = {}
            for size in (1, 50):
                path = f"/fhir/{resource}?_count={size}"
                client.get(path, headers=bearer)
                with recorded() as seen:
                    response = client.get(path, headers=bearer)
                if response.status_code == 403:
                    break
                assert response.status_code == 200, (path, response.data[:200])
                counts[size] = len(seen)
                listing = statement_lines(seen)
                assert len(seen) <= 6, f"{user.role} {path}: {len(seen)} > 6\n{listing}"
            if counts:
                assert counts[1] == counts[50], f"{user.role} {resource}: {counts}"


def _pages(busy) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    page, day = picker_paths(busy)
    return {
        "patient": (
            busy.patient,
            ["/patient/", "/patient/appointments", "/patient/bills", "/patient/doctors", page, day],
        ),
        "doctor": (
            busy.doctor,
            ["/doctor/", "/doctor/agenda", "/doctor/agenda?view=week", "/doctor/patients"],
        ),
        "admin": (
            busy.admin,
            [
                "/hospital/",
                "/hospital/appointments",
                "/hospital/patients",
                "/hospital/doctors",
                "/hospital/bills",
            ],
        ),
        "staff": (busy.receptionist, ["/staff/", "/staff/bills"]),
        "super_admin": (
            busy.super_admin,
            ["/admin/", "/admin/hospitals", "/admin/doctors", "/admin/patients"],
        ),
    }


def test_no_list_sends_more_statements_when_it_shows_more_rows(client, login_as, busy, make):
    """Double what the lists show (visits, patients, bills, doctors): every page's count stays the same."""
    before = {}
    for role, (user, paths) in _pages(busy).items():
        login_as(user)
        for path in paths:
            before[(role, path)] = len(statements(client, path))
    more_doctors = [make.doctor_at(busy.hospital) for _ in range(3)]
    for n in range(40):
        patient = make.patient()
        doctor = [busy.doctor, *more_doctors][n % 4]
        visit = make.appointment(
            patient,
            doctor,
            busy.hospital,
            # minute 7: the busy hospital's visits start on :00, :15 and :30, so none can collide
            clock.now().replace(minute=7, second=0, microsecond=0) + timedelta(hours=n + 1),
        )
        make.consultation_bill(visit)
    after = {}
    for role, (user, paths) in _pages(busy).items():
        login_as(user)
        for path in paths:
            after[(role, path)] = len(statements(client, path))
    grew = {k: (before[k], after[k]) for k in before if after[k] > before[k]}
    assert grew == {}, f"statements grew with the rows (N+1): {grew}"


def test_the_desk_search_reads_a_fixed_number_of_statements(client, login_as, make):
    """The registration desk's live results: the same few statements for 1 patient found or 20 of 40."""
    hospital = make.hospital()
    login_as(make.staff(hospital))
    path = "/staff/desk?q=amina"

    def amina(n: int) -> None:
        user = make.patient(name=f"Amina Number{n}")
        if n % 2:
            user.patient.registered_hospital_id = hospital.id
            db.session.commit()
        else:
            make.appointment(user, hospital_row=hospital)

    amina(1)
    one = statements(client, path, headers=HX)
    assert "Amina Number1" in client.get(path, headers=HX).get_data(as_text=True)
    for n in range(2, 42):
        amina(n)
    many = statements(client, path, headers=HX)
    listing = statement_lines(many)
    assert len(many) == len(one) <= DESK_SEARCH_BUDGET, listing
    assert only_audit_writes(many) == []


TRIAGE_LIST_BUDGET = 6  # the user and session, her staff record and hospital, the visits, their latest vitals


def test_the_triage_list_reads_a_fixed_number_of_statements(client, login_as, make):
    """The nurse's triage list: the same few statements for 1 checked-in patient or 30, half triaged."""
    hospital = make.hospital()
    nurse = make.nurse(hospital)
    login_as(nurse)

    def arrive(n: int) -> None:
        visit = make.checked_in(hospital, make.patient(name=f"Waiting Number{n}"))
        if n % 2:
            make.vitals(visit, nurse, triage_level=1 + n % 5)

    arrive(1)
    one = statements(client, "/staff/triage")
    for n in range(2, 31):
        arrive(n)
    many = statements(client, "/staff/triage")
    assert "Waiting Number30" in client.get("/staff/triage").get_data(as_text=True)
    listing = statement_lines(many)
    assert len(many) == len(one) <= TRIAGE_LIST_BUDGET, listing
    assert only_audit_writes(many) == []


DESK_PICKER_DAY_BUDGET = 5  # the user, his hospital, the patient seen here, the membership, the day


def test_the_desk_picker_day_reads_a_fixed_number_of_statements(client, login_as, busy):
    """A phone booking's slot picker (the day strip's fragment) at the desk: as few statements as the
    patient's own picker, plus the desk's check that the patient is seen at this hospital."""
    login_as(busy.admin)
    day = scheduling.local_today(busy.hospital) + timedelta(days=2)
    patient, doctor = busy.patient.patient.id, busy.doctor.doctor.id
    path = f"/hospital/desk/patients/{patient}/book/{doctor}?day={day.isoformat()}"
    seen = statements(client, path, headers=HX)
    listing = statement_lines(seen)
    assert len(seen) <= DESK_PICKER_DAY_BUDGET, f"{len(seen)}\n{listing}"
    assert only_audit_writes(seen) == [], listing


BOARD_BUDGET = 3  # the user with his session, the board's stamp (one aggregate), its cards
BOARD_NOT_MODIFIED_BUDGET = 2  # the user and the stamp: an unchanged poll never reads the cards


def test_the_flow_board_poll_reads_a_fixed_number_of_statements(client, login_as, make):
    """The board's fragment, polled every 5 s by every open board: the same statements for 1 card or 30
    (in every column, urgent ones too), and fewer still for the 304 of an unchanged board."""
    from hms.models import FlowState, QueuePriority, StaffKind
    from hms.services import flow

    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    doctors = [make.doctor_at(hospital) for _ in range(3)]
    for doctor in doctors:
        make.schedule(doctor, hospital, start="00:00", end="23:45", slot_minutes=15)
    # Early in the hospital's day, so that 10 walk-ins per doctor find free time whatever the hour the
    # suite runs (at 21:30 in Nairobi they did not: CI at 18:30 UTC).
    clock.set_frozen(datetime.combine(clock.now().date(), time(1, 7), tzinfo=UTC))
    login_as(receptionist)
    path = "/staff/flow/board"
    states = [s for s in FlowState if s != FlowState.waiting]

    def walk_in(n: int) -> None:
        entry = flow.join_queue(
            hospital=hospital,
            patient=make.patient(name=f"Queued Number{n}").patient,
            actor=receptionist,
            doctor_id=doctors[n % 3].doctor.id,
            priority=list(QueuePriority)[n % 3],
        )
        to = states[n % len(states)]
        if to in entry.next_states():
            flow.move_visit(entry, to, receptionist)
        db.session.commit()

    walk_in(1)
    one = statements(client, path, headers=HX)
    for n in range(2, 31):
        walk_in(n)
    many = statements(client, path, headers=HX)
    assert "Queued Number30" in client.get(path, headers=HX).get_data(as_text=True)
    listing = statement_lines(many)
    assert len(many) == len(one) <= BOARD_BUDGET, listing
    assert only_audit_writes(many) == []

    etag = client.get(path, headers=HX).headers["ETag"]
    with recorded() as seen:
        response = client.get(path, headers={**HX, "If-None-Match": etag})
    assert response.status_code == 304
    listing = statement_lines(seen)
    assert len(seen) <= BOARD_NOT_MODIFIED_BUDGET, listing
    assert not any(WRITE.match(s) for s in seen), listing


# As for /doctor/agenda above (5 there): where the checked-in visits are on the board is one more
# statement (their queue entries by id), only on a day that has some, and it does not grow with them.
AGENDA_BUDGET = 6


def test_the_agenda_with_checked_in_patients_stays_within_budget_whatever_their_number(
    client, login_as, busy
):
    from sqlalchemy import select

    from hms.models import Appointment, AppointmentStatus
    from hms.services import flow

    login_as(busy.doctor)
    start, end = flow.day_bounds(busy.hospital, scheduling.local_today(busy.hospital))
    todays = list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.doctor_id == busy.doctor.doctor.id,
                Appointment.start_at >= start,
                Appointment.start_at < end,
                Appointment.status == AppointmentStatus.booked,
            )
            .order_by(Appointment.start_at)
        )
    )
    assert len(todays) >= 6
    clock.set_frozen(todays[0].start_at - timedelta(minutes=20))  # check-in is allowed before the visit

    def check_in(visit) -> None:  # type: ignore[no-untyped-def]
        flow.check_in(hospital=busy.hospital, appointment_id=visit.id, actor=busy.receptionist)
        db.session.commit()

    check_in(todays[0])
    one = statements(client, "/doctor/agenda")
    for visit in todays[1:6]:
        check_in(visit)
    many = statements(client, "/doctor/agenda")
    listing = statement_lines(many)
    assert len(many) == len(one) <= AGENDA_BUDGET, listing
    assert "flow-where" in client.get("/doctor/agenda").get_data(as_text=True)
    assert only_audit_writes(many) == []


DOCTOR_QUEUE_BUDGET = 2  # the user with his session (his doctor record joined), his cards of today


def test_the_doctors_queue_reads_a_fixed_number_of_statements(client, login_as, make):
    from hms.models import StaffKind
    from hms.services import flow

    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="00:00", end="23:45", slot_minutes=15)
    # Early in the hospital's day, so that 20 walk-ins find free time whatever the hour the suite runs.
    clock.set_frozen(datetime.combine(clock.now().date(), time(1, 7), tzinfo=UTC))
    login_as(doctor)

    def walk_in(n: int) -> None:
        flow.join_queue(
            hospital=hospital,
            patient=make.patient(name=f"Queued Number{n}").patient,
            actor=receptionist,
            doctor_id=doctor.doctor.id,
        )
        db.session.commit()

    walk_in(1)
    one = statements(client, "/doctor/queue", headers=HX)
    for n in range(2, 21):
        walk_in(n)
    many = statements(client, "/doctor/queue", headers=HX)
    listing = statement_lines(many)
    assert len(many) == len(one) <= DOCTOR_QUEUE_BUDGET, listing


# Every main page of every role (tests/busy_hospital.main_pages, 70-odd): at most issue 18's largest
# budget, 8 statements, unless named here with what it reads. A page that reads a statement more fails.
MAIN_PAGE_BUDGET = 8
MAIN_PAGE_BUDGETS = {
    # the ward's sections: the stay, its beds, notes, vitals, visits, bill and prescriptions, the move
    # form's wards and beds, and the admitting doctor's memberships
    ("doctor", "/ward/admissions/N"): 14,
    # the patient's history: encounters with diagnoses, prescriptions and their items, lab orders,
    # admissions and vitals, each kind one statement
    ("patient", "/patient/encounters"): 12,
    ("doctor", "/ward/beds"): 11,  # the board's stamp, wards, beds, stays and patients, his admissions
    ("staff", "/staff/desk/patients/N"): 9,  # the patient's visits, bills, claims and duplicates
    ("hospital_admin", "/ward/beds"): 9,
}


def test_every_main_page_of_every_role_stays_within_its_statement_budget(app, busy, login_as):
    """And a page view writes nothing but its audit events, and sends no statement more than twice: the
    busy hospital's lists have several rows, so a statement per row (N+1) shows as one sent again and
    again with other values."""
    with app.test_request_context():
        pages = busy_hospital.main_pages(busy)
    over, writes, repeated = [], [], []
    for label, user, path in pages:
        browser = app.test_client() if user is None else login_as(user)
        seen = statements(browser, path)
        budget = MAIN_PAGE_BUDGETS.get((label, re.sub(r"/\d+", "/N", path)), MAIN_PAGE_BUDGET)
        if len(seen) > budget:
            listing = statement_lines(seen, indent="    ")
            over.append(f"{label} {path}: {len(seen)} > {budget}\n{listing}")
        writes += [f"{label} {path}: {w[:80]}" for w in only_audit_writes(seen)]
        sent = Counter(" ".join(s.split()) for s in seen)
        repeated += [f"{label} {path}: {n} × {s[:150]}" for s, n in sent.items() if n > 2]
    assert len(pages) >= 60
    assert not over, "\n".join(over)
    assert not writes, "\n".join(writes)
    assert not repeated, "\n".join(repeated)


def test_a_lab_orders_page_and_label_read_as_much_for_one_test_as_for_six(client, login_as, make):
    """The order's items, their tests, results (with who entered them) and specimens: a statement per
    kind of row, not per row."""
    from hms.services import lab

    first = make.collected_lab_order()
    hospital = first.hospital
    technician = make.lab_technician(hospital)
    visit = make.encounter(make.appointment(hospital_row=hospital))
    tests = [make.lab_test(hospital, code=f"SIX{n}") for n in range(6)]
    second = make.collected_lab_order(visit, tests=tests, collector=technician)
    for order in (first, second):
        for item in order.items:
            lab.enter_result(item, technician, "4.2")
    db.session.commit()
    login_as(technician)
    for page in ("/staff/lab/orders/{}", "/staff/lab/orders/{}/label"):
        one, six = (statements(client, page.format(order.id)) for order in (first, second))
        listing = statement_lines(six)
        assert len(six) == len(one) <= MAIN_PAGE_BUDGET, listing


def test_the_doctors_schedule_reads_as_much_for_one_weekly_rule_as_for_a_week_with_breaks(
    client, login_as, make
):
    """Rules and breaks of every hospital he works at: one statement each, not one per hospital or rule."""
    doctor = make.doctor()
    first, second = make.hospital(), make.hospital()
    make.membership(doctor, first)
    login_as(doctor)
    make.schedule(doctor, first, weekdays=[0])
    one = statements(client, "/doctor/schedule")
    make.membership(doctor, second)
    make.schedule(doctor, first, weekdays=range(1, 7), breaks=[("12:00", "13:00")])
    make.schedule(doctor, second, breaks=[("12:00", "12:30"), ("15:00", "15:15")])
    many = statements(client, "/doctor/schedule")
    listing = statement_lines(many)
    assert len(many) == len(one) <= 6, listing
