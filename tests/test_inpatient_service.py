"""Inpatient care's rules (hms.services.inpatient): admitting into a free bed only, one open admission per
patient, admission orders given a bed by the desk, transfers that keep the history and send the old bed
to cleaning, the discharge summary, the discharge with its room nights by the midnight census, and who
may do what. The races are in tests/test_inpatient_concurrency.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    Admission,
    AdmissionStatus,
    Bed,
    BedStatus,
    BillStatus,
    ItemKind,
    NoteKind,
    StaffKind,
)
from hms.services import clinical, inpatient
from hms.services.errors import Conflict, Invalid, NotAllowed
from hms.services.inpatient import StaySpan, room_nights
from hms.services.triage import VitalsInvalid
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi", currency="KES")
    doctor = make.doctor_at(hospital)
    visit = make.appointment(doctor_user=doctor, hospital_row=hospital, start_at=NOW)
    encounter = make.encounter(visit)
    general = make.ward(hospital, "General", beds=3, daily_rate_minor=300000)
    icu = make.ward(hospital, "ICU", beds=2, daily_rate_minor=1500000)
    return {
        "hospital": hospital,
        "doctor": doctor,
        "encounter": encounter,
        "patient": visit.patient,
        "general": general,
        "icu": icu,
        "nurse": make.staff(hospital, StaffKind.nurse),
        "desk": make.staff(hospital, StaffKind.receptionist),
    }


def _admit(world, bed: Bed | None = None, **kwargs):  # type: ignore[no-untyped-def]
    values = {
        "hospital": world["hospital"],
        "patient": world["patient"],
        "ward_id": world["general"].id,
        "bed_id": (bed or world["general"].beds[0]).id,
        "doctor_id": None,
        "actor": world["doctor"],
        "reason": "Pneumonia, needs IV antibiotics",
        "expected_days": 3,
        "encounter": world["encounter"],
    } | kwargs
    admission = inpatient.admit_patient(**values)
    db.session.commit()
    return admission


def test_a_doctor_admits_from_the_encounter_into_a_free_bed(world):  # type: ignore[no-untyped-def]
    admission = _admit(world)
    bed = world["general"].beds[0]
    db.session.refresh(bed)
    assert admission.status == AdmissionStatus.admitted and admission.bed_id == bed.id
    assert bed.status == BedStatus.occupied and bed.version == 2
    assert admission.open_patient_id == world["patient"].id
    assert admission.admitting_doctor_id == admission.attending_doctor_id == world["doctor"].doctor.id
    [stay] = admission.stays
    assert stay.bed_id == bed.id and stay.ended_at is None and stay.moved_by_id == world["doctor"].id


def test_an_occupied_bed_is_refused_and_free_ones_are_offered(world, make):  # type: ignore[no-untyped-def]
    _admit(world)
    other = make.patient()
    with pytest.raises(Conflict) as refused:
        _admit(world, patient=other.patient, encounter=None)
    db.session.rollback()
    assert "no longer free" in refused.value.message
    offered = {bed.label for bed in refused.value.free_beds}
    assert offered == {"B2", "B3"}
    assert db.session.scalar(select(Admission).where(Admission.patient_id == other.patient.id)) is None


def test_a_patient_cannot_be_admitted_twice_at_once(world):  # type: ignore[no-untyped-def]
    _admit(world)
    with pytest.raises(Conflict, match="already admitted"):
        _admit(world, bed=world["general"].beds[1])
    db.session.rollback()
    assert world["general"].beds[1].status == BedStatus.free


def test_bad_input_is_refused_with_the_field(world, make):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as no_reason:
        _admit(world, reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(Invalid) as long_stay:
        _admit(world, expected_days="400")
    assert long_stay.value.field == "expected_days"
    other_hospital_bed = make.ward(make.hospital(), beds=1).beds[0]
    with pytest.raises(Invalid) as foreign:
        _admit(world, bed=other_hospital_bed)
    assert foreign.value.field == "bed_id"
    db.session.rollback()


def test_only_the_visits_doctor_admits_from_it_and_the_desk_needs_a_doctor_and_a_bed(world, make):  # type: ignore[no-untyped-def]
    stranger = make.doctor_at(world["hospital"])
    with pytest.raises(NotAllowed):
        _admit(world, actor=stranger)
    with pytest.raises(Invalid) as no_doctor:
        _admit(world, actor=world["desk"], encounter=None)
    assert no_doctor.value.field == "doctor_id"
    with pytest.raises(Invalid) as no_bed:
        _admit(world, actor=world["desk"], encounter=None, bed_id=None, doctor_id=world["doctor"].doctor.id)
    assert no_bed.value.field == "bed_id"
    with pytest.raises(NotAllowed):
        _admit(world, actor=make.staff(world["hospital"], StaffKind.pharmacist), encounter=None)
    db.session.rollback()
    admission = _admit(world, actor=world["desk"], encounter=None, doctor_id=world["doctor"].doctor.id)
    assert admission.status == AdmissionStatus.admitted
    assert (
        admission.admitting_doctor_id == world["doctor"].doctor.id
        and admission.admitted_by_id == world["desk"].id
    )


def test_an_admission_order_waits_for_a_bed_that_the_desk_gives(world):  # type: ignore[no-untyped-def]
    admission = _admit(world, bed_id=None)
    assert admission.status == AdmissionStatus.ordered and admission.bed_id is None
    assert inpatient.waiting_for_beds(world["hospital"].id) == [admission]
    bed = world["icu"].beds[0]
    inpatient.assign_bed(admission, bed.id, world["desk"])
    db.session.commit()
    assert admission.status == AdmissionStatus.admitted and admission.ward_id == world["icu"].id
    assert admission.admitted_by_id == world["desk"].id
    with pytest.raises(NotAllowed):
        inpatient.assign_bed(admission, world["icu"].beds[1].id, world["desk"])


def test_an_admission_order_can_be_cancelled_and_frees_the_patient(world):  # type: ignore[no-untyped-def]
    admission = _admit(world, bed_id=None)
    with pytest.raises(Invalid):
        inpatient.cancel_admission_order(admission, world["desk"], "")
    inpatient.cancel_admission_order(admission, world["desk"], "Went to the referral hospital")
    db.session.commit()
    assert admission.status == AdmissionStatus.cancelled and admission.open_patient_id is None
    assert _admit(world).status == AdmissionStatus.admitted


def test_a_transfer_keeps_the_history_and_sends_the_old_bed_to_cleaning(world):  # type: ignore[no-untyped-def]
    admission = _admit(world)
    old, new = world["general"].beds[0], world["icu"].beds[1]
    clock.set_frozen(NOW + timedelta(hours=5))
    with pytest.raises(Invalid) as same:
        inpatient.transfer_patient(admission, old.id, world["nurse"], "Deteriorating")
    assert same.value.field == "bed_id"
    with pytest.raises(Invalid) as why:
        inpatient.transfer_patient(admission, new.id, world["nurse"], "")
    assert why.value.field == "reason"
    inpatient.transfer_patient(admission, new.id, world["nurse"], "Deteriorating, needs ICU")
    db.session.commit()
    db.session.refresh(old)
    db.session.refresh(new)
    assert admission.bed_id == new.id and admission.ward_id == world["icu"].id
    assert old.status == BedStatus.cleaning and new.status == BedStatus.occupied
    first, second = inpatient.admission_detail(admission.id).stays
    assert first.ended_at == second.started_at == NOW + timedelta(hours=5)
    assert second.reason == "Deteriorating, needs ICU" and second.moved_by_id == world["nurse"].id
    # A bed being cleaned is not offered; once cleaned it is.
    assert old.id not in {b.id for b in inpatient.free_beds(world["hospital"].id)}


def test_notes_and_vitals_on_the_ward(world, make):  # type: ignore[no-untyped-def]
    admission = _admit(world)
    progress = inpatient.add_note(admission, world["doctor"], "Afebrile, chest clearer")
    nursing = inpatient.add_note(admission, world["nurse"], "Slept well")
    assert (progress.kind, nursing.kind) == (NoteKind.progress, NoteKind.nursing)
    with pytest.raises(NotAllowed):
        inpatient.add_note(admission, world["desk"], "I should not")
    with pytest.raises(NotAllowed):
        inpatient.add_note(admission, make.staff(make.hospital(), StaffKind.nurse), "Other hospital")
    vitals = inpatient.record_round_vitals(
        admission, world["nurse"], {"pulse": "88", "temperature_c": "37.9"}
    )
    assert (
        vitals.admission_id == admission.id and vitals.appointment_id is None and vitals.triage_level is None
    )
    with pytest.raises(VitalsInvalid) as bad:
        inpatient.record_round_vitals(admission, world["nurse"], {"pulse": "900"})
    assert "pulse" in bad.value.errors
    db.session.commit()
    assert [v.id for v in inpatient.admission_vitals(admission.id)] == [vitals.id]


def test_the_attending_doctor_sees_the_patients_records_and_a_stranger_does_not(world, make):  # type: ignore[no-untyped-def]
    admission = _admit(world)
    colleague, stranger = make.doctor_at(world["hospital"]), make.doctor_at(world["hospital"])
    assert not clinical.can_doctor_see_patient(colleague.doctor, world["patient"].id)
    inpatient.set_attending_doctor(admission, colleague.doctor.id, world["doctor"])
    db.session.commit()
    assert clinical.can_doctor_see_patient(colleague.doctor, world["patient"].id)
    assert inpatient.admission_for(colleague, admission.id) is admission
    assert inpatient.admission_for(stranger, admission.id) is None
    assert inpatient.admission_for(world["nurse"], admission.id) is admission
    assert inpatient.admission_for(world["desk"], admission.id) is None
    assert inpatient.admission_for(world["patient"].user, admission.id) is admission


def _discharge(world, admission, at: datetime):  # type: ignore[no-untyped-def]
    clock.set_frozen(at)
    inpatient.order_discharge(
        admission,
        world["doctor"],
        {"discharge_diagnoses": "J18.9 Pneumonia", "discharge_medicines": "Amoxicillin 500 mg tds 5 days"},
    )
    db.session.commit()
    inpatient.discharge_patient(admission, world["nurse"])
    db.session.commit()
    return admission


def test_discharge_bills_the_room_nights_and_sends_the_bed_to_cleaning(world):  # type: ignore[no-untyped-def]
    admission = _admit(world)  # Monday 12:00 Nairobi
    clock.set_frozen(NOW + timedelta(days=1))
    inpatient.transfer_patient(admission, world["icu"].beds[0].id, world["doctor"], "Needs oxygen")
    db.session.commit()
    with pytest.raises(NotAllowed):
        inpatient.discharge_patient(admission, world["nurse"])  # not ordered yet
    with pytest.raises(Invalid) as no_diagnosis:
        inpatient.order_discharge(admission, world["doctor"], {"discharge_diagnoses": " "})
    assert no_diagnosis.value.field == "discharge_diagnoses"
    with pytest.raises(NotAllowed):
        inpatient.order_discharge(admission, world["nurse"], {"discharge_diagnoses": "x"})
    _discharge(world, admission, NOW + timedelta(days=3, hours=2))  # Thursday 14:00
    bed = world["icu"].beds[0]
    db.session.refresh(bed)
    assert admission.status == AdmissionStatus.discharged and admission.bed_id is None
    assert admission.open_patient_id is None and bed.status == BedStatus.cleaning
    bill = admission.bill
    assert bill.status == BillStatus.issued and bill.currency == "KES"
    lines = [(i.kind, i.description, i.quantity, i.unit_minor) for i in bill.items]
    # Midnights: Mon→Tue in General (the transfer was Tuesday noon), Tue→Wed and Wed→Thu in the ICU.
    assert lines == [
        (ItemKind.room, "Room nights: General", 1, 300000),
        (ItemKind.room, "Room nights: ICU", 2, 1500000),
    ]
    assert bill.total_minor == 300000 + 3000000
    with pytest.raises(NotAllowed):
        inpatient.discharge_patient(admission, world["nurse"])


def test_a_day_case_is_one_night_and_a_free_ward_makes_no_bill(world, make):  # type: ignore[no-untyped-def]
    admission = _discharge(world, _admit(world), NOW + timedelta(hours=6))
    assert [(i.quantity, i.amount_minor) for i in admission.bill.items] == [(1, 300000)]
    free_ward = make.ward(world["hospital"], "Charity", beds=1, daily_rate_minor=0)
    other = make.patient()
    second = _admit(world, patient=other.patient, bed=free_ward.beds[0], encounter=None)
    assert _discharge(world, second, NOW + timedelta(days=2)).bill is None


def test_room_nights_count_local_midnights_not_24_hour_blocks():  # type: ignore[no-untyped-def]
    berlin = ZoneInfo("Europe/Berlin")

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=berlin).astimezone(UTC)

    # Across the spring change (29 March 2026: 23 hours long): Saturday 23:30 to Monday 00:30 is two
    # midnights, 25 hours.
    spring = [StaySpan(1, at("2026-03-28T23:30"), at("2026-03-30T00:30"))]
    assert [(n.ward_id, n.nights) for n in room_nights(spring, berlin)] == [(1, 2)]
    # Across the autumn change (25 October 2026: 25 hours long): 47 hours but two midnights.
    autumn = [StaySpan(1, at("2026-10-24T22:00"), at("2026-10-26T20:00"))]
    assert [n.nights for n in room_nights(autumn, berlin)] == [2]
    # 23:50 to 00:10 crosses one midnight: one night; 00:10 to 23:50 crosses none: a day case, one night.
    assert [
        n.nights for n in room_nights([StaySpan(1, at("2026-05-01T23:50"), at("2026-05-02T00:10"))], berlin)
    ] == [1]
    assert [
        n.nights for n in room_nights([StaySpan(2, at("2026-05-02T00:10"), at("2026-05-02T23:50"))], berlin)
    ] == [1]
    # A transfer: each midnight is charged to the ward the patient was in at that midnight.
    moved = [
        StaySpan(1, at("2026-05-01T10:00"), at("2026-05-02T09:00")),
        StaySpan(2, at("2026-05-02T09:00"), at("2026-05-04T08:00")),
    ]
    assert [(n.ward_id, n.nights) for n in room_nights(moved, berlin)] == [(1, 1), (2, 2)]
    assert room_nights([], berlin) == []


def test_the_bed_board_reads_a_fixed_number_of_statements(world, make):  # type: ignore[no-untyped-def]
    _admit(world)
    hospital_id = world["hospital"].id
    db.session.expire_all()
    with recorded() as small:
        board = inpatient.bed_board(hospital_id)
    assert [w.ward.name for w in board] == ["General", "ICU"]
    assert board[0].beds[0].admission.patient_id == world["patient"].id
    more = make.ward(world["hospital"], "Maternity", beds=6)
    for bed in more.beds[:3]:
        _admit(world, patient=make.patient().patient, bed=bed, encounter=None)
    db.session.expire_all()
    with recorded() as large:
        board = inpatient.bed_board(hospital_id)
    assert len(board) == 3 and len(large) == len(small) == 3
    version = inpatient.board_version(world["hospital"].id)
    assert inpatient.board_version(world["hospital"].id) == version
    inpatient.transfer_patient(
        inpatient.open_admission_of(world["patient"].id), world["icu"].beds[0].id, world["nurse"], "ICU"
    )
    db.session.commit()
    assert inpatient.board_version(world["hospital"].id) != version
