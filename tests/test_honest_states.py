"""No action is offered that will be refused: the agenda's status buttons and the desk's Cancel on a bill
follow the one rule the service applies; dashboards count visits by their real states; a bill names
the visit it is for."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, BillStatus
from hms.services import scheduling

NOW = datetime(2027, 3, 3, 6, 0, tzinfo=UTC)  # Wednesday 09:00 in Nairobi
HTMX = {"HX-Request": "true"}
STATUSES = ("arrived", "fulfilled", "noshow")

# (the visit's status, when it starts relative to now) → the buttons the agenda offers
SCENARIOS = {
    "booked tomorrow": (AppointmentStatus.booked, timedelta(hours=20), set()),
    "booked within the hour": (AppointmentStatus.booked, timedelta(minutes=40), {"arrived"}),
    "booked and started": (AppointmentStatus.booked, -timedelta(minutes=10), set(STATUSES)),
    "arrived early": (AppointmentStatus.arrived, timedelta(minutes=40), {"fulfilled"}),
    "arrived and started": (AppointmentStatus.arrived, -timedelta(minutes=10), {"fulfilled"}),
    "cancelled": (AppointmentStatus.cancelled, -timedelta(minutes=10), set()),
    "done": (AppointmentStatus.fulfilled, -timedelta(minutes=10), set()),
    "no-show": (AppointmentStatus.noshow, -timedelta(minutes=10), set()),
}


@pytest.fixture
def doc(make, login_as):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    login_as(doctor)
    return hospital, doctor


def offered(html: str, appointment_id: int) -> set[str]:
    row = re.search(rf'<tr id="appointment-{appointment_id}">(.*?)</tr>', html, re.S).group(1)
    return set(re.findall(r'name="status" value="(\w+)"', row))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_agenda_offers_exactly_the_statuses_the_service_accepts(client, doc, make, scenario):
    hospital, doctor = doc
    status, offset, expected = SCENARIOS[scenario]
    visits = {  # a minute apart: one doctor has one visit per start
        wanted: make.appointment(
            make.patient(), doctor, hospital, NOW + offset + timedelta(minutes=i), status=status
        )
        for i, wanted in enumerate(STATUSES)
    }
    day = (NOW + offset).astimezone(hospital.tz).date().isoformat()
    html = client.get(f"/doctor/agenda?day={day}").get_data(as_text=True)
    for wanted, visit in visits.items():
        assert offered(html, visit.id) == expected
        assert set(s.value for s in visit.allowed_statuses(NOW)) == expected
        answer = client.post(f"/doctor/appointments/{visit.id}/status", data={"status": wanted}, headers=HTMX)
        if wanted != status.value:  # the same status sent again changes nothing and is no error
            assert answer.status_code == (200 if wanted in expected else 409), (scenario, wanted)


def test_a_refused_change_says_why(client, doc, make):
    hospital, doctor = doc
    visit = make.appointment(make.patient(), doctor, hospital, NOW + timedelta(minutes=40))
    answer = client.post(
        f"/doctor/appointments/{visit.id}/status", data={"status": "fulfilled"}, headers=HTMX
    )
    assert answer.status_code == 409
    assert b"A visit can be marked done once it has started or the patient has arrived." in answer.data
    assert visit.status == AppointmentStatus.booked


# ------------------------------------------------------------------ bills


def bill_in(make, hospital, state: str):  # type: ignore[no-untyped-def]
    patient = make.patient()
    if state == "draft":
        return make.bill(patient, hospital, status=BillStatus.draft)
    bill = make.bill(patient, hospital, items=[("Dressing", 1, 150000)])
    cashier = make.staff(hospital)
    if state == "partly paid":
        make.desk_payment(bill, cashier, 50000)
    elif state == "paid":
        make.desk_payment(bill, cashier)
    elif state == "cancelled":
        bill.status = BillStatus.cancelled
        db.session.commit()
    return bill


@pytest.mark.parametrize(
    ("state", "cancellable"),
    [("draft", True), ("issued", True), ("partly paid", False), ("paid", False), ("cancelled", False)],
)
@pytest.mark.parametrize("prefix", ["/hospital", "/staff"])
def test_the_desk_offers_cancel_only_on_a_bill_it_can_cancel(
    client, make, login_as, state, cancellable, prefix
):
    hospital = make.hospital()
    bill = bill_in(make, hospital, state)
    login_as(make.hospital_admin(hospital) if prefix == "/hospital" else make.staff(hospital))
    page = client.get(f"{prefix}/bills/{bill.id}").get_data(as_text=True)
    assert ("Cancel this bill" in page) is cancellable
    assert bill.can_cancel is cancellable
    answer = client.post(f"{prefix}/bills/{bill.id}/cancel", data={"reason": "Entered twice"})
    db.session.refresh(bill)
    if cancellable:
        assert answer.status_code == 303 and bill.status == BillStatus.cancelled
    elif state != "cancelled":
        assert answer.status_code == 409 and bill.status != BillStatus.cancelled


def test_a_bill_names_the_visit_it_is_for_on_the_hospitals_clock(client, make, login_as):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    make.schedule(doctor, hospital)
    visit = make.booking(make.patient(), doctor, hospital, days_ahead=2, hour=10)
    bill = make.consultation_bill(visit)
    bill.status = BillStatus.issued
    db.session.commit()
    named = "For the visit with Dr Chinedu Okafor on Fri 05 Mar 2027 at 10:00 EAT"
    login_as(visit.patient.user)
    page = client.get(f"/patient/bills/{bill.id}").get_data(as_text=True)
    assert named in page and f'href="/patient/appointments/{visit.id}"' in page
    login_as(make.hospital_admin(hospital))
    assert named in client.get(f"/hospital/bills/{bill.id}").get_data(as_text=True)
    login_as(make.staff(hospital))
    assert named in client.get(f"/staff/bills/{bill.id}").get_data(as_text=True)


def test_a_bill_written_at_the_desk_names_no_visit(client, make, login_as):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital)
    login_as(make.hospital_admin(hospital))
    assert "For the visit with" not in client.get(f"/hospital/bills/{bill.id}").get_data(as_text=True)


# ------------------------------------------------------------------ dashboards


def todays_visits(make, hospital, doctor):  # type: ignore[no-untyped-def]
    """Today in Nairobi: 2 booked, 1 arrived, 1 done, 1 no-show, and 2 cancelled bookings."""
    made = []
    for hour, status in [
        (1, AppointmentStatus.booked),
        (2, AppointmentStatus.booked),
        (0, AppointmentStatus.arrived),
        (-1, AppointmentStatus.fulfilled),
        (-2, AppointmentStatus.noshow),
        (3, AppointmentStatus.cancelled),
        (4, AppointmentStatus.cancelled),
    ]:
        patient = make.patient(name=f"Patient {status.value} {hour + 10}")
        made.append(make.appointment(patient, doctor, hospital, NOW + timedelta(hours=hour), status=status))
    return made


def counts_text(html: str) -> str:
    return " ".join(
        re.sub(
            r"<[^>]+>", " ", re.search(r'class="visit-counts">(.*?)</span>\s*<', html, re.S).group(1)
        ).split()
    )


def test_the_doctors_dashboard_counts_visits_by_their_real_states(client, doc, make):
    hospital, doctor = doc
    todays_visits(make, hospital, doctor)
    html = client.get("/doctor/").get_data(as_text=True)
    assert counts_text(html) == "Visits: 5 (2 booked · 1 arrived · 1 done · 1 no-show); 2 cancelled"
    assert "Patient cancelled" not in html and "Patient booked 11" in html


def test_the_hospital_dashboard_counts_visits_by_their_real_states(client, make, login_as):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    todays_visits(make, hospital, make.doctor_at(hospital))
    login_as(make.hospital_admin(hospital))
    html = client.get("/hospital/").get_data(as_text=True)
    tile = re.search(r'<article id="today-visits"><p class="stat">(\d+)</p>', html)
    assert tile.group(1) == "5"  # not 7: a cancelled booking is not a visit
    assert counts_text(html) == "Visits: 5 (2 booked · 1 arrived · 1 done · 1 no-show); 2 cancelled"


def test_a_reschedule_keeps_one_visit_on_the_dashboard(client, doc, make):
    hospital, doctor = doc
    make.schedule(doctor, hospital)
    patient = make.patient()
    first = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=NOW + timedelta(hours=2),
        reason="Check-up",
        booked_by=patient,
    )
    scheduling.reschedule_appointment(first, NOW + timedelta(hours=4), doctor)  # on the patient's call
    db.session.commit()
    html = client.get("/doctor/").get_data(as_text=True)
    assert counts_text(html) == "Visits: 1 (1 booked); 1 cancelled"
