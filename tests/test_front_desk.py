"""The registration desk: find a patient with one box, register a walk-in without email, likely
duplicates asked about first, field errors kept on the form, who sees which patient."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, Patient, Role, Sex, StaffKind, User
from hms.services import desk, notifications
from hms.services.errors import Invalid

TODAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(TODAY)


def _form(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "full_name": "Amina Wanjiru",
        "date_of_birth": "1985-04-12",
        "age": "",
        "sex": "female",
        "phone": "+254 711 222 333",
        "address": "Moi Avenue 4, Nairobi",
        "emergency_contact": "Peter Kamau +254 722 000 111",
        "guardian_name": "",
        "guardian_phone": "",
    }
    values.update(overrides)
    return values


def _desk(make, login_as, client):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    login_as(receptionist)
    return hospital, receptionist


# ---------------------------------------------------------------- services


def test_register_patient_makes_an_account_that_cannot_log_in(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital)
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name="  José   Pérez ",
        sex=Sex.male,
        phone="0712 345 678",
        date_of_birth=date(1970, 5, 1),
    )
    db.session.commit()
    assert patient.mrn.startswith("P") and len(patient.mrn) == 10
    assert patient.user.email is None and patient.user.password_hash is None
    assert not patient.user.can_log_in
    assert patient.name == "José Pérez"
    assert patient.registered_hospital_id == hospital.id
    assert patient.name_key == "jose perez" and patient.phone_key == "712345678"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "patient"))
    assert event.action == "create" and event.user_id == receptionist.id and event.hospital_id == hospital.id


def test_an_age_gives_an_approximate_date_of_birth(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    patient = desk.register_patient(
        hospital=hospital, actor=make.staff(hospital), full_name="Old Man", sex=Sex.male, phone="0712000000",
        age_years=70,
    )  # fmt: skip
    assert patient.date_of_birth == date(1956, 3, 2)
    assert patient.date_of_birth_approximate


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date_of_birth": date(2027, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": None, "age_years": 131}, "age"),
        ({"date_of_birth": None, "age_years": -1}, "age"),
        ({"date_of_birth": None}, "date_of_birth"),
        ({"date_of_birth": date(1850, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": date(2020, 1, 1)}, "guardian_name"),
        ({"date_of_birth": date(2020, 1, 1), "guardian_name": "Mum"}, "guardian_phone"),
        ({"phone": "12-34"}, "phone"),
        ({"full_name": " . "}, "full_name"),
    ],
)
def test_register_patient_refuses_impossible_values(make, fields, field):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    values = {"full_name": "Amina Wanjiru", "sex": Sex.female, "phone": "0711222333"}
    values |= {"date_of_birth": date(1985, 4, 12)} | fields
    with pytest.raises(Invalid) as refused:
        desk.register_patient(hospital=hospital, actor=make.staff(hospital), **values)
    assert refused.value.field == field


def test_find_duplicates_same_name_and_birth_same_phone_similar_spelling(make):  # type: ignore[no-untyped-def]
    same = make.patient(name="Pérez José", date_of_birth=date(1970, 5, 1), phone="+1 555 000 0001").patient
    typo = make.patient(name="Jose Peres", date_of_birth=date(1970, 5, 1), phone="+1 555 000 0002").patient
    phone = make.patient(
        name="Somebody Else", date_of_birth=date(1999, 1, 1), phone="(0) 712 345 678"
    ).patient
    make.patient(name="Jose Perez", date_of_birth=date(1980, 5, 1), phone="+1 555 000 0003")  # another man
    make.patient(name="Maria Lopez", date_of_birth=date(1970, 5, 1), phone="+1 555 000 0004")  # another woman

    found = {
        d.patient.id: d.reasons
        for d in desk.find_duplicates("jose  PEREZ", date(1970, 5, 1), "+254712345678")
    }
    assert found == {
        same.id: (desk.SAME_NAME_AND_BIRTH,),
        typo.id: (desk.SIMILAR_NAME,),
        phone.id: (desk.SAME_PHONE,),
    }


def test_an_approximate_age_matches_a_birth_date_a_year_away(make):  # type: ignore[no-untyped-def]
    earlier = make.patient(name="Old Man", date_of_birth=date(1955, 11, 20), phone="0700111222").patient
    found = desk.find_duplicates("Old Man", date(1956, 3, 2), "0799999999", approximate=True)
    assert [d.patient.id for d in found] == [earlier.id]
    assert desk.find_duplicates("Old Man", date(1956, 3, 2), "0799999999") == []


def test_find_patients_by_name_phone_mrn_and_birth_date(make):  # type: ignore[no-untyped-def]
    hospital, other = make.hospital(), make.hospital()
    ours = make.patient(
        name="Amina Wanjiru", date_of_birth=date(1985, 4, 12), phone="+254 711 222 333"
    ).patient
    ours.registered_hospital_id = hospital.id
    visited = make.patient(
        name="Ámina Otieno", date_of_birth=date(1990, 1, 1), phone="+254 700 000 009"
    ).patient
    make.appointment(visited.user, hospital_row=hospital)
    elsewhere = make.patient(
        name="Amina Kibet", date_of_birth=date(1985, 4, 12), phone="+254 733 444 555"
    ).patient
    elsewhere.registered_hospital_id = other.id
    db.session.commit()

    def names(text: str, locale: str = "en") -> list[str]:
        return [f.patient.name for f in desk.find_patients(hospital, text, locale)]

    assert sorted(names("amina")) == ["Amina Wanjiru", "Ámina Otieno"]  # in the database's collation
    assert names("otieno AMINA") == ["Ámina Otieno"]
    assert names("1985-04-12") == ["Amina Wanjiru"]
    assert names("12/04/1985", "es") == ["Amina Wanjiru"]
    assert names("4/12/1985", "en") == ["Amina Wanjiru"]
    assert names("222 333") == ["Amina Wanjiru"]
    # Another hospital's patient only when named exactly: his whole phone number or his MRN.
    assert names("0733 444 555") == ["Amina Kibet"]
    assert names(elsewhere.mrn.lower()) == ["Amina Kibet"]
    assert [f.ours for f in desk.find_patients(hospital, elsewhere.mrn)] == [False]
    assert names("444 555") == []
    assert names("x") == [] and names("%") == [] and names("_ _") == []


def test_desk_notices_go_by_text_message_when_there_is_no_email(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    patient = desk.register_patient(
        hospital=hospital, actor=make.staff(hospital), full_name="No Mail", sex=Sex.male, phone="0712000000",
        date_of_birth=date(1970, 1, 1),
    )  # fmt: skip
    notifications.notify(patient.user, "appointment_booked", "Your visit is booked.")
    notifications.send_account_email(patient.user, "password_changed", "s", "b")
    db.session.flush()
    from hms.models import OutboxEmail

    rows = db.session.scalars(select(OutboxEmail).where(OutboxEmail.user_id == patient.user.id)).all()
    assert all(row.to != "None" and row.to for row in rows)
    assert all(row.channel.value == "sms" for row in rows)


# ---------------------------------------------------------------- pages


def test_receptionist_registers_a_walk_in_and_lands_on_his_page(client, make, login_as):  # type: ignore[no-untyped-def]
    hospital, _ = _desk(make, login_as, client)
    response = client.post("/staff/desk/register", data=_form())
    assert response.status_code == 303
    patient = db.session.scalar(select(Patient).join(Patient.user).where(User.full_name == "Amina Wanjiru"))
    assert response.headers["Location"] == f"/staff/desk/patients/{patient.id}"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert patient.mrn in text and "Moi Avenue 4" in text and "not claimed yet" in text
    assert patient.user.role == Role.patient and patient.user.email is None


def test_duplicates_are_shown_and_registering_anyway_needs_a_confirmation(client, make, login_as):  # type: ignore[no-untyped-def]
    hospital, _ = _desk(make, login_as, client)
    first = make.patient(name="Amina Wanjiru", date_of_birth=date(1985, 4, 12), phone="+254 799 000 000")
    first.patient.registered_hospital_id = hospital.id
    db.session.commit()
    count = db.session.scalar(select(func.count(Patient.id)))

    warned = client.post("/staff/desk/register", data=_form(full_name="amina  wanjiru"))
    assert warned.status_code == 422
    text = warned.get_data(as_text=True)
    assert "may already be registered" in text and first.patient.mrn in text
    assert f"/staff/desk/patients/{first.patient.id}" in text
    assert 'value="amina  wanjiru"' in text or 'value="amina wanjiru"' in text  # the form is kept
    assert "register anyway" in text
    assert db.session.scalar(select(func.count(Patient.id))) == count

    confirmed = client.post("/staff/desk/register", data=_form(different_people="y"))
    assert confirmed.status_code == 303
    assert db.session.scalar(select(func.count(Patient.id))) == count + 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date_of_birth": "2030-01-01"}, "cannot be in the future"),
        ({"date_of_birth": "", "age": "200"}, "between 0 and 130"),
        ({"date_of_birth": "", "age": ""}, "date of birth or the age"),
        ({"date_of_birth": "1985-04-12", "age": "40"}, "not both"),
        ({"date_of_birth": "2020-02-02"}, "guardian"),
        ({"phone": "call me"}, "phone number"),
        ({"date_of_birth": "31/31/2020"}, "Write the date like"),
        ({"full_name": ""}, "This field is required"),
    ],
)
def test_bad_input_is_answered_422_with_the_form_kept(client, make, login_as, fields, message):  # type: ignore[no-untyped-def]
    _desk(make, login_as, client)
    response = client.post("/staff/desk/register", data=_form(**fields))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text
    assert "Moi Avenue 4, Nairobi" in text


def test_search_fragment_lists_matches(client, make, login_as):  # type: ignore[no-untyped-def]
    hospital, _ = _desk(make, login_as, client)
    ours = make.patient(name="Amina Wanjiru")
    ours.patient.registered_hospital_id = hospital.id
    db.session.commit()
    response = client.get("/staff/desk?q=wanji", headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<html" not in text and "Amina Wanjiru" in text and ours.patient.mrn in text
    assert f"/staff/desk/patients/{ours.patient.id}" in text
    assert len(response.data) < 2000
    assert "Amina Wanjiru" in client.get("/staff/desk?q=wanji").get_data(as_text=True)
    assert "No patient matches" in client.get("/staff/desk?q=nobody").get_data(as_text=True)


def test_patient_of_another_hospital_is_404_at_this_desk(client, make, login_as):  # type: ignore[no-untyped-def]
    _desk(make, login_as, client)
    stranger = make.patient()
    make.appointment(stranger)  # a visit at another hospital
    assert client.get(f"/staff/desk/patients/{stranger.patient.id}").status_code == 404
    assert client.get("/staff/desk/patients/999999999").status_code == 404


def test_a_visit_here_opens_the_page_and_it_is_audited(client, make, login_as):  # type: ignore[no-untyped-def]
    hospital, receptionist = _desk(make, login_as, client)
    visitor = make.patient()
    make.appointment(visitor, hospital_row=hospital)
    assert client.get(f"/staff/desk/patients/{visitor.patient.id}").status_code == 200
    views = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "view",
        AuditEvent.user_id == receptionist.id,
        AuditEvent.patient_id == visitor.patient.id,
    )
    assert db.session.scalar(views) == 1


def test_other_staff_cannot_use_the_desk(client, make, login_as):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    login_as(make.staff(hospital, StaffKind.nurse))
    assert client.get("/staff/desk").status_code == 403
    assert client.post("/staff/desk/register", data=_form()).status_code == 403


def test_hospital_admin_uses_the_same_desk(client, make, login_as):  # type: ignore[no-untyped-def]
    admin = make.hospital_admin()
    login_as(admin)
    assert client.get("/hospital/desk").status_code == 200
    response = client.post("/hospital/desk/register", data=_form())
    assert response.status_code == 303 and response.headers["Location"].startswith("/hospital/desk/patients/")
    assert client.get(response.headers["Location"]).status_code == 200


def test_receptionist_dashboard_leads_to_the_desk(client, make, login_as):  # type: ignore[no-untyped-def]
    _desk(make, login_as, client)
    text = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/desk"' in text
