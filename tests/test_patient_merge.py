"""Merging two records of one person: nothing lost, every moved row logged and pointing at the kept
record, undo restores exactly, refusals with their reasons, and every reference to a patient covered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import (
    AppointmentStatus,
    AuditEvent,
    Message,
    Notification,
    NotificationPreference,
    Patient,
    PatientMerge,
    Sex,
    StaffKind,
)
from hms.services import desk, merge
from hms.services.errors import Conflict

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Nairobi


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _walk_in(hospital, receptionist, name="Amina Wanjiru"):  # type: ignore[no-untyped-def]
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name=name,
        sex=Sex.female,
        phone="+254 711 222 333",
        date_of_birth=date(1985, 4, 12),
    )
    db.session.commit()
    return patient


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _pointing_at(patient: Patient) -> dict[tuple[str, str], set[int]]:
    """For every moved column, the primary keys of the rows referring to this patient (or his user)."""
    found = {}
    for ref in merge.moved_references():
        target = patient.id if ref.target == "patients" else patient.user_id
        (pk,) = ref.table.primary_key.columns
        found[ref.key] = set(db.session.scalars(select(pk).where(ref.column == target)))
    return found


def _world(make):  # type: ignore[no-untyped-def]
    """A hospital with a receptionist, an online patient (kept) and a walk-in record of the same person
    (merged) with a little of everything: visits, bills, clinical records, chat, notices, preferences."""
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient(name="Amina Wanjiru")
    merged = _walk_in(hospital, receptionist)
    doctor = make.doctor_at(hospital)
    past = make.appointment(
        merged.user, doctor, hospital, start_at=NOW - timedelta(days=30), status=AppointmentStatus.fulfilled
    )
    make.appointment(merged.user, doctor, hospital, start_at=NOW + timedelta(days=3))
    make.appointment(kept, doctor, hospital, start_at=NOW + timedelta(days=4))
    make.encounter(past)
    make.history_entry(merged.user)
    make.bill(merged.user, hospital)
    make.vitals(past, make.nurse(hospital))
    db.session.add_all(
        [
            Message(appointment_id=past.id, sender_id=merged.user_id, body="Thank you"),
            Notification(user_id=merged.user_id, kind="appointment", text="Booked"),
            NotificationPreference(user_id=merged.user_id, kind="appointment", sms=True),  # kept has one
            NotificationPreference(user_id=merged.user_id, kind="reminder", sms=True),  # kept has none
            NotificationPreference(user_id=kept.id, kind="appointment", sms=False),
        ]
    )
    db.session.commit()
    return hospital, receptionist, kept.patient, merged


def test_every_reference_to_a_patient_is_moved_or_listed_as_an_exception(app):  # type: ignore[no-untyped-def]
    """A new foreign key to patients.id or users.id fails here until the merge moves it (the default)
    or EXCEPTIONS says why not; a moved column under a unique constraint needs an ON_CLASH rule."""
    keys = {ref.key for ref in merge.references()}
    assert set(merge.EXCEPTIONS) <= keys, "an exception names a column that does not exist"
    for ref in merge.moved_references():
        (pk,) = ref.table.primary_key.columns  # undo addresses rows by one integer key
        for constraint in ref.table.constraints:
            columns = list(getattr(constraint, "columns", []))
            if type(constraint).__name__ == "UniqueConstraint" and ref.column in columns:
                assert ref.key in merge.ON_CLASH, f"{ref.key} is unique: say what a merge does on a clash"
        assert not ref.column.unique or ref.key in merge.ON_CLASH, ref.key


def test_merge_moves_everything_and_loses_nothing(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    before, theirs, ours = _counts(), _pointing_at(merged), _pointing_at(kept)
    dropped = db.session.scalar(
        select(NotificationPreference.id).where(
            NotificationPreference.user_id == merged.user_id, NotificationPreference.kind == "appointment"
        )
    )

    done = merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()

    after = _counts()
    changes = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert changes == {
        "patient_merges": 1,
        "patient_merge_rows": len(done.rows),
        "audit_events": 2,
        "notification_preferences": -1,  # the kept record's own preference of that kind wins
    }
    now_kept = _pointing_at(kept)
    now_kept[("patients", "merged_into_id")] -= {merged.id}  # the merged record's pointer itself
    for key, rows in theirs.items():
        if key == ("notification_preferences", "user_id"):
            rows = rows - {dropped}
        assert rows <= now_kept[key], key
        assert now_kept[key] == rows | ours[key], key
    assert sum(len(rows) for rows in theirs.values()) >= 8
    left = {key: rows for key, rows in _pointing_at(merged).items() if rows}
    assert left == {}
    db.session.refresh(merged)
    assert merged.merged_into_id == kept.id and not merged.user.active
    logged = {(r.table_name, r.row_id, r.column_name) for r in done.rows}
    assert ("appointments", min(theirs[("appointments", "patient_id")]), "patient_id") in logged
    assert ("notification_preferences", dropped, None) in logged
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "merge")).all()
    assert {e.patient_id for e in events} == {kept.id, merged.id}
    assert all(e.user_id == receptionist.id and e.hospital_id == hospital.id for e in events)


def test_undo_restores_exactly(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    admin = make.hospital_admin(hospital)
    before, theirs, ours = _counts(), _pointing_at(merged), _pointing_at(kept)
    done = merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()

    merge.undo_merge(done, admin)
    db.session.commit()

    after = _counts()
    changes = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert changes == {"patient_merges": 1, "patient_merge_rows": len(done.rows), "audit_events": 4}
    assert _pointing_at(merged) == theirs
    assert _pointing_at(kept) == ours
    db.session.refresh(merged)
    assert merged.merged_into_id is None and merged.user.active
    assert done.undone_by_id == admin.id and done.undone_at is not None
    with pytest.raises(Conflict, match="already undone"):
        merge.undo_merge(done, admin)


def test_undo_is_refused_when_a_moved_row_changed_since(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    done = merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.user_id == kept.user_id))
    db.session.delete(note)
    db.session.commit()
    with pytest.raises(merge.ChangedSince) as refused:
        merge.undo_merge(done, make.hospital_admin(hospital))
    assert refused.value.rows == [f"notifications {note.id}"]
    db.session.rollback()
    assert db.session.get(PatientMerge, done.id).undone_at is None


def test_undo_is_refused_when_the_kept_record_was_merged_again(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    first = merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    # The kept record is itself a walk-in record here, merged later into a third one.
    third = make.patient()
    kept.user.password_hash = None
    db.session.commit()
    merge.merge_patients(third.patient, kept, receptionist, hospital)
    db.session.commit()
    with pytest.raises(Conflict, match="merged into another one since"):
        merge.undo_merge(first, make.hospital_admin(hospital))


def test_merge_refusals(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    with pytest.raises(Conflict, match="with itself"):
        merge.merge_patients(merged, merged, receptionist, hospital)
    db.session.rollback()
    with pytest.raises(Conflict, match="This record has a login: keep it"):
        merge.merge_patients(merged, kept, receptionist, hospital)
    db.session.rollback()
    other = make.patient()
    with pytest.raises(Conflict, match="Both records have a login"):
        merge.merge_patients(kept, other.patient, receptionist, hospital)
    db.session.rollback()
    merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    with pytest.raises(Conflict, match="already merged"):
        merge.merge_patients(other.patient, merged, receptionist, hospital)


def test_merge_is_refused_while_both_have_an_open_visit_today(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient()
    merged = _walk_in(hospital, receptionist)
    make.checked_in(hospital, merged.user)  # arrived
    make.appointment(kept, None, make.hospital(), start_at=NOW + timedelta(hours=6))  # booked, same day
    with pytest.raises(Conflict, match="open visit today") as refused:
        merge.merge_patients(kept.patient, merged, receptionist, hospital)
    assert refused.value.status == 409


def test_merge_with_only_one_open_visit_today_goes_ahead(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient()
    merged = _walk_in(hospital, receptionist)
    visit = make.checked_in(hospital, merged.user)
    make.appointment(
        kept, None, hospital, start_at=NOW - timedelta(days=1), status=AppointmentStatus.fulfilled
    )
    merge.merge_patients(kept.patient, merged, receptionist, hospital)
    db.session.commit()
    db.session.refresh(visit)
    assert visit.patient_id == kept.patient.id


def test_merge_is_refused_when_both_are_booked_at_the_same_time(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient()
    merged = _walk_in(hospital, receptionist)
    when = NOW + timedelta(days=2)
    make.appointment(merged.user, None, hospital, start_at=when)
    make.appointment(kept, None, hospital, start_at=when)
    with pytest.raises(Conflict, match="same time"):
        merge.merge_patients(kept.patient, merged, receptionist, hospital)


def test_a_merged_record_is_no_longer_found_at_the_desk(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = _walk_in(hospital, receptionist, "Amina Wanjiru")
    merged = _walk_in(hospital, receptionist, "Amina Wanjiru")
    merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    assert [f.patient.id for f in desk.find_patients(hospital, "Amina")] == [kept.id]
    assert [f.patient.id for f in desk.find_patients(hospital, merged.mrn)] == []
    assert desk.hospital_patient(hospital, merged.id) is None
    assert merge.final_record(merged).id == kept.id
    assert [d.patient.id for d in desk.find_duplicates("Amina Wanjiru", date(1985, 4, 12), None)] == [kept.id]


# ---------------------------------------------------------------- pages


def test_receptionist_merges_on_the_pages_and_the_old_page_points_to_the_kept_one(make, client, login_as):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = _walk_in(hospital, receptionist, "Amina Wanjiru")
    merged = _walk_in(hospital, receptionist, "Amina Wanjiru")
    make.bill(merged.user, hospital)
    login_as(receptionist)
    page = client.get(f"/staff/desk/patients/{kept.id}/merge?q=Amina")
    assert f"/staff/desk/patients/{kept.id}/merge/{merged.id}" in page.text
    compare = client.get(f"/staff/desk/patients/{kept.id}/merge/{merged.id}")
    assert compare.status_code == 200 and kept.mrn in compare.text and merged.mrn in compare.text
    done = client.post(f"/staff/desk/patients/{kept.id}/merge/{merged.id}")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/staff/desk/patients/{kept.id}")
    old = client.get(f"/staff/desk/patients/{merged.id}")
    assert old.status_code == 303 and old.headers["Location"].endswith(f"/staff/desk/patients/{kept.id}")
    again = client.post(f"/staff/desk/patients/{kept.id}/merge/{merged.id}")
    assert again.status_code == 404  # the merged record is no longer a desk record


def test_a_refused_merge_answers_409_with_the_reason(make, client, login_as):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept, merged = _walk_in(hospital, receptionist), _walk_in(hospital, receptionist)
    make.checked_in(hospital, merged.user)
    make.appointment(kept.user, None, hospital, start_at=NOW + timedelta(hours=2))
    login_as(receptionist)
    refused = client.post(f"/staff/desk/patients/{kept.id}/merge/{merged.id}")
    assert refused.status_code == 409 and "open visit today" in refused.text


def test_hospital_admin_undoes_a_merge_on_his_list(make, client, login_as):  # type: ignore[no-untyped-def]
    hospital, receptionist, kept, merged = _world(make)
    done = merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    login_as(make.hospital_admin(hospital))
    listing = client.get("/hospital/desk/merges")
    assert listing.status_code == 200 and merged.mrn in listing.text
    assert client.post(f"/hospital/desk/merges/{done.id}/undo").status_code == 303
    assert client.get(f"/hospital/desk/patients/{merged.id}").status_code == 200
    again = client.post(f"/hospital/desk/merges/{done.id}/undo")
    assert again.status_code == 409 and "already undone" in again.text
    login_as(make.hospital_admin(make.hospital()))
    assert client.post(f"/hospital/desk/merges/{done.id}/undo").status_code == 404


def test_fhir_read_of_a_merged_id_points_to_the_kept_record(make, client):  # type: ignore[no-untyped-def]
    from tests.test_fhir_api import bearer, validate

    hospital, receptionist, kept, merged = _world(make)
    merge.merge_patients(kept, merged, receptionist, hospital)
    db.session.commit()
    for reader in (kept.user, make.hospital_admin(hospital)):
        response = client.get(f"/fhir/Patient/{merged.id}", headers=bearer(reader))
        assert response.status_code == 200, reader
        body = response.get_json()
        validate(body)
        assert body["active"] is False
        assert body["link"] == [{"other": {"reference": f"Patient/{kept.id}"}, "type": "replaced-by"}]
        assert client.get(f"/fhir/Patient/{kept.id}", headers=bearer(reader)).get_json().get("link") is None
    stranger = make.patient()
    assert client.get(f"/fhir/Patient/{merged.id}", headers=bearer(stranger)).status_code == 404


def _admitted(make, hospital, patient_user):  # type: ignore[no-untyped-def]
    from hms.services import inpatient

    doctor = make.doctor_at(hospital)
    ward = make.ward(hospital, beds=1)
    admission = inpatient.admit_patient(
        hospital=hospital, patient=patient_user.patient, ward_id=None, bed_id=ward.beds[0].id,
        doctor_id=None, actor=doctor, reason="Observation",
    )  # fmt: skip
    db.session.commit()
    return admission


def test_merge_is_refused_while_both_records_are_admitted(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient()
    merged = _walk_in(hospital, receptionist)
    _admitted(make, hospital, kept)
    _admitted(make, hospital, merged.user)
    with pytest.raises(Conflict, match="Both records are admitted"):
        merge.merge_patients(kept.patient, merged, receptionist, hospital)


def test_the_merged_records_admission_moves_to_the_kept_one(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    kept = make.patient()
    merged = _walk_in(hospital, receptionist)
    admission = _admitted(make, hospital, merged.user)
    merge.merge_patients(kept.patient, merged, receptionist, hospital)
    db.session.commit()
    db.session.refresh(admission)
    assert admission.patient_id == admission.open_patient_id == kept.patient.id
