"""/fhir: read and search by Bearer token only (no cookies, so no CSRF), answers in application/fhir+json."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from hms import clock
from hms.api.fhir import RESOURCES
from hms.api.fhir.common import FhirError, fhir_response, operation_outcome, parse_search, searchset
from hms.database import first_read
from hms.extensions import csrf, db, limiter, login_manager
from hms.models import TokenKind
from hms.services.api_tokens import user_for_token

bp = Blueprint("fhir", __name__)
csrf.exempt(bp)

FHIR_VERSION = "4.0.1"


def _rate_limit() -> str:
    return current_app.config["FHIR_RATE_LIMIT"]


limiter.limit(_rate_limit)(bp)


def base_url() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/fhir"


@bp.before_request
def authenticate() -> Response | None:
    """Only a Bearer token counts here: a session cookie sent along is ignored."""
    g._login_user = login_manager.anonymous_user()  # Flask-Login: nobody, whatever cookie came along
    if request.endpoint == "fhir.metadata":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return operation_outcome(401, "Send a personal API token: Authorization: Bearer <token>.")
    user = first_read(lambda: user_for_token(secret.strip(), TokenKind.api))
    if user is None:
        return operation_outcome(401, "The token is unknown, expired or revoked.")
    g._login_user = user
    if db.session.dirty:
        db.session.commit()  # the token's last use (written at most once a minute)
    refusal = closed_to(user)
    if refusal:
        return operation_outcome(403, refusal)
    return None


def closed_to(user) -> str | None:  # type: ignore[no-untyped-def]
    """The pages' gates, for the API too: a deactivated account and a hospital's staff while it is not
    active read nothing; a hospital administrator reads his hospital's data while it is active or
    suspended (to wind down, as his pages allow), not while it waits for approval."""
    from hms.models import HospitalStatus, Role
    from hms.services.accounts import login_block_reason

    reason = login_block_reason(user)
    if reason:
        return reason
    link = user.hospital_admin if user.role == Role.hospital_admin else None
    if link is not None and link.hospital.status == HospitalStatus.pending:
        return "The hospital is waiting for the platform's approval; its data opens when it is approved."
    return None


@bp.errorhandler(FhirError)
def fhir_error(error: FhirError) -> Response:
    db.session.rollback()
    return operation_outcome(error.status, error.diagnostics)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return operation_outcome(error.code or 500, error.description or "Error")


@bp.get("/metadata")
def metadata() -> Response:
    resources = [
        {
            "type": name,
            "documentation": resource.documentation or None,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": param, "type": _param_type(param)} for param in resource.params]
            + [{"name": "_count", "type": "number"}, {"name": "_offset", "type": "number"}],
        }
        for name, resource in RESOURCES.items()
    ]
    for entry in resources:
        if entry["documentation"] is None:
            del entry["documentation"]
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": clock.now().strftime("%Y-%m-%d"),
        "publisher": "HMS",
        "kind": "instance",
        "software": {"name": "HMS"},
        "implementation": {"description": "HMS read-only FHIR API", "url": base_url()},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Personal API tokens (Authorization: Bearer), made and revoked "
                    "under Account → API tokens. Each user sees what his pages show him.",
                },
                "resource": resources,
            }
        ],
    }
    return fhir_response(body)


def _param_type(name: str) -> str:
    if name in ("date", "birthdate", "start", "authoredon", "authored", "recorded-date"):
        return "date"
    if name in (
        "patient",
        "practitioner",
        "organization",
        "actor",
        "schedule",
        "encounter",
        "requester",
        "subject",
        "issuer",
        "participant",
        "request",
        "location",
        "partof",
    ):
        return "reference"
    if name == "name":
        return "string"
    return "token"


def _resource_type(name: str):  # type: ignore[no-untyped-def]
    resource = RESOURCES.get(name)
    if resource is None:
        raise FhirError(404, f"Unknown or unsupported resource type: {name[:40]}.")
    return resource


@bp.get("/<resource_type>")
def search(resource_type: str) -> Response:
    resource = _resource_type(resource_type)
    query = parse_search(request.args, resource.params)
    found, total = resource.search(g._login_user, query)
    db.session.commit()  # the audit events
    return fhir_response(searchset(resource.name, found, total, query, base_url()))


@bp.get("/<resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> Response:
    resource = _resource_type(resource_type)
    found = resource.read(g._login_user, resource_id[:80])
    db.session.commit()  # the audit events, a denied attempt too
    if found is None:
        return operation_outcome(
            404, f"{resource.name}/{resource_id[:40]} is not known, or not yours to see."
        )
    return fhir_response(found)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def anything_else(rest: str) -> Response:
    if request.method != "GET":
        return operation_outcome(405, "This FHIR server is read-only.")
    return operation_outcome(404, "No such FHIR endpoint.")
