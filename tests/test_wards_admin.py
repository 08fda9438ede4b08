"""The hospital administrator's wards and beds: wards added and edited in their rows (the nightly rate in
the hospital's currency), closed and opened; beds added as ranges, renamed, out of service and back,
cleaned, removed (retired when stays name them, deleted otherwise), never while a patient lies in them;
the 422 answers that keep what was typed, the same pages without JavaScript, another hospital's ids
(404), two admins on one bed at once, and a fixed number of statements whatever the number of rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Admission, AdmissionStatus, Bed, BedStatus, BedStay, User, Ward, WardKind
from hms.services import wards
from hms.services.errors import Conflict, Invalid
from tests.concurrency import run_at_once
from tests.statements import recorded

HX = {"HX-Request": "true"}
WARD_FORM = {"name": "General ward", "kind": "general", "daily_rate": "2500.50"}


@pytest.fixture
def admin(make, login_as):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def _hospital(admin):  # type: ignore[no-untyped-def]
    return admin.hospital_admin.hospital


def _wards(hospital_id: int) -> list[Ward]:
    return list(db.session.scalars(select(Ward).where(Ward.hospital_id == hospital_id).order_by(Ward.id)))


def _labels(ward: Ward) -> list[str]:
    db.session.expire_all()
    (entry,) = wards.ward_beds(ward.hospital_id, ward.id)
    return [bed.label for bed in entry.beds]


def _occupy(make, bed: Bed, *, stay: bool = True) -> Admission:  # type: ignore[no-untyped-def]
    """A patient admitted into `bed` (the rows the admission service writes), the bed occupied."""
    doctor = make.doctor_at(bed.hospital)
    patient = make.patient()
    admission = Admission(
        hospital_id=bed.hospital_id,
        patient_id=patient.patient.id,
        open_patient_id=patient.patient.id,
        ward_id=bed.ward_id,
        bed_id=bed.id,
        admitting_doctor_id=doctor.doctor.id,
        attending_doctor_id=doctor.doctor.id,
        status=AdmissionStatus.admitted,
        reason="Pneumonia",
        ordered_by_id=doctor.id,
        admitted_at=clock.now(),
        admitted_by_id=doctor.id,
    )
    db.session.add(admission)
    db.session.flush()
    if stay:
        db.session.add(
            BedStay(
                admission_id=admission.id,
                bed_id=bed.id,
                ward_id=bed.ward_id,
                started_at=clock.now(),
                moved_by_id=doctor.id,
            )
        )
    bed.status = BedStatus.occupied
    db.session.commit()
    return admission


def _discharge(admission: Admission) -> None:
    """What a discharge leaves: the admission closed, its stay ended, the bed to be cleaned."""
    bed = admission.bed
    admission.status, admission.bed_id, admission.open_patient_id = AdmissionStatus.discharged, None, None
    for stay in admission.stays:
        stay.ended_at = clock.now()
    bed.status = BedStatus.cleaning
    db.session.commit()


# ---------------------------------------------------------------- wards


def test_an_admin_adds_a_ward_with_its_rate_in_minor_units(client, admin):  # type: ignore[no-untyped-def]
    response = client.post("/hospital/wards", data=WARD_FORM)
    assert response.status_code == 303
    (ward,) = _wards(_hospital(admin).id)
    assert (ward.name, ward.kind, ward.daily_rate_minor, ward.active) == (
        "General ward",
        WardKind.general,
        250050,
        True,
    )
    assert response.headers["Location"] == f"/hospital/wards/{ward.id}"
    page = client.get("/hospital/wards")
    assert page.status_code == 200
    assert "General ward" in page.text and "KES2,500.50" in page.text and "0 beds" in page.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("daily_rate", "1.234"), ("daily_rate", "-5"), ("daily_rate", "lots"), ("name", ""), ("kind", "zoo")],
)
def test_a_bad_ward_is_a_422_keeping_the_form(client, admin, field, value):  # type: ignore[no-untyped-def]
    response = client.post("/hospital/wards", data=WARD_FORM | {field: value}, headers=HX)
    assert response.status_code == 422
    assert 'id="new-ward"' in response.text and "<html" not in response.text
    assert 'value="General ward"' in response.text or field == "name"
    assert 'aria-invalid="true"' in response.text
    assert not _wards(_hospital(admin).id)


def test_a_rate_with_more_decimals_than_the_currency_is_invalid_on_the_daily_rate(make, admin):  # type: ignore[no-untyped-def]
    yen = make.hospital(currency="JPY")
    with pytest.raises(Invalid) as refused:
        wards.create_ward(yen, admin, name="General", kind="general", daily_rate="1500.5")
    assert refused.value.field == "daily_rate" and refused.value.status == 422
    assert "JPY amounts have at most 0 decimals" in refused.value.message
    ward = wards.create_ward(yen, admin, name="General", kind="general", daily_rate="1500")
    assert ward.daily_rate_minor == 1500
    kes = wards.create_ward(_hospital(admin), admin, name="ICU", kind="icu", daily_rate=None)
    assert kes.daily_rate_minor == 0


def test_without_javascript_a_bad_rate_shows_the_whole_page_with_the_form(client, admin):  # type: ignore[no-untyped-def]
    response = client.post("/hospital/wards", data=WARD_FORM | {"daily_rate": "10.999"})
    assert response.status_code == 422
    assert "<html" in response.text and 'value="General ward"' in response.text
    assert "KES amounts have at most 2 decimals" in response.text


def test_a_duplicate_ward_name_is_a_422(client, admin, make):  # type: ignore[no-untyped-def]
    make.ward(_hospital(admin), "General ward")
    response = client.post("/hospital/wards", data=WARD_FORM | {"name": "general WARD"}, headers=HX)
    assert response.status_code == 422 and "already exists" in response.text
    make.ward(make.hospital(), "Maternity")
    assert client.post("/hospital/wards", data=WARD_FORM | {"name": "Maternity"}).status_code == 303


def test_a_ward_is_edited_in_its_row(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=3)
    form = client.get(f"/hospital/wards/{ward.id}?fragment=edit", headers=HX)
    assert form.status_code == 200 and form.text.lstrip().startswith(f'<tr id="ward-{ward.id}"')
    assert "<form" in form.text and 'value="5000.00"' in form.text or 'value="5000"' in form.text
    data = {"name": "Surgical ward", "kind": "surgical", "daily_rate": "7000"}
    response = client.post(f"/hospital/wards/{ward.id}?fragment=row", data=data, headers=HX)
    assert response.status_code == 200 and response.text.lstrip().startswith("<tr")
    assert "Surgical ward" in response.text and "Saved." in response.text and "3 beds" in response.text
    db.session.refresh(ward)
    assert (ward.name, ward.kind, ward.daily_rate_minor) == ("Surgical ward", WardKind.surgical, 700000)
    row = client.get(f"/hospital/wards/{ward.id}?fragment=row", headers=HX)
    assert row.text.lstrip().startswith("<tr") and "Surgical ward" in row.text


def test_a_bad_row_edit_is_a_422_with_the_row_form_kept(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General")
    data = {"name": "Renamed", "kind": "general", "daily_rate": "12.345"}
    response = client.post(f"/hospital/wards/{ward.id}?fragment=row", data=data, headers=HX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith(f'<tr id="ward-{ward.id}"')
    assert 'value="Renamed"' in response.text and "at most 2 decimals" in response.text
    db.session.refresh(ward)
    assert ward.name == "General" and ward.daily_rate_minor == 500000


def test_without_javascript_a_ward_is_edited_on_its_page(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General")
    page = client.get(f"/hospital/wards/{ward.id}")
    assert page.status_code == 200 and 'id="edit-ward"' in page.text
    data = {"name": "Renamed", "kind": "general", "daily_rate": "1"}
    response = client.post(f"/hospital/wards/{ward.id}", data=data)
    assert response.status_code == 303 and response.headers["Location"] == f"/hospital/wards/{ward.id}"
    bad = client.post(f"/hospital/wards/{ward.id}", data=data | {"daily_rate": "0.001", "name": "Again"})
    assert bad.status_code == 422 and "<html" in bad.text and 'value="Again"' in bad.text
    db.session.refresh(ward)
    assert ward.name == "Renamed" and ward.daily_rate_minor == 100


def test_a_ward_is_closed_and_opened_but_not_with_a_patient_in_it(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=2)
    response = client.post(f"/hospital/wards/{ward.id}/status", data={"action": "close"}, headers=HX)
    assert response.status_code == 200 and "closed" in response.text
    db.session.refresh(ward)
    assert not ward.active
    assert client.post(f"/hospital/wards/{ward.id}/status", data={"action": "open"}).status_code == 303
    db.session.refresh(ward)
    assert ward.active
    _occupy(make, ward.beds[0])
    refused = client.post(f"/hospital/wards/{ward.id}/status", data={"action": "close"}, headers=HX)
    assert refused.status_code == 409 and "Patients lie in this ward" in refused.text
    db.session.refresh(ward)
    assert ward.active
    assert (
        client.post(f"/hospital/wards/{ward.id}/status", data={"action": "x"}, headers=HX).status_code == 422
    )


# ---------------------------------------------------------------- beds


def test_a_range_adds_several_beds_in_their_natural_order(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General")
    response = client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "A1-A12"}, headers=HX)
    assert response.status_code == 200 and "12 beds added." in response.text
    assert _labels(ward) == [f"A{n}" for n in range(1, 13)]
    assert response.text.index('value="A2"') < response.text.index('value="A10"')
    client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "B01-B03, ICU-1-ICU-2, Side room"})
    assert _labels(ward)[12:] == ["B01", "B02", "B03", "ICU-1", "ICU-2", "Side room"]
    beds = db.session.scalars(select(Bed).where(Bed.ward_id == ward.id))
    assert {(b.status, b.hospital_id, b.retired) for b in beds} == {(BedStatus.free, ward.hospital_id, False)}


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ("A3", "already has a bed called A3"),
        ("A2-A5", "already has a bed called A2, A3"),
        ("a1", "already has a bed called A1"),
        ("C1, C1", "already has a bed called C1"),
        ("A5-A1", "A range goes up"),
        ("D1-D500", "at most 100 beds"),
        ("<b>", "Enter a bed label"),
        (",", "Enter a bed label"),
    ],
)
def test_a_duplicate_or_bad_label_is_a_422_adding_nothing(client, admin, make, labels, words):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General")
    client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "A1-A3"})
    response = client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": labels}, headers=HX)
    assert response.status_code == 422
    assert words in response.text and f'value="{labels}"' in response.text.replace("&lt;b&gt;", "<b>")
    assert _labels(ward) == ["A1", "A2", "A3"]


def test_without_javascript_beds_are_added_with_a_redirect(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General")
    response = client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "A1"})
    assert response.status_code == 303 and response.headers["Location"] == f"/hospital/wards/{ward.id}"
    assert "1 bed added." in client.get(f"/hospital/wards/{ward.id}").text
    bad = client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "A1"})
    assert bad.status_code == 422 and "<html" in bad.text


def test_a_bed_is_renamed_in_its_row_and_a_taken_label_is_a_422(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=2)
    first, second = ward.beds
    response = client.post(f"/hospital/wards/{ward.id}/beds/{first.id}", data={"label": "Window"}, headers=HX)
    assert response.status_code == 200 and response.text.lstrip().startswith(f'<tr id="bed-{first.id}"')
    assert 'value="Window"' in response.text and "Renamed." in response.text
    taken = client.post(f"/hospital/wards/{ward.id}/beds/{second.id}", data={"label": "window"}, headers=HX)
    assert taken.status_code == 422 and "already has a bed called window" in taken.text
    assert 'aria-invalid="true"' in taken.text and 'value="window"' in taken.text
    plain = client.post(f"/hospital/wards/{ward.id}/beds/{second.id}", data={"label": "Door"})
    assert plain.status_code == 303
    assert _labels(ward) == ["Door", "Window"]


def test_a_free_bed_goes_out_of_service_and_back_and_a_cleaned_bed_is_free(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=1)
    bed = ward.beds[0]
    url = f"/hospital/wards/{ward.id}/beds/{bed.id}"
    response = client.post(f"{url}/status", data={"status": "out_of_service", "version": "1"}, headers=HX)
    assert response.status_code == 200 and "Back in service" in response.text
    assert 'id="bed-counts" hx-swap-oob="true"' in response.text and "Out of service 1" in response.text
    db.session.refresh(bed)
    assert (bed.status, bed.version) == (BedStatus.out_of_service, 2)
    assert client.post(f"{url}/status", data={"status": "free", "version": "2"}).status_code == 303
    db.session.refresh(bed)
    assert (bed.status, bed.version) == (BedStatus.free, 3)
    bed.status = BedStatus.cleaning
    db.session.commit()
    assert "Cleaned" in client.get(f"/hospital/wards/{ward.id}").text
    cleaned = client.post(f"{url}/cleaned", data={"version": str(bed.version)}, headers=HX)
    assert cleaned.status_code == 200 and "clean and free" in cleaned.text
    db.session.refresh(bed)
    assert (bed.status, bed.version) == (BedStatus.free, 4)


def test_a_move_the_admin_may_not_make_is_a_409(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=1)
    bed = ward.beds[0]
    url = f"/hospital/wards/{ward.id}/beds/{bed.id}"
    for status in ("occupied", "cleaning"):
        response = client.post(f"{url}/status", data={"status": status}, headers=HX)
        assert response.status_code == 409, status
    assert client.post(f"{url}/cleaned", headers=HX).status_code == 409
    assert client.post(f"{url}/status", data={"status": "purple"}, headers=HX).status_code == 422
    stale = client.post(f"{url}/status", data={"status": "out_of_service", "version": "7"}, headers=HX)
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    db.session.refresh(bed)
    assert (bed.status, bed.version) == (BedStatus.free, 1)


def test_an_occupied_bed_cannot_be_set_out_of_service_cleaned_or_removed(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=1)
    bed = ward.beds[0]
    _occupy(make, bed)
    url = f"/hospital/wards/{ward.id}/beds/{bed.id}"
    page = client.get(f"/hospital/wards/{ward.id}")
    assert "A patient lies in this bed." in page.text and f"{url}/remove" not in page.text
    for path, data in (
        ("/status", {"status": "out_of_service"}),
        ("/status", {"status": "free"}),
        ("/cleaned", {}),
        ("/remove", {}),
    ):
        response = client.post(url + path, data=data, headers=HX)
        assert response.status_code == 409, path
        assert "is in use" in response.text
    plain = client.post(f"{url}/remove")
    assert plain.status_code == 303
    assert "is in use" in client.get(f"/hospital/wards/{ward.id}").text
    db.session.refresh(bed)
    assert (bed.status, bed.retired, bed.version) == (BedStatus.occupied, False, 1)


def test_a_bed_held_by_an_admission_is_in_use_whatever_its_status_says(make, admin):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=1)
    bed = ward.beds[0]
    _occupy(make, bed)
    bed.status = BedStatus.free  # a stale status must not let the bed go
    db.session.commit()
    with pytest.raises(Conflict):
        wards.set_bed_status(bed, "out_of_service", admin)
    with pytest.raises(Conflict):
        wards.remove_bed(bed, admin)


def test_a_used_bed_is_retired_and_a_new_one_deleted(client, admin, make):  # type: ignore[no-untyped-def]
    ward = make.ward(_hospital(admin), "General", beds=2)
    used, new = ward.beds
    _discharge(_occupy(make, used))
    used_id, new_id = used.id, new.id
    confirm = client.get(f"/hospital/wards/{ward.id}/beds/{used_id}/remove")
    assert confirm.status_code == 200 and "Remove the bed" in confirm.text and "<html" in confirm.text
    row = client.get(f"/hospital/wards/{ward.id}/beds/{used_id}/remove?fragment=row", headers=HX)
    assert row.text.lstrip().startswith(f'<tr id="bed-{used_id}"') and "Remove bed B1?" in row.text
    response = client.post(f"/hospital/wards/{ward.id}/beds/{used_id}/remove", headers=HX)
    assert response.status_code == 200 and "past stays keep it" in response.text
    assert f'id="bed-{used_id}"' not in response.text
    db.session.expire_all()
    retired = db.session.get(Bed, used_id)
    assert retired.retired and retired.status == BedStatus.out_of_service
    assert client.post(f"/hospital/wards/{ward.id}/beds/{new_id}/remove").status_code == 303
    assert db.session.get(Bed, new_id) is None
    assert _labels(ward) == []
    gone = client.get(f"/hospital/wards/{ward.id}/beds/{used_id}/remove")
    assert gone.status_code == 404
    # Adding its label again brings the retired bed back, with its history.
    client.post(f"/hospital/wards/{ward.id}/beds", data={"labels": "B1-B2"})
    db.session.expire_all()
    assert _labels(ward) == ["B1", "B2"]
    back = db.session.get(Bed, used_id)
    assert not back.retired and back.status == BedStatus.free


def test_a_nurse_marks_a_bed_cleaned(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    ward = make.ward(hospital, "General")
    bed = make.bed(ward, "A1", status=BedStatus.cleaning)
    nurse = make.nurse(hospital)
    wards.mark_bed_cleaned(bed, nurse)
    db.session.commit()
    assert (bed.status, bed.version) == (BedStatus.free, 2)
    assert bed.changed_at is not None
    with pytest.raises(Conflict):
        wards.mark_bed_cleaned(bed, nurse)


# ---------------------------------------------------------------- access


def test_another_hospitals_wards_and_beds_are_404(client, admin, make):  # type: ignore[no-untyped-def]
    other = make.ward(make.hospital(), "Theirs", beds=1)
    theirs = other.beds[0]
    own = make.ward(_hospital(admin), "Ours", beds=1)
    for method, url in (
        ("GET", f"/hospital/wards/{other.id}"),
        ("GET", f"/hospital/wards/{other.id}?fragment=edit"),
        ("POST", f"/hospital/wards/{other.id}"),
        ("POST", f"/hospital/wards/{other.id}/status"),
        ("POST", f"/hospital/wards/{other.id}/beds"),
        ("POST", f"/hospital/wards/{other.id}/beds/{theirs.id}"),
        ("POST", f"/hospital/wards/{own.id}/beds/{theirs.id}"),
        ("POST", f"/hospital/wards/{own.id}/beds/{theirs.id}/status"),
        ("POST", f"/hospital/wards/{other.id}/beds/{theirs.id}/cleaned"),
        ("GET", f"/hospital/wards/{own.id}/beds/{theirs.id}/remove"),
        ("POST", f"/hospital/wards/{own.id}/beds/{theirs.id}/remove"),
        ("POST", f"/hospital/wards/{other.id}/beds/{own.beds[0].id}/remove"),
    ):
        data = {"action": "close", "labels": "Z1", "label": "Z", "status": "out_of_service", **WARD_FORM}
        assert client.open(url, method=method, data=data, headers=HX).status_code == 404, url
    db.session.expire_all()
    assert db.session.get(Bed, theirs.id).status == BedStatus.free
    assert db.session.get(Ward, other.id).active


@pytest.mark.parametrize("role", ["patient", "doctor", "staff"])
def test_other_roles_are_refused(client, make, login_as, role):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    ward = make.ward(hospital, beds=1)
    user = {
        "patient": make.patient,
        "doctor": lambda: make.doctor_at(hospital),
        "staff": lambda: make.nurse(hospital),
    }[role]()
    login_as(user)
    for url in ("/hospital/wards", f"/hospital/wards/{ward.id}"):
        assert client.get(url).status_code == 403


def test_wards_and_beds_are_in_the_admins_menu(client, admin):  # type: ignore[no-untyped-def]
    page = client.get("/hospital/wards")
    assert 'href="/hospital/wards" aria-current="page"' in page.text or (
        'aria-current="page"' in page.text and "Wards and beds" in page.text
    )


# ---------------------------------------------------------------- statements

WARDS_PAGE_BUDGET = 4  # the user with his session, the wards (or the ward), their beds, the bell's count


def _statements(client, url: str) -> int:  # type: ignore[no-untyped-def]
    client.get(url)
    db.session.expire_all()
    with recorded() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_pages_send_a_fixed_number_of_statements(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = _hospital(admin)
    first = make.ward(hospital, "First", beds=2)
    pages = ("/hospital/wards", f"/hospital/wards/{first.id}")
    few = {url: _statements(client, url) for url in pages}
    for n in range(6):
        make.ward(hospital, f"More {n}", beds=5)
    for label in ("C1", "C2", "C3"):
        make.bed(first, label, status=BedStatus.cleaning)
    _occupy(make, first.beds[0])
    for url, count in few.items():
        assert _statements(client, url) == count <= WARDS_PAGE_BUDGET, url


# ---------------------------------------------------------------- races


@pytest.mark.concurrency
def test_two_admins_setting_one_beds_status_at_once_one_wins(app, make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    ward = make.ward(hospital, "General", beds=1)
    bed_id = ward.beds[0].id
    admins = [make.hospital_admin(hospital).id, make.hospital_admin(hospital).id]

    def out_of_service(user_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            bed = db.session.get(Bed, bed_id)
            wards.set_bed_status(bed, BedStatus.out_of_service, db.session.get(User, user_id), version=1)
            db.session.commit()

        return job

    outcomes = run_at_once(app, [out_of_service(user_id) for user_id in admins])
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    bed = db.session.get(Bed, bed_id)
    assert (bed.status, bed.version) == (BedStatus.out_of_service, 2)


@pytest.mark.concurrency
def test_a_nurse_and_an_admin_marking_one_bed_cleaned_at_once_make_one_change(app, make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    ward = make.ward(hospital, "General")
    bed_id = make.bed(ward, "A1", status=BedStatus.cleaning).id
    people = [make.hospital_admin(hospital).id, make.nurse(hospital).id]

    def cleaned(user_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            wards.mark_bed_cleaned(db.session.get(Bed, bed_id), db.session.get(User, user_id), version=1)
            db.session.commit()

        return job

    outcomes = run_at_once(app, [cleaned(user_id) for user_id in people])
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    bed = db.session.get(Bed, bed_id)
    assert (bed.status, bed.version) == (BedStatus.free, 2)


def test_ward_beds_leaves_out_retired_beds_and_other_hospitals(make, admin):  # type: ignore[no-untyped-def]
    hospital = _hospital(admin)
    ward = make.ward(hospital, "General", beds=2)
    make.bed(ward, "Old", retired=True)
    make.ward(make.hospital(), "Theirs", beds=3)
    closed = make.ward(hospital, "Annex", active=False)
    listing = wards.ward_beds(hospital.id)
    assert [entry.ward.name for entry in listing] == ["General", "Annex"]
    assert [b.label for b in listing[0].beds] == ["B1", "B2"]
    assert listing[0].counts[BedStatus.free] == 2 and listing[1].ward.id == closed.id
    assert wards.ward_beds(hospital.id, 999999) == []
    assert clock.now() - ward.beds[0].changed_at < timedelta(days=1)
