"""Observation: the vital signs a doctor writes in an encounter (blood pressure, heart rate, body
temperature, weight, height) and those a nurse takes at triage (the same, plus respiratory rate,
oxygen saturation and the BMI worked out from weight and height), as FHIR R4 vital-signs
Observations with LOINC codes and UCUM units.

They are not stored as rows of their own: each is one measurement of an encounter, with the id
"<kind>-<encounter id>" (bp-12, heart-rate-12, …), or of a triage (hms.models.triage.VitalSigns),
with the id "<kind>-t<vital signs id>" (bp-t7, oxygen-saturation-t7). Who sees them, and the audit
log, follow the encounter's rules (hms/api/fhir/clinical.py): the patient's own, a doctor's patients.

Laboratory results are Observations too (category laboratory, ids "lab-<result id>"): built, and
guarded by the laboratory's access rule, in hms/api/fhir/lab.py; searched here with the vital signs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from hms.api.fhir import lab
from hms.api.fhir.clinical import _audit, _clinical_scope, _denied, _tokens
from hms.api.fhir.common import (
    FhirError,
    Forbidden,
    ResourceType,
    Search,
    audit_views,
    audited_record,
    clean,
    instant,
    reference,
)
from hms.extensions import db
from hms.models import Appointment, Encounter, LabResult, User, VitalSigns

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@dataclass(frozen=True)
class Vital:
    kind: str  # the id's prefix
    loinc: str
    display: str
    unit: str  # UCUM
    columns: tuple[str, ...]  # Encounter attributes; blood pressure has two (its components)
    also: tuple[tuple[str, str], ...] = ()  # more LOINC codings of the same measurement


SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
VITALS = (
    Vital(
        "bp",
        "85354-9",
        "Blood pressure panel with all children optional",
        "mm[Hg]",
        ("bp_systolic", "bp_diastolic"),
    ),
    Vital("heart-rate", "8867-4", "Heart rate", "/min", ("pulse",)),
    Vital("temperature", "8310-5", "Body temperature", "Cel", ("temperature_c",)),
    Vital("weight", "29463-7", "Body weight", "kg", ("weight_kg",)),
    Vital("height", "8302-2", "Body height", "cm", ("height_cm",)),
    # Taken at triage only (hms.models.triage.VitalSigns):
    Vital("respiratory-rate", "9279-1", "Respiratory rate", "/min", ("respiratory_rate",)),
    Vital(
        "oxygen-saturation",
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
        "%",
        ("spo2",),
        (("2708-6", "Oxygen saturation in Arterial blood"),),
    ),
    Vital("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", ("weight_kg", "height_cm")),
)
ENCOUNTER_VITALS = VITALS[:5]
BY_KIND = {v.kind: v for v in VITALS}
BY_CODE = (
    {v.loinc: v for v in VITALS}
    | {code: v for v in VITALS for code, _display in v.also}
    | {SYSTOLIC[0]: BY_KIND["bp"], DIASTOLIC[0]: BY_KIND["bp"]}
)
LAB_ID = re.compile(r"^lab-(\d{1,10})$")
LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
LAB_STATUSES = {"registered", "preliminary", "final", "amended", "cancelled"}
OBSERVATION_ID = re.compile(r"^(" + "|".join(BY_KIND) + r")-(t?)(\d{1,10})$")


def _quantity(value: int | Decimal, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _code(code: str, display: str, *also: tuple[str, str]) -> dict[str, Any]:
    codings = [{"system": LOINC, "code": c, "display": d} for c, d in ((code, display), *also)]
    return {"coding": codings, "text": display}


def _measured(encounter: Encounter, vital: Vital) -> bool:
    return any(getattr(encounter, column) is not None for column in vital.columns)


def observation_resource(encounter: Encounter, vital: Vital) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{vital.kind}-{encounter.id}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": _code(vital.loinc, vital.display),
        "subject": reference("Patient", encounter.patient_id),
        "encounter": reference("Encounter", encounter.id),
        "effectiveDateTime": instant(encounter.appointment.start_at),
        "issued": instant(encounter.updated_at),
        "performer": [reference("Practitioner", encounter.doctor_id)],
    }
    if vital.kind == "bp":
        body["component"] = [
            {"code": _code(*part), "valueQuantity": _quantity(value, vital.unit)}
            for part, value in ((SYSTOLIC, encounter.bp_systolic), (DIASTOLIC, encounter.bp_diastolic))
            if value is not None
        ]
    else:
        body["valueQuantity"] = _quantity(getattr(encounter, vital.columns[0]), vital.unit)
    return clean(body)


def _taken(vitals: VitalSigns, vital: Vital) -> bool:
    return all(getattr(vitals, column) is not None for column in vital.columns)


def triage_observation(vitals: VitalSigns, vital: Vital, encounter_id: int | None) -> dict[str, Any]:
    """One measurement of a nurse's triage, performed by her (a doctor's re-measure: by him)."""
    taker = vitals.recorded_by
    performer = (
        reference("Practitioner", taker.doctor.id, f"Dr {taker.full_name}")
        if taker.doctor is not None
        else {"display": taker.full_name}
    )
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{vital.kind}-t{vitals.id}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": _code(vital.loinc, vital.display, *vital.also),
        "subject": reference("Patient", vitals.patient_id),
        "encounter": (
            reference("Encounter", encounter_id)
            if encounter_id
            else reference("Encounter", f"adm-{vitals.admission_id}")  # a round on the ward
            if vitals.admission_id
            else None
        ),
        "effectiveDateTime": instant(vitals.taken_at),
        "issued": instant(vitals.taken_at),
        "performer": [performer],
    }
    if vital.kind == "bp":
        body["component"] = [
            {"code": _code(*part), "valueQuantity": _quantity(value, vital.unit)}
            for part, value in ((SYSTOLIC, vitals.bp_systolic), (DIASTOLIC, vitals.bp_diastolic))
        ]
    elif vital.kind == "bmi":
        body["valueQuantity"] = _quantity(vitals.bmi, vital.unit)
    else:
        body["valueQuantity"] = _quantity(getattr(vitals, vital.columns[0]), vital.unit)
    return clean(body)


def _encounter_ids(appointment_ids: set[int]) -> dict[int, int]:
    """The encounter of each visit that has one (appointment id → encounter id), in one statement."""
    if not appointment_ids:
        return {}
    rows = db.session.execute(
        select(Encounter.appointment_id, Encounter.id).where(Encounter.appointment_id.in_(appointment_ids))
    )
    return {appointment_id: encounter_id for appointment_id, encounter_id in rows}


def _read_triage(user: User, vital: Vital, vitals_id: int) -> dict[str, Any] | None:
    vitals = db.session.scalar(
        select(VitalSigns)
        .where(VitalSigns.id == vitals_id, _clinical_scope(user, VitalSigns.patient_id, "Observation"))
        .options(joinedload(VitalSigns.recorded_by).joinedload(User.doctor))
    )
    if vitals is None:
        _denied(VitalSigns, "vital_signs", lambda v: v.patient_id)(user, vitals_id)
        return None
    if not _taken(vitals, vital):
        return None
    _audit("vital_signs", vitals.id, vitals.patient_id, vitals.hospital_id)
    encounter_id = _encounter_ids({vitals.appointment_id}).get(vitals.appointment_id)
    return triage_observation(vitals, vital, encounter_id)


def _visible(user: User) -> Any:
    return _clinical_scope(user, Encounter.patient_id, "Observation")


def read_observation(user: User, raw_id: str) -> dict[str, Any] | None:
    if lab_match := LAB_ID.match(raw_id):
        result_id = int(lab_match.group(1))
        return lab.read_lab_observation(user, result_id) if 0 < result_id < 2**31 else None
    match = OBSERVATION_ID.match(raw_id)
    if not match or not 0 < int(match.group(3)) < 2**31:
        return None
    if match.group(2):
        return _read_triage(user, BY_KIND[match.group(1)], int(match.group(3)))
    vital, encounter_id = BY_KIND[match.group(1)], int(match.group(3))
    if vital not in ENCOUNTER_VITALS:
        return None
    encounter = db.session.scalar(
        select(Encounter)
        .where(Encounter.id == encounter_id, _visible(user))
        .options(joinedload(Encounter.appointment))
    )
    if encounter is None:
        _denied(Encounter, "encounter", lambda e: e.patient_id)(user, encounter_id)
        return None
    if not _measured(encounter, vital):
        return None
    _audit("encounter", encounter.id, encounter.patient_id, encounter.hospital_id)
    return observation_resource(encounter, vital)


def _try(scope: Any) -> Any:
    """A role's clause, or None when the role has no access to that kind of Observation."""
    try:
        return scope()
    except Forbidden:
        return None


def search_observations(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    """One per measurement taken (an encounter without a pulse has no heart-rate Observation): the
    encounters' in the order they were written, then the triages' in the order they were taken, each
    by kind, then the laboratory's current results (hms/api/fhir/lab.py). A fixed number of
    statements whatever the page's size: the page with its total, the encounters, the triages (with
    their encounters), the lab results, the audit events."""
    categories = set(_tokens(search, "category", {"vital-signs", "laboratory"}))
    statuses = set(_tokens(search, "status", LAB_STATUSES))
    codes = [v.split("|")[-1] for item in search.getlist("code") for v in item.split(",") if v]
    for code in codes:
        if not LOINC_CODE.match(code):
            raise FhirError(400, f"code is a LOINC code such as 8867-4 or 2823-3, not '{code[:20]}'.")
    vital_scope = _try(lambda: _visible(user))
    lab_scope = _try(lambda: lab.results_clause(user))
    if vital_scope is None and lab_scope is None:
        raise Forbidden("Observation")
    kinds = list(dict.fromkeys(BY_CODE[c] for c in codes if c in BY_CODE)) if codes else list(VITALS)
    if vital_scope is None or (categories and "vital-signs" not in categories):
        kinds = []
    if statuses and "final" not in statuses:
        kinds = []
    with_lab = lab_scope is not None and (not categories or "laboratory" in categories)
    branches = []
    if kinds:
        clauses = [vital_scope]
        clauses += search.refers(Encounter.patient_id, "Patient", "patient", "subject")
        clauses += search.refers(Encounter.id, "Encounter", "encounter")
        triage_encounter = (
            select(Encounter.id)
            .where(Encounter.appointment_id == VitalSigns.appointment_id)
            .scalar_subquery()
        )
        triage_clauses = [_clinical_scope(user, VitalSigns.patient_id, "Observation")]
        triage_clauses += search.refers(VitalSigns.patient_id, "Patient", "patient", "subject")
        triage_clauses += search.refers(triage_encounter, "Encounter", "encounter")
        for when in search.dates("date"):
            clauses.append(
                Encounter.appointment_id.in_(select(Appointment.id).where(when.clause(Appointment.start_at)))
            )
            triage_clauses.append(when.clause(VitalSigns.taken_at))
        branches += [
            select(
                literal(0).label("source"),
                Encounter.id.label("record_id"),
                literal(VITALS.index(vital)).label("position"),
            )
            .where(*clauses)
            .where(or_(*[getattr(Encounter, column).is_not(None) for column in vital.columns]))
            for vital in kinds
            if vital in ENCOUNTER_VITALS
        ]
        branches += [
            select(
                literal(1).label("source"),
                VitalSigns.id.label("record_id"),
                literal(VITALS.index(vital)).label("position"),
            )
            .where(*triage_clauses)
            .where(*[getattr(VitalSigns, column).is_not(None) for column in vital.columns])
            for vital in kinds
        ]
    if with_lab:
        branches.append(
            select(
                literal(2).label("source"), LabResult.id.label("record_id"), literal(0).label("position")
            ).where(*lab.lab_branch_clauses(user, search, codes, sorted(statuses)))
        )
    if not branches:
        return [], 0
    measured = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    page = db.session.execute(
        select(
            measured.c.source,
            measured.c.record_id,
            measured.c.position,
            func.count().over().label("total"),
        )
        .order_by(measured.c.source, measured.c.record_id, measured.c.position)
        .limit(search.count)
        .offset(search.offset)
    ).all()
    if page:
        total = page[0].total
    elif search.offset:
        total = db.session.scalar(select(func.count()).select_from(measured)) or 0
    else:
        total = 0
    encounters: dict[int, Encounter] = {}
    triages: dict[int, VitalSigns] = {}
    encounter_of: dict[int, int | None] = {}
    if kinds:
        encounters = {
            e.id: e
            for e in db.session.scalars(
                select(Encounter)
                .where(Encounter.id.in_({row.record_id for row in page if row.source == 0}))
                .options(joinedload(Encounter.appointment))
            )
        }
        visit_encounter = (
            select(Encounter.id)
            .where(Encounter.appointment_id == VitalSigns.appointment_id)
            .limit(1)
            .scalar_subquery()
        )
        for vitals, encounter_id in db.session.execute(
            select(VitalSigns, visit_encounter)
            .where(VitalSigns.id.in_({row.record_id for row in page if row.source == 1}))
            .options(joinedload(VitalSigns.recorded_by).joinedload(User.doctor))
        ):
            triages[vitals.id] = vitals
            encounter_of[vitals.id] = encounter_id
    results: dict[int, LabResult] = {}
    if with_lab:
        results = {
            r.id: r
            for r in db.session.scalars(
                select(LabResult)
                .where(LabResult.id.in_({row.record_id for row in page if row.source == 2}))
                .options(*lab.RESULT_OPTIONS)
            )
        }
    # By record id, as the answer lists them: each dict holds its statement's rows in no set order.
    shown_encounters = [encounters[key] for key in sorted(encounters)]
    shown_triages = [triages[key] for key in sorted(triages)]
    audit_views(
        [audited_record("encounter", e.id, e.patient_id, e.hospital_id) for e in shown_encounters]
        + [audited_record("vital_signs", v.id, v.patient_id, v.hospital_id) for v in shown_triages]
        + [lab.audited_result(results[key]) for key in sorted(results)]
    )
    found = []
    for row in page:
        if row.source == 0:
            found.append(observation_resource(encounters[row.record_id], VITALS[row.position]))
        elif row.source == 1:
            vitals = triages[row.record_id]
            found.append(triage_observation(vitals, VITALS[row.position], encounter_of[vitals.id]))
        else:
            found.append(clean(lab.lab_observation(results[row.record_id])))
    return found, total


OBSERVATION = ResourceType(
    "Observation",
    ("patient", "subject", "encounter", "category", "code", "date", "status"),
    read_observation,
    search_observations,
    "Vital signs written in encounters and taken at triage (LOINC, UCUM units); ids "
    "<kind>-<encounter id> and <kind>-t<triage id>, kind one of " + ", ".join(BY_KIND) + "; "
    "laboratory results (category laboratory, LOINC, ids lab-<result id>), a patient's once verified.",
)
