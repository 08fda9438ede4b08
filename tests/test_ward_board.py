"""The bed board (/ward/beds): each role of the hospital sees its wards and beds, nobody else does; the
poll answers 304 while nothing changed and the board once something did; nurses mark beds cleaned; the
board's statements do not grow with its beds; it fits a phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import Bed, BedStatus, StaffKind
from hms.services import inpatient
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture
def ward_world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Grace Otieno")
    general = make.ward(hospital, "General", beds=3)
    icu = make.ward(hospital, "ICU", beds=2)
    make.bed(general, "C1", status=BedStatus.cleaning)
    make.bed(icu, "X1", status=BedStatus.out_of_service)
    patient = make.patient(name="Amina Wanjiru")
    admission = inpatient.admit_patient(
        hospital=hospital,
        patient=patient.patient,
        ward_id=general.id,
        bed_id=general.beds[0].id,
        doctor_id=None,
        actor=doctor,
        reason="Pneumonia",
        expected_days=3,
    )
    db.session.commit()
    clock.set_frozen(NOW + timedelta(days=2))
    return {
        "hospital": hospital,
        "doctor": doctor,
        "general": general,
        "icu": icu,
        "patient": patient,
        "admission": admission,
        "nurse": make.staff(hospital, StaffKind.nurse),
        "desk": make.staff(hospital, StaffKind.receptionist),
        "admin": make.hospital_admin(hospital),
    }


def _cleaning_bed(world) -> Bed:  # type: ignore[no-untyped-def]
    return next(b for b in world["general"].beds if b.label == "C1")


@pytest.mark.parametrize("who", ["nurse", "desk", "admin", "doctor"])
def test_every_role_of_the_hospital_sees_its_beds(client, login_as, ward_world, who):
    login_as(ward_world[who])
    page = client.get("/ward/beds")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "General" in html and "ICU" in html
    assert "Amina Wanjiru" in html and ward_world["patient"].patient.mrn in html
    assert "2 days in" in html and "Dr Grace Otieno" in html
    assert 'id="bed-board"' in html and 'hx-trigger="every 30s"' in html
    assert "Cleaning" in html and "Out of service" in html
    assert ("Cleaned</button>" in html) == (who == "nurse")
    assert 'href="/ward/beds"' in html  # "Beds" in the navigation


def test_the_admission_link_shows_to_those_who_open_the_admission(client, login_as, ward_world, app):
    link = f'href="/ward/admissions/{ward_world["admission"].id}"'
    has_page = "ward.admission" in app.view_functions
    for who, sees in (("nurse", True), ("desk", False), ("doctor", True), ("admin", False)):
        login_as(ward_world[who])
        html = client.get("/ward/beds").get_data(as_text=True)
        assert (link in html) == (sees and has_page), who


def test_a_ward_filter_shows_one_ward_and_a_foreign_one_shows_all(client, login_as, ward_world, make):
    login_as(ward_world["nurse"])
    html = client.get(f"/ward/beds?ward={ward_world['icu'].id}").get_data(as_text=True)
    board = html[html.index('id="bed-board"') :]
    assert "ICU" in board and "General" not in board
    other = make.ward(make.hospital(), "Elsewhere", beds=1)
    for garbage in (str(other.id), "abc", "-1", "99999999999999", ""):
        response = client.get(f"/ward/beds?ward={garbage}")
        assert response.status_code == 200
        assert "Elsewhere" not in response.get_data(as_text=True)


def test_other_hospitals_staff_and_other_kinds_get_404(client, login_as, ward_world, make):
    login_as(make.nurse(make.hospital()))
    html = client.get(f"/ward/beds?ward={ward_world['general'].id}").get_data(as_text=True)
    assert "General" not in html and "Amina" not in html  # her own hospital's board, not this one
    for user in (
        make.staff(ward_world["hospital"], StaffKind.pharmacist),
        make.staff(ward_world["hospital"], StaffKind.lab_technician),
        make.doctor(),  # no hospital
    ):
        login_as(user)
        assert client.get("/ward/beds").status_code == 404
        assert client.get("/ward/beds/board", headers=HX).status_code == 404
    login_as(make.patient())
    assert client.get("/ward/beds").status_code == 403  # the ward's pages are not for patients


def test_a_doctor_of_two_hospitals_chooses_among_his_own(client, login_as, ward_world, make):
    doctor = ward_world["doctor"]
    second = make.hospital(name="Second Hospital")
    make.membership(doctor, second)
    make.ward(second, "Second ward", beds=1)
    login_as(doctor)
    first_page = client.get("/ward/beds").get_data(as_text=True)
    assert "General" in first_page and f'href="/ward/beds?hospital={second.id}"' in first_page
    second_page = client.get(f"/ward/beds?hospital={second.id}").get_data(as_text=True)
    assert "Second ward" in second_page and "General" not in second_page
    stranger = make.hospital()
    make.ward(stranger, "Stranger ward", beds=1)
    html = client.get(f"/ward/beds?hospital={stranger.id}").get_data(as_text=True)
    assert "Stranger ward" not in html and "General" in html  # not his: his first instead


def test_an_unchanged_board_answers_304_and_a_change_200(client, login_as, ward_world):
    login_as(ward_world["nurse"])
    html = client.get("/ward/beds").get_data(as_text=True)
    etag = re.search(r'If-None-Match": "\\"([0-9a-f]+)\\""', html).group(1)
    poll = {"If-None-Match": f'"{etag}"', **HX}
    unchanged = client.get("/ward/beds/board", headers=poll)
    assert unchanged.status_code == 304 and unchanged.data == b""
    bed = _cleaning_bed(ward_world)
    from hms.services import wards

    wards.mark_bed_cleaned(bed, ward_world["nurse"])
    db.session.commit()
    changed = client.get("/ward/beds/board", headers=poll)
    assert changed.status_code == 200 and changed.headers["ETag"] != f'"{etag}"'
    assert 'id="bed-board"' in changed.get_data(as_text=True)
    assert "<html" not in changed.get_data(as_text=True)
    assert (
        client.get("/ward/beds/board", headers=poll | {"If-None-Match": changed.headers["ETag"]}).status_code
        == 304
    )


def test_the_poll_address_without_htmx_is_the_page(client, login_as, ward_world):
    login_as(ward_world["desk"])
    response = client.get(f"/ward/beds/board?ward={ward_world['icu'].id}")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/ward/beds?ward={ward_world['icu'].id}"
    )


def test_a_new_day_changes_the_etag(client, login_as, ward_world):
    login_as(ward_world["nurse"])
    first = client.get("/ward/beds/board", headers=HX).headers["ETag"]
    clock.set_frozen(NOW + timedelta(days=3))
    again = client.get("/ward/beds/board", headers=HX | {"If-None-Match": first})
    assert again.status_code == 200 and "3 days in" in again.get_data(as_text=True)


def test_a_nurse_marks_a_bed_cleaned_with_and_without_javascript(client, login_as, ward_world):
    login_as(ward_world["nurse"])
    bed = _cleaning_bed(ward_world)
    response = client.post(f"/ward/beds/{bed.id}/cleaned", data={"version": bed.version}, headers=HX)
    assert response.status_code == 200 and "ready for the next patient" in response.get_data(as_text=True)
    db.session.refresh(bed)
    assert bed.status == BedStatus.free
    again = client.post(f"/ward/beds/{bed.id}/cleaned", data={"version": bed.version - 1}, headers=HX)
    assert again.status_code == 409 and 'id="bed-board"' in again.get_data(as_text=True)
    other = make_cleaning(ward_world)
    plain = client.post(f"/ward/beds/{other.id}/cleaned", data={"version": other.version, "ward": "x"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/ward/beds")
    db.session.refresh(other)
    assert other.status == BedStatus.free
    garbage = client.post(f"/ward/beds/{bed.id}/cleaned", data={"version": "9" * 40}, headers=HX)
    assert garbage.status_code == 409


def make_cleaning(world) -> Bed:  # type: ignore[no-untyped-def]
    bed = Bed(
        ward_id=world["icu"].id, hospital_id=world["hospital"].id, label="Z9", status=BedStatus.cleaning
    )
    db.session.add(bed)
    db.session.commit()
    return bed


def test_only_the_hospitals_nurses_mark_beds_cleaned(client, login_as, ward_world, make):
    bed = _cleaning_bed(ward_world)
    for user in (ward_world["desk"], ward_world["doctor"], ward_world["admin"], make.nurse(make.hospital())):
        login_as(user)
        assert client.post(f"/ward/beds/{bed.id}/cleaned", data={"version": bed.version}).status_code == 404
    login_as(ward_world["nurse"])
    assert client.post("/ward/beds/999999/cleaned").status_code == 404
    db.session.refresh(bed)
    assert bed.status == BedStatus.cleaning


def test_the_board_sends_the_same_statements_for_5_beds_or_60(client, login_as, ward_world, make):
    login_as(ward_world["nurse"])
    path = "/ward/beds"

    def count() -> int:
        client.get(path)
        with recorded() as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    few = count()
    for n in range(12):
        ward = make.ward(ward_world["hospital"], f"Extra {n}", beds=4)
        patient = make.patient()
        inpatient.admit_patient(
            hospital=ward_world["hospital"],
            patient=patient.patient,
            ward_id=ward.id,
            bed_id=ward.beds[0].id,
            doctor_id=None,
            actor=make.doctor_at(ward_world["hospital"]),
            reason="Observation",
        )
        db.session.commit()
    many = count()
    assert many == few <= 10, (few, many)
    with recorded() as seen:
        assert client.get("/ward/beds/board", headers=HX).status_code == 200
    assert len(seen) <= 10


def test_the_board_is_small_and_has_no_wide_table(client, login_as, ward_world):
    login_as(ward_world["nurse"])
    html = client.get("/ward/beds").get_data(as_text=True)
    assert "<table" not in html and 'style="' not in html and "<script>" not in html
    assert len(html.encode()) < 20_000
    fragment = client.get("/ward/beds/board", headers=HX).get_data(as_text=True)
    assert len(fragment.encode()) < 5_000
