"""The laboratory as FHIR R4: ServiceRequest (an order), Specimen, DiagnosticReport (an order's report)
and the laboratory Observations (one per result row; hms/api/fhir/observations.py serves them with the
vital signs under the one Observation type, ids lab-<result id>).

Who sees them is the laboratory's rule (hms.services.lab.can_see_order) as SQL: the ordering doctor, a
doctor with a care relationship with the patient, the lab technicians of the order's hospital, the
patient himself, who sees results only once they are verified (or amended since) and an order's report
only once it is verified. Other roles have no access (403); another patient's or hospital's record is
a 404 and absent from searches. Every record returned is audited; a refused read of one that exists
is audited as denied."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from hms.api.fhir.clinical import _denied, _tokens
from hms.api.fhir.common import (
    Forbidden,
    Search,
    audit_views,
    audited_record,
    clean,
    instant,
    reference,
    table_resource,
)
from hms.extensions import db
from hms.models import (
    Doctor,
    LabItemStatus,
    LabOrder,
    LabOrderItem,
    LabOrderStatus,
    LabResult,
    LabSpecimen,
    LabTest,
    ResultKind,
    Role,
    StaffKind,
    User,
)
from hms.services import clinical

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
V2_SPECIMEN = "http://terminology.hl7.org/CodeSystem/v2-0487"
V2_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ORDER_SYSTEM = "urn:hms:lab-order"
LABEL_SYSTEM = "urn:hms:lab-specimen"
REPLACES = "urn:hms:fhir:StructureDefinition:replaces"  # valueReference: the Observation amended

# Units as the catalogue writes them → their UCUM code (the rest are UCUM already).
UCUM_CODES = {"10^9/L": "10*9/L", "10^12/L": "10*12/L", "mIU/L": "m[IU]/L", "IU/L": "[IU]/L", "mm/h": "mm/h"}

SPECIMEN_TYPES = {  # kind → (SNOMED CT code, display, HL7 v2 table 0487 code)
    "blood": ("119297000", "Blood specimen", "BLD"),
    "serum": ("119364003", "Serum specimen", "SER"),
    "plasma": ("119361006", "Plasma specimen", "PLAS"),
    "urine": ("122575003", "Urine specimen", "UR"),
    "stool": ("119339001", "Stool specimen", "STL"),
    "swab": ("257261003", "Swab", None),
    "sputum": ("119334006", "Sputum specimen", "SPT"),
    "csf": ("258450006", "Cerebrospinal fluid sample", "CSF"),
}

SERVICE_REQUEST_STATUS = {
    LabOrderStatus.ordered: "active",
    LabOrderStatus.collected: "active",
    LabOrderStatus.resulted: "active",
    LabOrderStatus.verified: "completed",
    LabOrderStatus.cancelled: "revoked",
}
RELEASED = (LabItemStatus.final, LabItemStatus.amended)
INTERPRETATION_DISPLAY = {
    "H": "High",
    "L": "Low",
    "HH": "Critical high",
    "LL": "Critical low",
    "N": "Normal",
}


# ---------------------------------------------------------------- who sees what


def orders_clause(user: User, resource_type: str) -> Any:
    """The lab orders the user may see (hms.services.lab.can_see_order as SQL); 403 for other roles."""
    if user.role == Role.patient and user.patient is not None:
        return LabOrder.patient_id == user.patient.id
    if user.role == Role.doctor and user.doctor is not None:
        return (LabOrder.doctor_id == user.doctor.id) | clinical.doctor_sees_patient_clause(
            user.doctor.id, LabOrder.patient_id
        )
    staff = user.staff if user.role == Role.staff else None
    if staff is not None and staff.kind == StaffKind.lab_technician:
        return LabOrder.hospital_id == staff.hospital_id
    raise Forbidden(resource_type)


def visible_orders(user: User, resource_type: str) -> Any:
    return select(LabOrder.id).where(orders_clause(user, resource_type))


def is_patient(user: User) -> bool:
    return user.role == Role.patient


def current_result_clause() -> Any:
    """A result row that is its item's latest (an amendment or a correction replaces the one before)."""
    newer = aliased(LabResult)
    return ~exists(select(newer.id).where(newer.item_id == LabResult.item_id, newer.id > LabResult.id))


def results_clause(user: User) -> Any:
    """Result rows the user may see: of the orders he may see; a patient only released values (the
    verified row of a verified item, and amendments)."""
    items = select(LabOrderItem.id).where(LabOrderItem.order_id.in_(visible_orders(user, "Observation")))
    clause = LabResult.item_id.in_(items)
    if is_patient(user):
        released = select(LabOrderItem.id).where(LabOrderItem.status.in_(RELEASED))
        clause = clause & LabResult.item_id.in_(released)
        clause = clause & (LabResult.verified_at.is_not(None) | LabResult.amends_id.is_not(None))
    return clause


def _audited_order(order: LabOrder) -> dict[str, Any]:
    return audited_record("lab_order", order.id, order.patient_id, order.hospital_id)


# ---------------------------------------------------------------- shared pieces


def _person(user: User | None) -> dict[str, str] | None:
    """A doctor as a Practitioner reference; a lab technician or nurse by name (no resource of ours)."""
    if user is None:
        return None
    doctor = user.doctor
    if doctor is not None:
        return reference("Practitioner", doctor.id, f"Dr {user.full_name}")
    return {"display": user.full_name}


def _hospital_coding(hospital_id: int, code: str, name: str) -> dict[str, str]:
    return {"system": f"urn:hms:hospital:{hospital_id}:lab-code", "code": code, "display": name}


def _codings(hospital_id: int, row: Any) -> list[dict[str, str]]:
    """A test's or panel's LOINC coding (when it has one) and the hospital's own code."""
    codings = [{"system": LOINC, "code": row.loinc, "display": row.name}] if row.loinc else []
    return [*codings, _hospital_coding(hospital_id, row.code, row.name)]


def ordered_code(order: LabOrder) -> dict[str, Any]:
    """What was ordered: each panel once and each test ordered alone (R4's code holds one concept, so
    an order of several carries each one's codings and names them all in the text)."""
    ordered: list[Any] = []
    seen: set[tuple[str, int]] = set()
    for item in order.items:
        key = ("panel", item.panel_id) if item.panel_id else ("test", item.test_id)
        if key not in seen:
            seen.add(key)
            ordered.append(item.panel if item.panel_id else item.test)
    return {
        "coding": [c for row in ordered for c in _codings(order.hospital_id, row)],
        "text": ", ".join(row.name for row in ordered),
    }


def _quantity(value: Decimal | None, unit: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity |= {"unit": unit, "system": UCUM, "code": UCUM_CODES.get(unit, unit)}
    return quantity


# ---------------------------------------------------------------- ServiceRequest


def service_request_resource(order: LabOrder) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": str(order.id),
        "identifier": [{"system": ORDER_SYSTEM, "value": order.number}],
        "status": SERVICE_REQUEST_STATUS[order.status],
        "intent": "order",
        "category": [
            {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
        ],
        "priority": order.priority.value,
        "code": ordered_code(order),
        "subject": reference("Patient", order.patient_id),
        "encounter": reference("Encounter", order.encounter_id),
        "authoredOn": instant(order.ordered_at),
        "requester": reference("Practitioner", order.doctor_id, f"Dr {order.doctor.user.full_name}"),
        "performer": [reference("Organization", order.hospital_id)],
        "note": [{"text": order.clinical_note}] if order.clinical_note else None,
    }


def _order_filters(search: Search) -> list[Any]:
    clauses = search.ids(LabOrder.id)
    clauses += search.refers(LabOrder.patient_id, "Patient", "patient", "subject")
    clauses += search.refers(LabOrder.encounter_id, "Encounter", "encounter")
    if statuses := _tokens(search, "status", set(SERVICE_REQUEST_STATUS.values())):
        clauses.append(LabOrder.status.in_([k for k, v in SERVICE_REQUEST_STATUS.items() if v in statuses]))
    for when in search.dates("authored"):
        clauses.append(when.clause(LabOrder.ordered_at))
    return clauses


_ORDER_OPTIONS = (
    joinedload(LabOrder.doctor).joinedload(Doctor.user),
    selectinload(LabOrder.items).joinedload(LabOrderItem.test),
    selectinload(LabOrder.items).joinedload(LabOrderItem.panel),
)

SERVICE_REQUEST = table_resource(
    "ServiceRequest",
    LabOrder,
    params=("_id", "patient", "subject", "encounter", "status", "authored"),
    scope=lambda user: orders_clause(user, "ServiceRequest"),
    filters=_order_filters,
    to_fhir=service_request_resource,
    order_by=lambda: (LabOrder.ordered_at, LabOrder.id),
    options=_ORDER_OPTIONS,
    audited=_audited_order,
    on_miss=_denied(LabOrder, "lab_order", lambda o: o.patient_id),
    documentation="Laboratory orders (the tests and panels, LOINC and the hospital's codes); "
    "status active until verified (completed), revoked when cancelled.",
)


# ---------------------------------------------------------------- Specimen


def specimen_type(kind: str) -> dict[str, Any]:
    known = SPECIMEN_TYPES.get(kind)
    if known is None:
        return {"text": kind}
    snomed, display, v2 = known
    codings = [{"system": SNOMED, "code": snomed, "display": display}]
    if v2:
        codings.append({"system": V2_SPECIMEN, "code": v2})
    return {"coding": codings, "text": display}


def specimen_resource(specimen: LabSpecimen) -> dict[str, Any]:
    order = specimen.order
    return {
        "resourceType": "Specimen",
        "id": str(specimen.id),
        "accessionIdentifier": {"system": LABEL_SYSTEM, "value": specimen.label},
        "status": "available",
        "type": specimen_type(specimen.kind.value),
        "subject": reference("Patient", order.patient_id),
        "request": [reference("ServiceRequest", order.id)],
        "collection": {
            "collector": _person(specimen.collected_by),
            "collectedDateTime": instant(specimen.collected_at),
        },
    }


def _specimen_filters(search: Search) -> list[Any]:
    orders = search.refers(LabOrder.patient_id, "Patient", "patient", "subject")
    orders += search.refers(LabOrder.id, "ServiceRequest", "request")
    clauses = search.ids(LabSpecimen.id)
    if orders:
        clauses.append(LabSpecimen.order_id.in_(select(LabOrder.id).where(*orders)))
    return clauses


SPECIMEN = table_resource(
    "Specimen",
    LabSpecimen,
    params=("_id", "patient", "subject", "request"),
    scope=lambda user: LabSpecimen.order_id.in_(visible_orders(user, "Specimen")),
    filters=_specimen_filters,
    to_fhir=specimen_resource,
    order_by=lambda: (LabSpecimen.id,),
    options=(
        joinedload(LabSpecimen.order),
        joinedload(LabSpecimen.collected_by).joinedload(User.doctor),
    ),
    audited=lambda s: audited_record("lab_specimen", s.id, s.order.patient_id, s.order.hospital_id),
    on_miss=_denied(LabSpecimen, "lab_specimen", lambda s: s.order.patient_id),
    documentation="Specimens taken for laboratory orders (SNOMED CT and HL7 v2 0487 types); "
    "accessionIdentifier is the label's number.",
)


# ---------------------------------------------------------------- Observation (laboratory)


def observation_status(result: LabResult, current: bool) -> str:
    if current:
        return result.item.status.value
    if result.amends_id is not None:
        return "amended"
    return "final" if result.verified_at is not None else "preliminary"


def interpretation(result: LabResult) -> list[dict[str, Any]] | None:
    """The flag (H, L, HH, LL), or N for a number within a reference range; nothing without one."""
    ranged = result.reference_low is not None or result.reference_high is not None
    if result.value_number is None or (result.flag is None and not ranged):
        return None
    code = result.flag.value if result.flag is not None else "N"
    display = INTERPRETATION_DISPLAY[code]
    return [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}], "text": display}]


def lab_observation(result: LabResult, *, current: bool = True) -> dict[str, Any]:
    item = result.item
    order, test = item.order, item.test
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"lab-{result.id}",
        "basedOn": [reference("ServiceRequest", order.id)],
        "status": observation_status(result, current),
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": {"coding": _codings(order.hospital_id, test), "text": test.name},
        "subject": reference("Patient", order.patient_id),
        "encounter": reference("Encounter", order.encounter_id),
        "effectiveDateTime": instant(order.collected_at),
        "issued": instant(result.verified_at or result.entered_at),
        "performer": [
            _person(result.verified_by or (result.entered_by if result.amends_id else None)),
            reference("Organization", order.hospital_id),
        ],
        "interpretation": interpretation(result),
        "specimen": reference("Specimen", item.specimen_id) if item.specimen_id else None,
    }
    if result.value_number is not None:
        body["valueQuantity"] = _quantity(result.value_number, result.unit)
        body["referenceRange"] = [
            {
                "low": _quantity(result.reference_low, result.unit),
                "high": _quantity(result.reference_high, result.unit),
            }
        ]
    elif test.kind == ResultKind.choice:
        body["valueCodeableConcept"] = {"text": result.value_text}
    else:
        body["valueString"] = result.value_text
    if result.amends_id is not None:
        body["extension"] = [
            {"url": REPLACES, "valueReference": reference("Observation", f"lab-{result.amends_id}")}
        ]
        body["note"] = [{"text": f"Amends Observation/lab-{result.amends_id}: {result.amend_reason or ''}"}]
    return body


RESULT_OPTIONS = (
    joinedload(LabResult.item).joinedload(LabOrderItem.test),
    joinedload(LabResult.item).joinedload(LabOrderItem.order),
    joinedload(LabResult.verified_by).joinedload(User.doctor),
    joinedload(LabResult.entered_by).joinedload(User.doctor),
)


def audited_result(result: LabResult) -> dict[str, Any]:
    order = result.item.order
    return audited_record("lab_result", result.id, order.patient_id, order.hospital_id)


def read_lab_observation(user: User, result_id: int) -> dict[str, Any] | None:
    result = db.session.scalar(
        select(LabResult).where(LabResult.id == result_id, results_clause(user)).options(*RESULT_OPTIONS)
    )
    if result is None:
        _denied(LabResult, "lab_result", lambda r: r.item.order.patient_id)(user, result_id)
        return None
    newer = db.session.scalar(
        select(LabResult.id).where(LabResult.item_id == result.item_id, LabResult.id > result.id).limit(1)
    )
    audit_views([audited_result(result)])
    return clean(lab_observation(result, current=newer is None))


def lab_branch_clauses(user: User, search: Search, codes: list[str], statuses: list[str]) -> list[Any]:
    """The conditions on lab_results for an Observation search (the current results only)."""
    clauses = [results_clause(user), current_result_clause()]
    orders = search.refers(LabOrder.patient_id, "Patient", "patient", "subject")
    orders += search.refers(LabOrder.encounter_id, "Encounter", "encounter")
    for when in search.dates("date"):
        orders.append(when.clause(LabOrder.collected_at))
    items = []
    if orders:
        items.append(LabOrderItem.order_id.in_(select(LabOrder.id).where(*orders)))
    if codes:
        items.append(LabOrderItem.test_id.in_(select(LabTest.id).where(LabTest.loinc.in_(codes))))
    if statuses:
        items.append(LabOrderItem.status.in_([LabItemStatus(s) for s in statuses]))
    if items:
        clauses.append(LabResult.item_id.in_(select(LabOrderItem.id).where(*items)))
    return clauses


# ---------------------------------------------------------------- DiagnosticReport

REPORT_STATUSES = {"registered", "partial", "final", "amended", "cancelled"}


def report_status(order: LabOrder) -> str:
    if order.status == LabOrderStatus.verified:
        return "amended" if any(i.status == LabItemStatus.amended for i in order.items) else "final"
    if order.status in (LabOrderStatus.collected, LabOrderStatus.resulted):
        return "partial"
    return order.status.value if order.status == LabOrderStatus.cancelled else "registered"


def diagnostic_report_resource(order: LabOrder) -> dict[str, Any]:
    current = [item.results[-1] for item in order.items if item.results]
    verifiers = {r.verified_by_id: r.verified_by for r in current if r.verified_by is not None}
    issued = [r.verified_at or r.entered_at for r in current]
    return {
        "resourceType": "DiagnosticReport",
        "id": str(order.id),
        "identifier": [{"system": ORDER_SYSTEM, "value": order.number}],
        "basedOn": [reference("ServiceRequest", order.id)],
        "status": report_status(order),
        "category": [{"coding": [{"system": V2_SECTION, "code": "LAB", "display": "Laboratory"}]}],
        "code": ordered_code(order),
        "subject": reference("Patient", order.patient_id),
        "encounter": reference("Encounter", order.encounter_id),
        "effectiveDateTime": instant(order.collected_at),
        "issued": instant(max(issued)) if issued else None,
        "performer": [reference("Organization", order.hospital_id)],
        "resultsInterpreter": [_person(user) for user in verifiers.values()],
        "specimen": [
            reference("Specimen", sid)
            for sid in dict.fromkeys(i.specimen_id for i in order.items if i.specimen_id)
        ],
        "result": [reference("Observation", f"lab-{r.id}") for r in current],
    }


def _report_scope(user: User) -> Any:
    clause = orders_clause(user, "DiagnosticReport")
    if is_patient(user):
        clause = clause & (LabOrder.status == LabOrderStatus.verified)
    return clause


def _amended_items() -> Any:
    return exists(
        select(LabOrderItem.id).where(
            and_(LabOrderItem.order_id == LabOrder.id, LabOrderItem.status == LabItemStatus.amended)
        )
    )


def _report_filters(search: Search) -> list[Any]:
    clauses = search.ids(LabOrder.id)
    clauses += search.refers(LabOrder.patient_id, "Patient", "patient", "subject")
    clauses += search.refers(LabOrder.encounter_id, "Encounter", "encounter")
    _tokens(search, "category", {"LAB", "http://terminology.hl7.org/CodeSystem/v2-0074|LAB"})
    if statuses := _tokens(search, "status", REPORT_STATUSES):
        wanted = []
        if "registered" in statuses:
            wanted.append(LabOrder.status == LabOrderStatus.ordered)
        if "partial" in statuses:
            wanted.append(LabOrder.status.in_((LabOrderStatus.collected, LabOrderStatus.resulted)))
        if "cancelled" in statuses:
            wanted.append(LabOrder.status == LabOrderStatus.cancelled)
        if "final" in statuses:
            wanted.append((LabOrder.status == LabOrderStatus.verified) & ~_amended_items())
        if "amended" in statuses:
            wanted.append((LabOrder.status == LabOrderStatus.verified) & _amended_items())
        clauses.append(or_(*wanted))
    for when in search.dates("date"):
        clauses.append(when.clause(LabOrder.collected_at))
    return clauses


DIAGNOSTIC_REPORT = table_resource(
    "DiagnosticReport",
    LabOrder,
    params=("_id", "patient", "subject", "encounter", "status", "category", "date"),
    scope=_report_scope,
    filters=_report_filters,
    to_fhir=diagnostic_report_resource,
    order_by=lambda: (LabOrder.ordered_at, LabOrder.id),
    options=(
        selectinload(LabOrder.items).joinedload(LabOrderItem.test),
        selectinload(LabOrder.items).joinedload(LabOrderItem.panel),
        selectinload(LabOrder.items)
        .selectinload(LabOrderItem.results)
        .joinedload(LabResult.verified_by)
        .joinedload(User.doctor),
    ),
    audited=_audited_order,
    on_miss=_denied(LabOrder, "lab_order", lambda o: o.patient_id),
    documentation="One laboratory report per order (category LAB): its current results, specimens "
    "and who verified them; a patient sees it once the order is verified.",
)
