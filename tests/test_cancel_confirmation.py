"""Cancelling a visit is a small confirmation step (no window.confirm): it says what happens to the bill
under the hospital's policy, asks an optional reason, and answers where the patient cancelled from."""

from __future__ import annotations

import pytest

from hms.extensions import db
from hms.models import AppointmentStatus, Bill

HX = {"HX-Request": "true"}


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(currency="KES")
    hospital.refund_percent = 80
    db.session.commit()
    patient = make.patient(email="p@example.org")
    appointment = make.booking(patient_user=patient, hospital_row=hospital, fee_minor=150000, days_ahead=3)
    return {"appointment": appointment, "patient": patient, "hospital": hospital}


def panel(client, visit, where="list"):  # type: ignore[no-untyped-def]
    return client.get(f"/patient/appointments/{visit['appointment'].id}/cancel?where={where}", headers=HX)


def test_the_panel_says_what_happens_to_an_unpaid_bill(client, login_as, visit):
    login_as(visit["patient"])
    text = panel(client, visit).get_data(as_text=True)
    assert "Cancel your visit with Dr" in text and "<html" not in text
    assert "KES" in text and "1,500.00 still to pay on its bill is cancelled" in text
    assert 'class="secondary danger">Cancel the appointment' in text and "Keep the appointment" in text


@pytest.mark.parametrize(
    ("percent", "words"),
    [
        (80, "You get back KES1,200.00 of the KES1,500.00 you paid;"),
        (100, "You get back all you paid: KES1,500.00."),
        (0, "keeps the KES1,500.00 you paid (its cancellation policy)"),
    ],
)
def test_the_panel_says_the_refund_or_fee_the_policy_gives(client, login_as, make, visit, percent, words):
    visit["hospital"].refund_percent = percent
    bill = db.session.query(Bill).filter_by(appointment_id=visit["appointment"].id).one()
    make.desk_payment(bill, make.staff(visit["hospital"]))
    login_as(visit["patient"])
    assert words in panel(client, visit).get_data(as_text=True).replace("\xa0", " ")


def test_a_free_visit_has_nothing_to_pay(client, login_as, make):
    hospital = make.hospital()
    patient = make.patient()
    appointment = make.booking(patient_user=patient, hospital_row=hospital, fee_minor=0, days_ahead=3)
    login_as(patient)
    page = client.get(f"/patient/appointments/{appointment.id}/cancel")
    assert page.status_code == 200 and b"There is nothing to pay for this visit." in page.data


def test_keep_puts_the_buttons_back_and_changes_nothing(client, login_as, visit):
    login_as(visit["patient"])
    kept = client.get(f"/patient/appointments/{visit['appointment'].id}/cancel?keep=1", headers=HX)
    assert kept.data.lstrip().startswith(f'<div id="actions-{visit["appointment"].id}"'.encode())
    db.session.refresh(visit["appointment"])
    assert visit["appointment"].status == AppointmentStatus.booked


def test_cancelling_from_the_appointments_page_shows_that_page_updated(client, login_as, visit):
    appointment = visit["appointment"]
    login_as(visit["patient"])
    answer = client.post(
        f"/patient/appointments/{appointment.id}/cancel",
        data={"where": "page", "reason": "Feeling better"},
        headers=HX,
    )
    text = answer.get_data(as_text=True)
    assert text.lstrip().startswith(f'<article id="appointment-{appointment.id}">')
    assert (
        "Your appointment is cancelled." in text and "status-cancelled" in text and "Feeling better" in text
    )
    assert "slotsChanged" in answer.headers["HX-Trigger"]


def test_cancelling_from_the_list_answers_with_the_row(client, login_as, visit):
    appointment = visit["appointment"]
    login_as(visit["patient"])
    answer = client.post(f"/patient/appointments/{appointment.id}/cancel", data={"where": "list"}, headers=HX)
    assert answer.data.lstrip().startswith(f'<tr id="appointment-{appointment.id}">'.encode())
    assert b"Cancelled. The time is free for others again." in answer.data


def test_without_javascript_the_panel_is_a_page_and_the_form_returns_to_the_appointment(
    client, login_as, visit
):
    appointment = visit["appointment"]
    login_as(visit["patient"])
    page = client.get(f"/patient/appointments/{appointment.id}/cancel?where=page")
    assert page.status_code == 200 and b"<h1>Cancel the appointment?</h1>" in page.data
    answer = client.post(f"/patient/appointments/{appointment.id}/cancel", data={"where": "page"})
    assert (
        answer.status_code == 303 and answer.headers["Location"] == f"/patient/appointments/{appointment.id}"
    )


def test_no_window_confirm_is_used_for_cancelling(client, login_as, visit):
    login_as(visit["patient"])
    for path in ("/patient/appointments", f"/patient/appointments/{visit['appointment'].id}"):
        text = client.get(path).get_data(as_text=True)
        assert "hx-confirm" not in text and "Cancel…" in text
