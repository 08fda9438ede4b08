"""A read-only FHIR R4 JSON API over HMS's data: one module per resource family, routes in routes.py."""

from __future__ import annotations

from hms.api.fhir.billing import INVOICE
from hms.api.fhir.clinical import ALLERGY, CONDITION, MEDICATION_REQUEST
from hms.api.fhir.common import ResourceType
from hms.api.fhir.inpatient import ENCOUNTER, LOCATION
from hms.api.fhir.lab import DIAGNOSTIC_REPORT, SERVICE_REQUEST, SPECIMEN
from hms.api.fhir.observations import OBSERVATION
from hms.api.fhir.organizations import ORGANIZATION
from hms.api.fhir.people import PATIENT, PRACTITIONER, PRACTITIONER_ROLE
from hms.api.fhir.scheduling import APPOINTMENT, SCHEDULE, SLOT

RESOURCES: dict[str, ResourceType] = {
    r.name: r
    for r in (
        PATIENT,
        PRACTITIONER,
        PRACTITIONER_ROLE,
        ORGANIZATION,
        SCHEDULE,
        SLOT,
        APPOINTMENT,
        ENCOUNTER,
        OBSERVATION,
        CONDITION,
        ALLERGY,
        MEDICATION_REQUEST,
        INVOICE,
        SERVICE_REQUEST,
        SPECIMEN,
        DIAGNOSTIC_REPORT,
        LOCATION,
    )
}
