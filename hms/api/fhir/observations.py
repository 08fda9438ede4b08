"""Observation: the vital signs a doctor writes in an encounter (blood pressure, heart rate, body
temperature, weight, height), as FHIR R4 vital-signs Observations with LOINC codes and UCUM units.

They are not stored as rows of their own: each is one measurement of an encounter, with the id
"<kind>-<encounter id>" (bp-12, heart-rate-12, …). Who sees them, and the audit log, follow the
encounter's rules (hms/api/fhir/clinical.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from hms.api.fhir.clinical import _audit, _clinical_scope, _denied, _tokens
from hms.api.fhir.common import (
    FhirError,
    ResourceType,
    Search,
    audit_views,
    audited_record,
    clean,
    instant,
    reference,
)
from hms.extensions import db
from hms.models import Appointment, Encounter, User

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
)
BY_KIND = {v.kind: v for v in VITALS}
BY_CODE = {v.loinc: v for v in VITALS} | {SYSTOLIC[0]: BY_KIND["bp"], DIASTOLIC[0]: BY_KIND["bp"]}
OBSERVATION_ID = re.compile(r"^(" + "|".join(BY_KIND) + r")-(\d{1,10})$")


def _quantity(value: int | Decimal, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


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


def _visible(user: User) -> Any:
    return _clinical_scope(user, Encounter.patient_id, "Observation")


def read_observation(user: User, raw_id: str) -> dict[str, Any] | None:
    match = OBSERVATION_ID.match(raw_id)
    if not match or not 0 < int(match.group(2)) < 2**31:
        return None
    vital, encounter_id = BY_KIND[match.group(1)], int(match.group(2))
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


def search_observations(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    """One per measurement taken (an encounter without a pulse has no heart-rate Observation), in
    the order the encounters were written, then by kind; vital-signs is the only category."""
    clauses = [_visible(user)]
    clauses += search.refers(Encounter.patient_id, "Patient", "patient", "subject")
    clauses += search.refers(Encounter.id, "Encounter", "encounter")
    for when in search.dates("date"):
        clauses.append(
            Encounter.appointment_id.in_(select(Appointment.id).where(when.clause(Appointment.start_at)))
        )
    _tokens(search, "category", {"vital-signs"})
    codes = [v.split("|")[-1] for item in search.getlist("code") for v in item.split(",") if v]
    kinds = list(dict.fromkeys(BY_CODE[_known_code(c)] for c in codes)) or list(VITALS)
    measured = union_all(
        *[
            select(Encounter.id.label("encounter_id"), literal(VITALS.index(vital)).label("position"))
            .where(*clauses)
            .where(or_(*[getattr(Encounter, column).is_not(None) for column in vital.columns]))
            for vital in kinds
        ]
    ).subquery()
    total = db.session.scalar(select(func.count()).select_from(measured)) or 0
    page = db.session.execute(
        select(measured.c.encounter_id, measured.c.position)
        .order_by(measured.c.encounter_id, measured.c.position)
        .limit(search.count)
        .offset(search.offset)
    ).all()
    encounters = {
        e.id: e
        for e in db.session.scalars(
            select(Encounter)
            .where(Encounter.id.in_({row.encounter_id for row in page}))
            .options(joinedload(Encounter.appointment))
        )
    }
    audit_views([audited_record("encounter", e.id, e.patient_id, e.hospital_id) for e in encounters.values()])
    return [observation_resource(encounters[row.encounter_id], VITALS[row.position]) for row in page], total


def _known_code(code: str) -> str:
    if code not in BY_CODE:
        raise FhirError(400, f"code is a LOINC vital sign: {', '.join(sorted(BY_CODE))}.")
    return code


OBSERVATION = ResourceType(
    "Observation",
    ("patient", "subject", "encounter", "category", "code", "date"),
    read_observation,
    search_observations,
    "Vital signs written in encounters (LOINC, UCUM units); ids <kind>-<encounter id>, kind one of "
    + ", ".join(BY_KIND)
    + ".",
)
