"""Organization from our hospitals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from hms.api.fhir import access
from hms.api.fhir.common import Search, like_pattern, table_resource
from hms.models import Hospital, HospitalStatus


def organization_resource(hospital: Hospital) -> dict[str, Any]:
    telecom = []
    if hospital.phone:
        telecom.append({"system": "phone", "value": hospital.phone, "use": "work"})
    if hospital.email:
        telecom.append({"system": "email", "value": hospital.email, "use": "work"})
    return {
        "resourceType": "Organization",
        "id": str(hospital.id),
        "active": hospital.status == HospitalStatus.active,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": hospital.name,
        "telecom": telecom,
        "address": [
            {
                "text": f"{hospital.address}, {hospital.city}",
                "line": [hospital.address],
                "city": hospital.city,
            }
        ],
        "extension": [
            {"url": "urn:hms:timezone", "valueString": hospital.timezone},
            {"url": "urn:hms:currency", "valueCode": hospital.currency},
        ],
    }


def _filters(search: Search) -> list[Any]:
    clauses = search.ids(Hospital.id)
    if name := search.get("name"):
        clauses.append(func.lower(Hospital.name).like(like_pattern(name), escape="\\"))
    if active := search.get("active"):
        clauses.append(
            (Hospital.status == HospitalStatus.active)
            if active == "true"
            else (Hospital.status != HospitalStatus.active)
        )
    return clauses


ORGANIZATION = table_resource(
    "Organization",
    Hospital,
    params=("_id", "name", "active"),
    scope=access.hospitals_clause,
    filters=_filters,
    to_fhir=organization_resource,
    order_by=lambda: (Hospital.id,),
)
