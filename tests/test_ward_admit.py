"""Admitting (/ward/encounters/<id>/admit, /ward/admit, /ward/admissions): the visit's doctor admits into
a free bed or orders a bed; the desk and nurses admit by record number and give beds to the orders
waiting; a bed taken meanwhile is a 409 offering the free ones, a second admission a 409, bad input a
422 with the form kept, and nothing typed gives a 500."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Admission, AdmissionStatus, Bed, BedStatus, Sex, StaffKind
from hms.services import desk, inpatient

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HX = {"HX-Request": "true"}


@pytest.fixture
def w(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Grace Otieno")
    visit = make.appointment(make.patient(name="Amina Wanjiru"), doctor, hospital, start_at=NOW)
    encounter = make.encounter(visit)
    general = make.ward(hospital, "General", beds=3)
    icu = make.ward(hospital, "ICU", beds=1)
    other = make.hospital()
    return {
        "hospital": hospital,
        "doctor": doctor,
        "encounter": encounter,
        "patient": visit.patient,
        "general": general,
        "icu": icu,
        "nurse": make.staff(hospital, StaffKind.nurse),
        "desk": make.staff(hospital, StaffKind.receptionist),
        "admin": make.hospital_admin(hospital),
        "other_ward": make.ward(other, "Far away", beds=1),
        "other_nurse": make.nurse(other),
    }


def _url(w) -> str:  # type: ignore[no-untyped-def]
    return f"/ward/encounters/{w['encounter'].id}/admit"


def _form(w, **values):  # type: ignore[no-untyped-def]
    return {
        "reason": "Pneumonia, IV antibiotics",
        "expected_days": "3",
        "ward_id": str(w["general"].id),
        "bed_id": str(w["general"].beds[0].id),
    } | values


def _open_admissions() -> int:
    return db.session.scalar(select(func.count(Admission.id)).where(Admission.open_patient_id.is_not(None)))


# ---------------------------------------------------------------- the doctor, from a visit


def test_the_doctor_sees_the_admit_link_and_form(client, login_as, w):
    login_as(w["doctor"])
    visit = client.get(f"/doctor/encounters/{w['encounter'].id}").get_data(as_text=True)
    assert f'href="{_url(w)}"' in visit
    page = client.get(_url(w))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Admit Amina Wanjiru" in html
    assert 'name="reason"' in html and 'name="expected_days"' in html
    assert 'hx-get="/ward/beds/free?none=1"' in html and 'hx-trigger="change"' in html
    assert "No bed yet" in html and html.count('name="bed_id"') == 1 + 4  # every free bed without JS


def test_the_doctor_admits_into_a_free_bed_without_javascript(client, login_as, w, app):
    login_as(w["doctor"])
    response = client.post(_url(w), data=_form(w))
    assert response.status_code == 303
    admission = db.session.scalar(select(Admission).where(Admission.patient_id == w["patient"].id))
    assert admission.status == AdmissionStatus.admitted and admission.bed_id == w["general"].beds[0].id
    expected = f"/ward/admissions/{admission.id}" if "ward.admission" in app.view_functions else "/ward/beds"
    assert response.headers["Location"].endswith(expected)


def test_no_bed_makes_an_order_waiting_for_one_and_htmx_is_redirected(client, login_as, w):
    login_as(w["doctor"])
    response = client.post(_url(w), data=_form(w, bed_id=""), headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"]
    admission = db.session.scalar(select(Admission).where(Admission.patient_id == w["patient"].id))
    assert admission.status == AdmissionStatus.ordered and admission.bed_id is None
    assert admission.ward_id == w["general"].id


def test_only_the_visits_doctor_admits_from_it(client, login_as, w, make):
    for user in (make.doctor_at(w["hospital"]), w["nurse"], w["desk"], w["admin"]):
        login_as(user)
        assert client.get(_url(w)).status_code == 404
        assert client.post(_url(w), data=_form(w)).status_code == 404
    login_as(w["doctor"])
    assert client.get("/ward/encounters/999999/admit").status_code == 404
    assert _open_admissions() == 0


def test_an_occupied_bed_is_a_409_offering_the_free_ones(client, login_as, w, make):
    taken = w["general"].beds[0]
    inpatient.admit_patient(
        hospital=w["hospital"],
        patient=make.patient().patient,
        ward_id=None,
        bed_id=taken.id,
        doctor_id=None,
        actor=w["doctor"],
        reason="Earlier patient",
    )
    db.session.commit()
    login_as(w["doctor"])
    response = client.post(_url(w), data=_form(w, reason="Typed reason stays"), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"Bed {taken.label} is no longer free" in html and "Typed reason stays" in html
    offered = set(re.findall(r'name="bed_id" value="(\d+)"', html))
    assert offered == {str(b.id) for b in w["general"].beds[1:]}  # the ward's free beds
    assert "<html" not in html  # the form alone for htmx
    plain = client.post(_url(w), data=_form(w))
    assert plain.status_code == 409 and "<html" in plain.get_data(as_text=True)  # the page without JS


def test_a_patient_already_admitted_is_a_409(client, login_as, w):
    login_as(w["doctor"])
    assert client.post(_url(w), data=_form(w)).status_code == 303
    again = client.post(_url(w), data=_form(w, bed_id=str(w["general"].beds[1].id)))
    assert again.status_code == 409
    assert "already admitted or waiting for a bed" in again.get_data(as_text=True)
    assert _open_admissions() == 1
    assert "already admitted" in client.get(_url(w)).get_data(as_text=True)  # said on the form too


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"reason": "   "}, "reason", "Give the reason for the admission."),
        ({"expected_days": "soon"}, "expected_days", "Enter the expected stay as a number of days."),
        ({"expected_days": "0"}, "expected_days", "between 1 and 365 days"),
        ({"expected_days": "99999999999999999999"}, "expected_days", "between 1 and 365 days"),
        ({"bed_id": "", "ward_id": ""}, "ward_id", "Choose a ward of this hospital."),
        ({"bed_id": "", "ward_id": "garbage"}, "ward_id", "Choose a ward of this hospital."),
        ({"bed_id": "", "ward_id": "other_ward"}, "ward_id", "Choose a ward of this hospital."),
        ({"bed_id": "other_bed"}, "bed_id", "Choose a bed of this hospital."),
        ({"bed_id": "x1"}, "bed_id", "Choose a bed of this hospital."),
        ({"bed_id": "99999999999"}, "bed_id", "Choose a bed of this hospital."),
        ({"reason": "x" * 501}, "reason", "at most 500 characters"),
    ],
)
def test_bad_input_is_a_422_with_the_fields_error_and_the_form_kept(
    client, login_as, w, values, field, message
):
    substitutes = {"other_ward": str(w["other_ward"].id), "other_bed": str(w["other_ward"].beds[0].id)}
    values = {k: substitutes.get(v, v) for k, v in values.items()}
    login_as(w["doctor"])
    response = client.post(
        _url(w), data=_form(w, **values) | {"expected_days": values.get("expected_days", "4")}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert message in html and f'{field}-error"' in html
    assert 'value="' + values.get("expected_days", "4")[:20] + '"' in html  # what was typed stays
    assert _open_admissions() == 0


def test_garbage_never_gives_a_500(client, login_as, w):
    login_as(w["doctor"])
    for data in (
        {},
        {"reason": "x", "ward_id": "-1", "bed_id": "-5", "expected_days": "-3"},
        {"reason": "x", "ward_id": "1e9", "bed_id": "٣", "expected_days": "3.5"},
        {"reason": "\u202e" * 3, "ward_id": str(2**40), "bed_id": str(2**70)},
    ):
        assert client.post(_url(w), data=data).status_code in (409, 422)
    for query in ("ward=abc", "ward=-1", f"ward={2**70}", "ward=", "row=x&none=maybe"):
        assert client.get(f"/ward/beds/free?{query}").status_code == 200


# ---------------------------------------------------------------- the free-bed picker


def test_the_picker_lists_a_wards_free_beds(client, login_as, w, make):
    login_as(w["doctor"])
    html = client.get(f"/ward/beds/free?ward_id={w['icu'].id}&none=1", headers=HX).get_data(as_text=True)
    assert html.count('name="bed_id"') == 2 and w["icu"].beds[0].label in html and "No bed yet" in html
    login_as(w["nurse"])
    html = client.get(f"/ward/beds/free?ward={w['general'].id}&row=7", headers=HX).get_data(as_text=True)
    assert 'id="beds7"' in html and html.count('name="bed_id"') == 3 and "No bed yet" not in html
    assert client.get(f"/ward/beds/free?ward={w['other_ward'].id}").status_code == 404
    login_as(make.staff(w["hospital"], StaffKind.pharmacist))
    assert client.get(f"/ward/beds/free?ward={w['general'].id}").status_code == 404


# ---------------------------------------------------------------- the desk and nurses


def _desk_form(w, **values):  # type: ignore[no-untyped-def]
    return {
        "mrn": w["patient"].mrn,
        "doctor_id": str(w["doctor"].doctor.id),
        "ward_id": str(w["general"].id),
        "bed_id": str(w["general"].beds[1].id),
        "reason": "Dehydration",
        "expected_days": "2",
    } | values


@pytest.mark.parametrize("who", ["desk", "nurse"])
def test_the_desk_and_nurses_admit_by_record_number(client, login_as, w, who):
    login_as(w[who])
    page = client.get(f"/ward/admit?mrn={w['patient'].mrn}").get_data(as_text=True)
    assert f'value="{w["patient"].mrn}"' in page and "Dr Grace Otieno" in page
    response = client.post("/ward/admit", data=_desk_form(w))
    assert response.status_code == 303
    admission = db.session.scalar(select(Admission).where(Admission.patient_id == w["patient"].id))
    assert (
        admission.status == AdmissionStatus.admitted
        and admission.admitting_doctor_id == w["doctor"].doctor.id
    )
    # a nurse goes on to the admission's page; the desk, which does not open it, to the bed board
    expected = f"/ward/admissions/{admission.id}" if who == "nurse" else "/ward/beds"
    assert response.headers["Location"].endswith(expected)


def test_a_patient_registered_at_the_desk_without_an_account_is_admitted(client, login_as, w):
    patient = desk.register_patient(
        hospital=w["hospital"],
        actor=w["desk"],
        full_name="Baraka Mwangi",
        date_of_birth=date(1984, 5, 2),
        sex=Sex.male,
        phone="+254 711 000 111",
    )
    db.session.commit()
    login_as(w["desk"])
    response = client.post("/ward/admit", data=_desk_form(w, mrn=patient.mrn.lower()))
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert inpatient.open_admission_of(patient.id).status == AdmissionStatus.admitted


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mrn": "NOPE1234"}, "No patient has this record number."),
        ({"mrn": ""}, "No patient has this record number."),
        ({"doctor_id": ""}, "Choose a doctor of this hospital."),
        ({"doctor_id": "garbage"}, "Choose a doctor of this hospital."),
        ({"bed_id": ""}, "Choose a free bed."),
        ({"reason": ""}, "Give the reason for the admission."),
    ],
)
def test_the_desks_bad_input_is_a_422(client, login_as, w, values, message):
    login_as(w["desk"])
    response = client.post("/ward/admit", data=_desk_form(w, **values))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _open_admissions() == 0


def test_a_foreign_doctor_is_refused(client, login_as, w, make):
    login_as(w["desk"])
    stranger = make.doctor_at(make.hospital())
    response = client.post("/ward/admit", data=_desk_form(w, doctor_id=str(stranger.doctor.id)))
    assert response.status_code == 422


def test_who_may_not_admit_at_the_desk_gets_404(client, login_as, w, make):
    for user in (w["doctor"], w["admin"], make.staff(w["hospital"], StaffKind.pharmacist)):
        login_as(user)
        assert client.get("/ward/admit").status_code == 404
        assert client.post("/ward/admit", data=_desk_form(w)).status_code == 404
        assert client.get("/ward/admissions").status_code == 404
    assert _open_admissions() == 0


# ---------------------------------------------------------------- the waiting list


def _order(w, patient=None, ward=None):  # type: ignore[no-untyped-def]
    admission = inpatient.admit_patient(
        hospital=w["hospital"],
        patient=patient or w["patient"],
        ward_id=(ward or w["general"]).id,
        bed_id=None,
        doctor_id=None,
        actor=w["doctor"],
        reason="Needs a bed",
        expected_days=2,
    )
    db.session.commit()
    return admission


def test_the_waiting_list_shows_orders_oldest_first_with_their_forms(client, login_as, w, make):
    first = _order(w)
    clock.set_frozen(NOW.replace(hour=10))
    second = _order(w, make.patient(name="Second Waiting").patient, w["icu"])
    login_as(w["nurse"])
    html = client.get("/ward/admissions").get_data(as_text=True)
    assert html.index(f'id="order-{first.id}"') < html.index(f'id="order-{second.id}"')
    assert (
        f'action="/ward/admissions/{first.id}/bed"' in html
        and f'action="/ward/admissions/{first.id}/cancel"' in html
    )
    assert f'hx-get="/ward/beds/free?row={first.id}"' in html and "Dr Grace Otieno" in html
    assert 'href="/ward/beds"' in html


def test_the_desk_gives_a_bed_to_an_order(client, login_as, w):
    order = _order(w)
    login_as(w["desk"])
    bed = w["general"].beds[2]
    response = client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": str(bed.id)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/ward/admissions")
    db.session.refresh(order)
    assert order.status == AdmissionStatus.admitted and order.bed_id == bed.id
    stale = client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": str(w["general"].beds[1].id)})
    assert stale.status_code == 409 and "no longer waits" in stale.get_data(as_text=True)


def test_giving_an_occupied_bed_is_a_409_offering_free_beds_in_that_row(client, login_as, w, make):
    order = _order(w)
    taken = w["general"].beds[0]
    _order(w, make.patient().patient)  # someone else, waiting too
    inpatient.admit_patient(
        hospital=w["hospital"],
        patient=make.patient().patient,
        ward_id=None,
        bed_id=taken.id,
        doctor_id=None,
        actor=w["doctor"],
        reason="Took it first",
    )
    db.session.commit()
    login_as(w["nurse"])
    response = client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": str(taken.id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and f"Bed {taken.label} is no longer free" in html
    row = html[html.index(f'id="order-{order.id}"') :]
    row = row[: row.index("</article>")]
    assert set(re.findall(r'name="bed_id" value="(\d+)"', row)) == {str(b.id) for b in w["general"].beds[1:]}
    bad = client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": "nonsense"})
    assert bad.status_code == 422 and "Choose a bed of this hospital." in bad.get_data(as_text=True)
    foreign = client.post(
        f"/ward/admissions/{order.id}/bed", data={"bed_id": str(w["other_ward"].beds[0].id)}
    )
    assert foreign.status_code == 422


def test_an_order_is_cancelled_with_a_reason(client, login_as, w):
    order = _order(w)
    login_as(w["desk"])
    missing = client.post(f"/ward/admissions/{order.id}/cancel", data={"reason": "  "})
    assert missing.status_code == 422 and "Give the reason for cancelling." in missing.get_data(as_text=True)
    response = client.post(f"/ward/admissions/{order.id}/cancel", data={"reason": "Went to another hospital"})
    assert response.status_code == 303
    db.session.refresh(order)
    assert order.status == AdmissionStatus.cancelled and order.cancel_reason == "Went to another hospital"
    assert "Nobody is waiting for a bed." in client.get("/ward/admissions").get_data(as_text=True)


def test_another_hospitals_orders_are_404(client, login_as, w):
    order = _order(w)
    login_as(w["other_nurse"])
    bed = w["general"].beds[0]
    assert client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": str(bed.id)}).status_code == 404
    assert client.post(f"/ward/admissions/{order.id}/cancel", data={"reason": "x"}).status_code == 404
    assert client.post("/ward/admissions/999999/bed", data={"bed_id": "1"}).status_code == 404
    login_as(w["admin"])
    assert client.post(f"/ward/admissions/{order.id}/bed", data={"bed_id": str(bed.id)}).status_code == 404
    db.session.refresh(order)
    assert order.status == AdmissionStatus.ordered
    assert db.session.get(Bed, bed.id).status == BedStatus.free
