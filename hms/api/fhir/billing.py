"""Invoice from our bills: a patient's own (not drafts), every bill of a hospital for its administrators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import joinedload, selectinload

from hms.api.fhir import access
from hms.api.fhir.common import (
    FhirError,
    Forbidden,
    Search,
    instant,
    money,
    reference,
    table_resource,
)
from hms.models import Bill, BillStatus, Patient, Role, User

INVOICE_STATUS = {
    BillStatus.draft: "draft",
    BillStatus.issued: "issued",
    BillStatus.paid: "balanced",
    BillStatus.refunded: "balanced",  # nothing is owed any more; the note says it was refunded
    BillStatus.cancelled: "cancelled",
}


def invoice_resource(bill: Bill) -> dict[str, Any]:
    notes = [f"Status: {bill.status.label}."]
    if bill.paid_minor:
        notes.append(f"Paid {money(bill.paid_minor, bill.currency)['value']} {bill.currency}.")
    if bill.refunded_minor:
        notes.append(f"Refunded {money(bill.refunded_minor, bill.currency)['value']} {bill.currency}.")
    return {
        "resourceType": "Invoice",
        "id": str(bill.id),
        "identifier": [{"system": "urn:hms:bill", "value": bill.number}],
        "status": INVOICE_STATUS[bill.status],
        "cancelledReason": bill.cancel_reason if bill.status == BillStatus.cancelled else None,
        "subject": reference("Patient", bill.patient_id, bill.patient.user.full_name),
        "recipient": reference("Patient", bill.patient_id),
        "date": instant(bill.issued_at or bill.created_at),
        "participant": [{"actor": reference("Practitioner", bill.doctor_id)}] if bill.doctor_id else None,
        "issuer": reference("Organization", bill.hospital_id, bill.hospital.name),
        "lineItem": [
            {
                "sequence": n,
                "chargeItemCodeableConcept": {"text": f"{item.description} × {item.quantity}"},
                "priceComponent": [
                    {
                        "type": "base",
                        "factor": item.quantity,
                        "amount": money(item.amount_minor, bill.currency),
                    }
                ],
            }
            for n, item in enumerate(bill.items, start=1)
        ],
        "totalNet": money(bill.total_minor, bill.currency),
        "totalGross": money(bill.total_minor, bill.currency),
        "note": [{"text": " ".join(notes)}],
    }


def invoices_clause(user: User) -> Any:
    if user.role == Role.patient and user.patient is not None:
        return (Bill.patient_id == user.patient.id) & (Bill.status != BillStatus.draft)
    if user.role == Role.hospital_admin and access.hospital_id_of(user):
        return Bill.hospital_id == access.hospital_id_of(user)
    raise Forbidden("Invoice")


def _filters(search: Search) -> list[Any]:
    clauses = search.ids(Bill.id)
    clauses += search.refers(Bill.patient_id, "Patient", "patient", "subject")
    clauses += search.refers(Bill.hospital_id, "Organization", "issuer")
    clauses += search.refers(Bill.doctor_id, "Practitioner", "participant", "practitioner")
    statuses = [v for item in search.getlist("status") for v in item.split(",") if v]
    if statuses:
        by_fhir: dict[str, list[BillStatus]] = {}
        for bill_status, fhir_status in INVOICE_STATUS.items():
            by_fhir.setdefault(fhir_status, []).append(bill_status)
        if any(s not in by_fhir for s in statuses):
            raise FhirError(400, f"status is one of: {', '.join(sorted(by_fhir))}.")
        clauses.append(Bill.status.in_([b for s in statuses for b in by_fhir[s]]))
    for when in search.dates("date"):
        clauses.append(when.clause(func.coalesce(Bill.issued_at, Bill.created_at)))
    return clauses


INVOICE = table_resource(
    "Invoice",
    Bill,
    params=("_id", "patient", "subject", "issuer", "participant", "practitioner", "status", "date"),
    scope=invoices_clause,
    filters=_filters,
    to_fhir=invoice_resource,
    order_by=lambda: (Bill.id,),
    options=(
        joinedload(Bill.patient).joinedload(Patient.user),
        joinedload(Bill.hospital),
        selectinload(Bill.items),
    ),
    documentation="Amounts are decimals of the bill's currency; paid and refunded bills are 'balanced'.",
)
