"""Interoperability: the read-only FHIR R4 API (/fhir), calendar feeds and personal access tokens."""
