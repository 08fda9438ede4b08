"""Inpatient care as FHIR R4: admissions as Encounters of class IMP with their bed history, and the
hospital's wards and beds as Locations.

Ids. The visits' Encounters (hms/api/fhir/clinical.py, class AMB) keep their plain numeric ids; an
admission is the Encounter "adm-<admission id>", so the two never clash and one Encounter type serves
both (searched together, or apart with class=AMB or class=IMP). A ward is the Location
"ward-<ward id>" (physicalType wa), a bed "bed-<bed id>" (physicalType bd, partOf its ward,
operationalStatus from HL7 v2 table 0116). An admission's Encounter.location lists every bed it held
(hms.models.inpatient.BedStay), the current one active, the others completed.

Who sees them is the inpatient service's rules, as SQL: an admission is seen by its admitting and
attending doctors, by the nurses of its hospital while it is open and by the patient himself
(hms.services.inpatient.can_see_admission); wards and beds by whoever sees the hospital's bed board
(can_see_bed_board: its nurses, receptionists, administrators and doctors). tests/test_fhir_inpatient.py
checks that the SQL and the predicates agree. Every admission returned is audited (a refused read of
one that exists, as denied); wards and beds are not patient records and are not audited."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import false, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from hms.api.fhir import clinical
from hms.api.fhir.common import (
    FhirError,
    Forbidden,
    ResourceType,
    Search,
    audit_views,
    audited_record,
    clean,
    instant,
    parse_id,
    reference,
)
from hms.extensions import db
from hms.models import (
    Admission,
    AdmissionStatus,
    Bed,
    BedStatus,
    BedStay,
    Doctor,
    Encounter,
    Membership,
    MembershipStatus,
    Patient,
    StaffKind,
    User,
    Ward,
)

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
ADMISSION_SYSTEM = "urn:hms:admission"
ADMISSION_ID = re.compile(r"^adm-(\d{1,10})$")
LOCATION_ID = re.compile(r"^(ward|bed)-(\d{1,10})$")
CLASSES = {"AMB", "IMP"}
ENCOUNTER_STATUSES = {"planned", "in-progress", "finished", "cancelled"}
BED_STATUS_DISPLAY = {"C": "Closed", "H": "Housekeeping", "O": "Occupied", "U": "Unoccupied"}
OPEN = [s for s in AdmissionStatus if s.is_open]


def _try(scope: Any) -> Any:
    """A role's clause, or None when the role has no access to that kind of record."""
    try:
        return scope()
    except Forbidden:
        return None


def _small(raw: str) -> int | None:
    value = int(raw)
    return value if 0 < value < 2**31 else None


# ---------------------------------------------------------------- who sees what


def admissions_clause(user: User) -> Any:
    """hms.services.inpatient.can_see_admission as SQL; 403 for a user it can never let in."""
    clauses = []
    if user.doctor is not None:
        clauses.append(
            (Admission.admitting_doctor_id == user.doctor.id)
            | (Admission.attending_doctor_id == user.doctor.id)
        )
    staff = getattr(user, "staff", None)
    if staff is not None and staff.kind == StaffKind.nurse:
        clauses.append((Admission.hospital_id == staff.hospital_id) & Admission.status.in_(OPEN))
    if user.patient is not None:
        clauses.append(Admission.patient_id == user.patient.id)
    if not clauses:
        raise Forbidden("Encounter")
    return or_(*clauses)


def bed_board_clause(user: User, hospital_column: Any) -> Any:
    """hms.services.inpatient.can_see_bed_board as SQL on a hospital id column; 403 for other users."""
    clauses = []
    staff = getattr(user, "staff", None)
    if staff is not None and staff.kind in (StaffKind.nurse, StaffKind.receptionist):
        clauses.append(hospital_column == staff.hospital_id)
    if user.hospital_admin is not None:
        clauses.append(hospital_column == user.hospital_admin.hospital_id)
    if user.doctor is not None:
        clauses.append(
            hospital_column.in_(
                select(Membership.hospital_id).where(
                    Membership.doctor_id == user.doctor.id, Membership.status == MembershipStatus.active
                )
            )
        )
    if not clauses:
        raise Forbidden("Location")
    return or_(*clauses)


def _audited_admission(admission: Admission) -> dict[str, Any]:
    return audited_record("admission", admission.id, admission.patient_id, admission.hospital_id)


# ---------------------------------------------------------------- Encounter (class IMP)


def _doctor(doctor: Doctor, code: str, display: str) -> dict[str, Any]:
    return {
        "type": [{"coding": [{"system": PARTICIPATION, "code": code, "display": display}]}],
        "individual": reference("Practitioner", doctor.id, f"Dr {doctor.user.full_name}"),
    }


def _bed_name(stay: BedStay) -> str:
    return f"{stay.ward.name}, {stay.bed.label}"


def admission_encounter(admission: Admission) -> dict[str, Any]:
    discharged = admission.status == AdmissionStatus.discharged
    disposition = None
    if discharged:
        advice = admission.discharge_advice.strip()
        disposition = {"text": f"Discharged. Advice: {advice}" if advice else "Discharged"}
    return {
        "resourceType": "Encounter",
        "id": f"adm-{admission.id}",
        "identifier": [{"system": ADMISSION_SYSTEM, "value": str(admission.id)}],
        "status": admission.status.fhir_status,
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": reference("Patient", admission.patient_id, admission.patient.user.full_name),
        "participant": [
            _doctor(admission.admitting_doctor, "ADM", "admitter"),
            _doctor(admission.attending_doctor, "ATND", "attender"),
        ],
        "period": {"start": instant(admission.admitted_at), "end": instant(admission.discharged_at)},
        "reasonCode": [{"text": admission.reason}],
        "hospitalization": {"dischargeDisposition": disposition},
        "location": [
            {
                "location": reference("Location", f"bed-{stay.bed_id}", _bed_name(stay)),
                "status": "active" if stay.ended_at is None else "completed",
                "period": {"start": instant(stay.started_at), "end": instant(stay.ended_at)},
            }
            for stay in admission.stays
        ],
        "serviceProvider": reference("Organization", admission.hospital_id, admission.hospital.name),
        "partOf": reference("Encounter", admission.encounter_id) if admission.encounter_id else None,
    }


ADMISSION_OPTIONS = (
    joinedload(Admission.patient).joinedload(Patient.user),
    joinedload(Admission.admitting_doctor).joinedload(Doctor.user),
    joinedload(Admission.attending_doctor).joinedload(Doctor.user),
    joinedload(Admission.hospital),
    joinedload(Admission.stays).joinedload(BedStay.bed),
    joinedload(Admission.stays).joinedload(BedStay.ward),
)
# The visits' Encounters with their diagnoses joined (not a second SELECT): a search page of both
# kinds stays within its statement budget.
VISIT_OPTIONS = (
    joinedload(Encounter.appointment),
    joinedload(Encounter.patient).joinedload(Patient.user),
    joinedload(Encounter.doctor).joinedload(Doctor.user),
    joinedload(Encounter.hospital),
    joinedload(Encounter.diagnoses),
)


def read_encounter(user: User, raw_id: str) -> dict[str, Any] | None:
    match = ADMISSION_ID.match(raw_id)
    if not match:
        try:
            return clinical.ENCOUNTER.read(user, raw_id)
        except Forbidden:
            if _try(lambda: admissions_clause(user)) is None:
                raise
            return None  # a nurse reads admissions, not visits: not hers to see (404)
    admission_id = _small(match.group(1))
    if admission_id is None:
        return None
    admission = (
        db.session.scalars(
            select(Admission)
            .where(Admission.id == admission_id, admissions_clause(user))
            .options(*ADMISSION_OPTIONS)
        )
        .unique()
        .one_or_none()
    )
    if admission is None:
        clinical._denied(Admission, "admission", lambda a: a.patient_id)(user, admission_id)
        return None
    audit_views([_audited_admission(admission)])
    return clean(admission_encounter(admission))


def _class_codes(search: Search) -> set[str]:
    codes = set()
    for item in search.getlist("class"):
        for value in item.split(","):
            code = value.split("|")[-1] if value.startswith(ACT_CODE + "|") or "|" not in value else ""
            if code not in CLASSES:
                raise FhirError(400, "class is IMP (an admission) or AMB (a visit).")
            codes.add(code)
    return codes or set(CLASSES)


ADMISSION_STATUSES = {
    "planned": [AdmissionStatus.ordered],
    "in-progress": [AdmissionStatus.admitted, AdmissionStatus.discharge_ordered],
    "finished": [AdmissionStatus.discharged],
    "cancelled": [AdmissionStatus.cancelled],
}


def _admission_filters(search: Search, ids: list[int], statuses: list[str]) -> list[Any]:
    clauses = [Admission.id.in_(ids)] if ids else []
    clauses += search.refers(Admission.patient_id, "Patient", "patient", "subject")
    doctor = search.get("practitioner") or search.get("participant")
    if doctor:
        doctor_id = parse_id(doctor, "Practitioner")
        clauses.append(
            (Admission.admitting_doctor_id == doctor_id) | (Admission.attending_doctor_id == doctor_id)
        )
    for when in search.dates("date"):
        clauses.append(when.clause(Admission.admitted_at))
    if statuses:
        clauses.append(Admission.status.in_([s for name in statuses for s in ADMISSION_STATUSES[name]]))
    if location := search.get("location"):
        kind, location_id = _location_id(location)
        column = BedStay.bed_id if kind == "bed" else BedStay.ward_id
        clauses.append(Admission.id.in_(select(BedStay.admission_id).where(column == location_id)))
    return clauses


def _visit_search(search: Search, ids: list[str], statuses: list[str]) -> Search:
    """The query for the visits' Encounters (clinical.py's filters): without class and location, with
    the visits' own ids and statuses only."""
    params: MultiDict[str, str] = MultiDict(
        [
            (k, v)
            for k, v in search.params.items(multi=True)
            if k not in ("class", "status", "_id", "location")
        ]
    )
    for value in ids:
        params.add("_id", value)
    if statuses:
        params.add("status", ",".join(statuses))
    return Search(params=params, count=search.count, offset=search.offset)


def search_encounters(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    """Visits and admissions in the order they began (a visit's encounter written, an admission
    ordered). A fixed number of statements whatever the page's size: the page with its total, the
    visits' encounters, the admissions (each with what it shows joined), the audit events."""
    classes = _class_codes(search)
    statuses = clinical._tokens(search, "status", ENCOUNTER_STATUSES)
    raw_ids = [v for item in search.getlist("_id") for v in item.split(",") if v]
    admission_ids = [int(m.group(1)) for v in raw_ids if (m := ADMISSION_ID.match(v))]
    visit_ids = [v for v in raw_ids if not ADMISSION_ID.match(v)]
    visit_statuses = [s for s in statuses if s != "planned"]
    visit_scope = _try(lambda: clinical._clinical_scope(user, Encounter.patient_id, "Encounter"))
    admission_scope = _try(lambda: admissions_clause(user))
    if visit_scope is None and admission_scope is None:
        raise Forbidden("Encounter")
    if search.get("location"):
        classes.discard("AMB")
    branches, sources = [], []
    if (
        visit_scope is not None
        and "AMB" in classes
        and (not statuses or visit_statuses)
        and (not raw_ids or visit_ids)
    ):
        visits = _visit_search(search, visit_ids, visit_statuses)
        sources.append(0)
        branches.append(
            select(
                literal(0).label("source"),
                Encounter.id.label("record_id"),
                Encounter.created_at.label("began"),
            ).where(visit_scope, *clinical._encounter_filters(visits))
        )
    if admission_scope is not None and "IMP" in classes and (not raw_ids or admission_ids):
        sources.append(1)
        branches.append(
            select(
                literal(1).label("source"),
                Admission.id.label("record_id"),
                Admission.ordered_at.label("began"),
            ).where(admission_scope, *_admission_filters(search, admission_ids, statuses))
        )
    if not branches:
        return [], 0
    found = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    page = db.session.execute(
        select(found.c.source, found.c.record_id, func.count().over().label("total"))
        .order_by(found.c.began, found.c.source, found.c.record_id)
        .limit(search.count)
        .offset(search.offset)
    ).all()
    if page:
        total = page[0].total
    elif search.offset:
        total = db.session.scalar(select(func.count()).select_from(found)) or 0
    else:
        total = 0
    wanted_visits = {row.record_id for row in page if row.source == 0}
    wanted_admissions = {row.record_id for row in page if row.source == 1}
    # Each kind the search can return is fetched even when this page holds none of it: the same
    # statements for every page.
    visits_by_id: dict[int, Encounter] = {}
    admissions_by_id: dict[int, Admission] = {}
    if 0 in sources and page:
        visits_by_id = {
            e.id: e
            for e in db.session.scalars(
                select(Encounter).where(Encounter.id.in_(wanted_visits)).options(*VISIT_OPTIONS)
            ).unique()
        }
    if 1 in sources and page:
        admissions_by_id = {
            a.id: a
            for a in db.session.scalars(
                select(Admission).where(Admission.id.in_(wanted_admissions)).options(*ADMISSION_OPTIONS)
            ).unique()
        }
    audit_views(  # by record id, as the answer lists them (each dict holds its rows in no set order)
        [
            audited_record("encounter", e.id, e.patient_id, e.hospital_id)
            for e in (visits_by_id[key] for key in sorted(visits_by_id))
        ]
        + [_audited_admission(admissions_by_id[key]) for key in sorted(admissions_by_id)]
    )
    resources = [
        clean(clinical.encounter_resource(visits_by_id[row.record_id]))
        if row.source == 0
        else clean(admission_encounter(admissions_by_id[row.record_id]))
        for row in page
    ]
    return resources, total


ENCOUNTER = ResourceType(
    "Encounter",
    ("_id", "patient", "subject", "practitioner", "participant", "date", "status", "class", "location"),
    read_encounter,
    search_encounters,
    "Visits (class AMB, numeric ids) and admissions (class IMP, ids adm-<admission id>, with the beds "
    "held as location history); date is a visit's start or an admission's admission time.",
)


# ---------------------------------------------------------------- Location (wards and beds)


def _location_id(value: str) -> tuple[str, int]:
    raw = value.strip()
    raw = raw[len("Location/") :] if raw.startswith("Location/") else raw
    match = LOCATION_ID.match(raw)
    location_id = _small(match.group(2)) if match else None
    if match is None or location_id is None:
        raise FhirError(400, f"'{value[:40]}' is not a Location id (ward-<n> or bed-<n>).")
    return match.group(1), location_id


def _physical_type(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": PHYSICAL_TYPE, "code": code, "display": display}]}


def ward_location(ward: Ward) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": f"ward-{ward.id}",
        "status": "active" if ward.active else "inactive",
        "name": ward.name,
        "description": f"{ward.kind.value.capitalize()} ward",
        "mode": "instance",
        "physicalType": _physical_type("wa", "Ward"),
        "managingOrganization": reference("Organization", ward.hospital_id, ward.hospital.name),
    }


def bed_location(bed: Bed) -> dict[str, Any]:
    code = bed.status.hl7_code
    return {
        "resourceType": "Location",
        "id": f"bed-{bed.id}",
        "status": "inactive" if bed.retired else "active" if bed.ward.active else "suspended",
        "operationalStatus": {"system": BED_STATUS, "code": code, "display": BED_STATUS_DISPLAY[code]},
        "name": f"{bed.ward.name}, {bed.label}",
        "alias": [bed.label],
        "mode": "instance",
        "physicalType": _physical_type("bd", "Bed"),
        "managingOrganization": reference("Organization", bed.hospital_id),
        "partOf": reference("Location", f"ward-{bed.ward_id}", bed.ward.name),
    }


def read_location(user: User, raw_id: str) -> dict[str, Any] | None:
    match = LOCATION_ID.match(raw_id)
    location_id = _small(match.group(2)) if match else None
    if match is None or location_id is None:
        return None
    if match.group(1) == "ward":
        ward = db.session.scalar(
            select(Ward)
            .where(Ward.id == location_id, bed_board_clause(user, Ward.hospital_id))
            .options(joinedload(Ward.hospital))
        )
        return clean(ward_location(ward)) if ward is not None else None
    bed = db.session.scalar(
        select(Bed)
        .where(Bed.id == location_id, bed_board_clause(user, Bed.hospital_id))
        .options(joinedload(Bed.ward))
    )
    return clean(bed_location(bed)) if bed is not None else None


def _location_types(search: Search) -> set[str]:
    kinds = set()
    for item in search.getlist("type"):
        for value in item.split(","):
            code = value.split("|")[-1] if value.startswith(PHYSICAL_TYPE + "|") or "|" not in value else ""
            if code not in ("wa", "bd"):
                raise FhirError(400, "type is the physical type: wa (a ward) or bd (a bed).")
            kinds.add(code)
    return kinds or {"wa", "bd"}


def search_locations(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    """Wards, each followed by its beds. Three statements whatever the page's size: the page with its
    total, its wards, its beds."""
    kinds = _location_types(search)
    ids = [_location_id(v) for item in search.getlist("_id") for v in item.split(",") if v]
    ward_clauses = [bed_board_clause(user, Ward.hospital_id)]
    bed_clauses = [bed_board_clause(user, Bed.hospital_id)]
    if ids:
        ward_clauses.append(Ward.id.in_([i for kind, i in ids if kind == "ward"]))
        bed_clauses.append(Bed.id.in_([i for kind, i in ids if kind == "bed"]))
    if organization := search.get("organization"):
        hospital_id = parse_id(organization, "Organization")
        ward_clauses.append(Ward.hospital_id == hospital_id)
        bed_clauses.append(Bed.hospital_id == hospital_id)
    if part_of := search.get("partof"):
        kind, ward_id = _location_id(part_of)
        kinds.discard("wa")  # nothing is part of a bed, and wards are part of no other Location
        bed_clauses.append(Bed.ward_id == (ward_id if kind == "ward" else -1))
    if statuses := clinical._tokens(search, "operational-status", set(BED_STATUS_DISPLAY)):
        kinds.discard("wa")
        bed_clauses.append(Bed.status.in_([s for s in BedStatus if s.hl7_code in statuses]))
    if statuses := clinical._tokens(search, "status", {"active", "inactive", "suspended"}):
        ward_clauses.append(
            or_(
                *(
                    {"active": Ward.active.is_(True), "inactive": Ward.active.is_(False)}.get(s, false())
                    for s in statuses
                )
            )
        )
        bed_ward_active = select(Ward.id).where(Ward.active.is_(True))
        bed_clauses.append(
            or_(
                *(
                    {
                        "active": Bed.retired.is_(False) & Bed.ward_id.in_(bed_ward_active),
                        "inactive": Bed.retired.is_(True),
                        "suspended": Bed.retired.is_(False) & Bed.ward_id.not_in(bed_ward_active),
                    }[s]
                    for s in statuses
                )
            )
        )
    branches = []
    if "wa" in kinds:
        branches.append(
            select(literal(0).label("source"), Ward.id.label("record_id"), Ward.id.label("ward_id")).where(
                *ward_clauses
            )
        )
    if "bd" in kinds:
        branches.append(
            select(literal(1).label("source"), Bed.id.label("record_id"), Bed.ward_id.label("ward_id")).where(
                *bed_clauses
            )
        )
    found = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    page = db.session.execute(
        select(found.c.source, found.c.record_id, func.count().over().label("total"))
        .order_by(found.c.ward_id, found.c.source, found.c.record_id)
        .limit(search.count)
        .offset(search.offset)
    ).all()
    if page:
        total = page[0].total
    elif search.offset:
        total = db.session.scalar(select(func.count()).select_from(found)) or 0
    else:
        total = 0
    ward_ids = {row.record_id for row in page if row.source == 0}
    bed_ids = {row.record_id for row in page if row.source == 1}
    wards = (
        {
            w.id: w
            for w in db.session.scalars(
                select(Ward).where(Ward.id.in_(ward_ids)).options(joinedload(Ward.hospital))
            )
        }
        if "wa" in kinds and page
        else {}
    )
    beds = (
        {
            b.id: b
            for b in db.session.scalars(select(Bed).where(Bed.id.in_(bed_ids)).options(joinedload(Bed.ward)))
        }
        if "bd" in kinds and page
        else {}
    )
    resources = [
        clean(ward_location(wards[row.record_id]) if row.source == 0 else bed_location(beds[row.record_id]))
        for row in page
    ]
    return resources, total


LOCATION = ResourceType(
    "Location",
    ("_id", "type", "partof", "organization", "operational-status", "status"),
    read_location,
    search_locations,
    "A hospital's wards (ids ward-<n>, physicalType wa) and beds (ids bed-<n>, physicalType bd, partOf "
    "their ward, operationalStatus from HL7 v2 0116); type searches the physical type. For the people "
    "who see the hospital's bed board.",
)
