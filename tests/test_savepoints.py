"""A unique key that refuses a write after the service's own check passed (a concurrent request wrote the
same name, code or visit a moment after the check read) ends as the service's clear answer, and the
caller's transaction goes on: the write ran inside its SAVEPOINT, which alone is rolled back.

The race is real: the service's check runs and finds nothing, and only then does a rival session write
the conflicting row (`rival`). The views roll back after any refusal, which would hide a lost transaction
behind the right message; so most tests call the service the way a caller that goes on with its
transaction would (the doctor's "open the visit record", which goes on by itself, is driven through its
page: before the fix it ended in a 500)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from hms import clock
from hms.extensions import db
from hms.models import (
    AppointmentStatus,
    Bed,
    Department,
    Encounter,
    Feedback,
    InventoryItem,
    Invitation,
    LabPanel,
    LabTest,
    Membership,
    MembershipStatus,
    ResultKind,
    Role,
    SpecimenKind,
    StockKind,
    Ward,
    WardKind,
)
from hms.services import (
    departments,
    feedback,
    inventory,
    invitations,
    lab_admin,
    memberships,
    wards,
)
from hms.services.errors import Conflict, Invalid

Rival = Callable[[str, object], None]


@pytest.fixture
def rival() -> Iterator[Rival]:
    """`rival(read, row)`: right after the first read whose SQL contains `read` (the service's check),
    another session writes and commits `row`, as a concurrent request would."""
    armed: list[tuple[str, object]] = []

    def write_after_the_check(state: ORMExecuteState):  # type: ignore[no-untyped-def]
        if not (armed and state.is_select and armed[0][0] in str(state.statement)):
            return None
        (_, row) = armed.pop()
        seen = state.invoke_statement().freeze()
        with Session(
            bind=state.session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as other:
            other.add(row)
            other.commit()
        return seen()

    event.listen(Session, "do_orm_execute", write_after_the_check)
    try:
        yield lambda read, row: armed.append((read, row))
    finally:
        event.remove(Session, "do_orm_execute", write_after_the_check)
    assert not armed, "the service never ran the check the rival waited for"


@pytest.fixture
def hospital(make):  # type: ignore[no-untyped-def]
    return make.hospital(name="Riverside")


@pytest.fixture
def admin(make, hospital):  # type: ignore[no-untyped-def]
    return make.hospital_admin(hospital)


def _goes_on(hospital) -> None:  # type: ignore[no-untyped-def]
    """The caller's transaction is still usable: it writes something else and commits."""
    db.session.add(Department(hospital_id=hospital.id, name="Written after the refusal"))
    db.session.commit()
    assert db.session.scalar(select(Department.id).where(Department.name == "Written after the refusal"))


# ---------------------------------------------------------------- departments


def test_a_department_created_meanwhile_is_the_clear_conflict(hospital, admin, rival):
    rival("departments.name_key = ", Department(hospital_id=hospital.id, name="Cardiology"))
    with pytest.raises(Conflict) as refused:
        departments.create_department(hospital, "Cardiology", admin)
    assert refused.value.field == "name"
    _goes_on(hospital)


def test_a_department_renamed_to_a_name_taken_meanwhile_is_the_clear_conflict(make, hospital, admin, rival):
    peds = make.department(hospital, "Peds")
    rival("departments.name_key = ", Department(hospital_id=hospital.id, name="Paediatrics"))
    with pytest.raises(Conflict) as refused:
        departments.rename_department(peds, "Paediatrics", admin)
    assert refused.value.field == "name"
    assert peds.name == "Peds"
    _goes_on(hospital)


# ---------------------------------------------------------------- wards and beds


def _ward(hospital, name: str) -> Ward:  # type: ignore[no-untyped-def]
    return Ward(hospital_id=hospital.id, name=name, kind=WardKind.general, daily_rate_minor=0)


def test_a_ward_created_meanwhile_is_the_clear_422(hospital, admin, rival):
    rival("lower(wards.name) = ", _ward(hospital, "Maternity"))
    with pytest.raises(Invalid) as refused:
        wards.create_ward(hospital, admin, name="Maternity", kind="general", daily_rate="2500")
    assert (refused.value.field, refused.value.message) == (
        "name",
        "A ward called “Maternity” already exists in this hospital.",
    )
    _goes_on(hospital)


def test_a_ward_renamed_to_a_name_taken_meanwhile_is_the_clear_422(make, hospital, admin, rival):
    ward = make.ward(hospital, "Ward 1")
    rival("lower(wards.name) = ", _ward(hospital, "Maternity"))
    with pytest.raises(Invalid) as refused:
        wards.update_ward(ward, admin, name="Maternity", kind="general", daily_rate="2500")
    assert refused.value.field == "name"
    assert ward.name == "Ward 1"
    _goes_on(hospital)


def test_beds_added_meanwhile_are_the_clear_422(make, hospital, admin, rival):
    ward = make.ward(hospital)
    rival("lower(beds.label) IN ", Bed(ward_id=ward.id, hospital_id=hospital.id, label="A2"))
    with pytest.raises(Invalid) as refused:
        wards.add_beds(ward, "A1-A3", admin)
    assert refused.value.field == "labels"
    _goes_on(hospital)
    assert db.session.scalars(select(Bed.label).where(Bed.ward_id == ward.id)).all() == ["A2"]


def test_a_bed_renamed_to_a_label_taken_meanwhile_is_the_clear_422(make, hospital, admin, rival):
    ward = make.ward(hospital, beds=1)
    (bed,) = ward.beds
    rival("lower(beds.label) = ", Bed(ward_id=ward.id, hospital_id=hospital.id, label="A9"))
    with pytest.raises(Invalid) as refused:
        wards.rename_bed(bed, "A9", admin)
    assert refused.value.field == "label"
    assert bed.label == "B1"
    _goes_on(hospital)


# ---------------------------------------------------------------- the laboratory's catalogue


def _test_fields(code: str) -> lab_admin.TestFields:
    return lab_admin.TestFields(
        code=code, name="Sodium", loinc=None, specimen="serum", kind="numeric", unit="mmol/L"
    )


def _lab_test(hospital, code: str) -> LabTest:  # type: ignore[no-untyped-def]
    return LabTest(
        hospital_id=hospital.id,
        code=code,
        name="Rival",
        specimen=SpecimenKind.serum,
        kind=ResultKind.numeric,
    )


def test_a_lab_test_code_taken_meanwhile_is_the_clear_422(hospital, admin, rival):
    rival("lab_tests.code = ", _lab_test(hospital, "NA"))
    with pytest.raises(Invalid) as refused:
        lab_admin.create_test(hospital, _test_fields("NA"), admin)
    assert (refused.value.field, refused.value.message) == ("code", "This code is already used.")
    _goes_on(hospital)


def test_a_lab_test_recoded_to_a_code_taken_meanwhile_is_the_clear_422(make, hospital, admin, rival):
    test = make.lab_test(hospital, "K")
    rival("lab_tests.code = ", _lab_test(hospital, "NA"))
    with pytest.raises(Invalid) as refused:
        lab_admin.update_test(test, _test_fields("NA"), admin)
    assert refused.value.field == "code"
    assert test.code == "K"
    _goes_on(hospital)


PANEL = {"code": "KFT", "name": "Kidney function", "loinc": None, "price_minor": 0}


def test_a_panel_code_taken_meanwhile_is_the_clear_422(make, hospital, admin, rival):
    tests = [make.lab_test(hospital), make.lab_test(hospital)]
    rival("lab_panels.code = ", LabPanel(hospital_id=hospital.id, code="KFT", name="Rival"))
    with pytest.raises(Invalid) as refused:
        lab_admin.create_panel(hospital, admin, **PANEL, test_ids=[t.id for t in tests])
    assert refused.value.field == "code"
    _goes_on(hospital)


def test_a_panel_recoded_with_new_tests_to_a_code_taken_meanwhile_is_the_clear_422(
    make, hospital, admin, rival
):
    tests = [make.lab_test(hospital) for _ in range(3)]
    panel = make.lab_panel(hospital, tests[:2], code="P")
    rival("lab_panels.code = ", LabPanel(hospital_id=hospital.id, code="KFT", name="Rival"))
    with pytest.raises(Invalid) as refused:
        lab_admin.update_panel(panel, admin, **PANEL, test_ids=[tests[2].id, tests[0].id], active=True)
    assert refused.value.field == "code"
    _goes_on(hospital)
    assert (panel.code, [t.id for t in panel.tests]) == ("P", [tests[0].id, tests[1].id])


# ---------------------------------------------------------------- inventory


def test_an_item_renamed_to_a_name_taken_meanwhile_is_the_clear_422(make, hospital, admin, rival):
    item = make.inventory_item(hospital, name="Gauze", by=admin)
    rival(
        "inventory_items.name_key = ",
        InventoryItem(hospital_id=hospital.id, name="Bandage", kind=StockKind.supply, unit="box"),
    )
    with pytest.raises(Invalid) as refused:
        inventory.update_item(item, name="Bandage", unit="box", reorder_level=0, active=True, actor=admin)
    assert (refused.value.field, refused.value.message) == (
        "name",
        "This hospital already has an item with this name.",
    )
    assert item.name == "Gauze"
    _goes_on(hospital)


# ---------------------------------------------------------------- invitations and memberships


def test_an_invitation_sent_meanwhile_is_the_clear_conflict(hospital, admin, rival):
    rival(
        "invitations.open_email = ",
        Invitation(
            hospital_id=hospital.id,
            email="priya@example.org",
            open_email="priya@example.org",
            full_name="Priya Mehta",
            role=Role.doctor,
            specialty="Paediatrics",
            token_hash="0" * 64,
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(days=3),
        ),
    )
    with pytest.raises(Conflict) as refused:
        invitations.invite(
            hospital,
            admin,
            email="priya@example.org",
            full_name="Priya Mehta",
            role=Role.doctor,
            specialty="Paediatrics",
        )
    assert refused.value.field == "email"
    _goes_on(hospital)


def _membership(doctor_user, hospital, status: MembershipStatus) -> Membership:  # type: ignore[no-untyped-def]
    return Membership(doctor_id=doctor_user.doctor.id, hospital_id=hospital.id, status=status, fee_minor=0)


def test_a_doctor_linked_meanwhile_is_the_clear_conflict(make, hospital, admin, rival):
    doctor = make.doctor(email="okafor@example.org", name="Chinedu Okafor")
    rival("memberships.doctor_id = ", _membership(doctor, hospital, MembershipStatus.active))
    with pytest.raises(Conflict) as refused:
        memberships.add_doctor(hospital, "okafor@example.org", admin)
    assert refused.value.field == "email"
    _goes_on(hospital)


def test_a_request_to_join_sent_twice_at_once_is_the_clear_conflict(make, hospital, rival):
    doctor = make.doctor()
    rival("memberships.doctor_id = ", _membership(doctor, hospital, MembershipStatus.requested))
    with pytest.raises(Conflict):
        memberships.request_to_join(doctor.doctor, hospital, doctor)
    _goes_on(hospital)


# ---------------------------------------------------------------- visits


def _visit(make, hospital, status: AppointmentStatus, start_at):  # type: ignore[no-untyped-def]
    return make.appointment(make.patient(), make.doctor_at(hospital), hospital, start_at, status=status)


def _visit_keys(visit) -> dict:  # type: ignore[no-untyped-def]
    """The columns a visit's feedback or encounter copies from it."""
    return {
        "appointment_id": visit.id,
        "patient_id": visit.patient_id,
        "doctor_id": visit.doctor_id,
        "hospital_id": visit.hospital_id,
    }


def test_a_rating_sent_twice_at_once_is_the_clear_conflict(make, hospital, rival):
    visit = _visit(make, hospital, AppointmentStatus.fulfilled, clock.now() - timedelta(days=1))
    rival(
        "feedback.appointment_id = ",
        Feedback(**_visit_keys(visit), rating=5, comment=""),
    )
    with pytest.raises(Conflict) as refused:
        feedback.leave_feedback(visit, visit.patient.user, 4, "Kind and on time")
    assert refused.value.message == "You have already rated this visit."
    _goes_on(hospital)
    assert db.session.scalars(select(Feedback.rating)).all() == [5]


def test_a_visit_record_opened_twice_at_once_is_the_one_record(client, make, login_as, hospital, rival):
    visit = _visit(make, hospital, AppointmentStatus.booked, clock.now() + timedelta(minutes=10))
    login_as(visit.doctor.user)
    first = Encounter(**_visit_keys(visit), chief_complaint="Opened by the double click", notes="")
    rival("encounters.appointment_id = ", first)
    response = client.post(f"/doctor/appointments/{visit.id}/encounter")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/doctor/encounters/{first.id}")
    assert b"Opened by the double click" in client.get(response.headers["Location"]).data
    assert db.session.scalars(select(Encounter.id)).all() == [first.id]
