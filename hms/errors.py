"""Error pages for 400/403/404/405/409/422/429/500/503, as whole pages or as HTMX fragments; a lost
database connection answers 503 with Retry-After, and a failed clean-up never reaches the user."""

from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, g, make_response, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from hms.extensions import db, limiter
from hms.htmx import is_htmx, render
from hms.i18n import N_

MESSAGES = {
    400: (
        N_("Bad request"),
        N_("The request could not be understood. Check what you entered and try again."),
    ),
    403: (N_("Not allowed"), N_("Your account does not have access to this page.")),
    404: (N_("Not found"), N_("There is nothing here, or it is not yours to see.")),
    405: (N_("Not allowed"), N_("This address does not accept that kind of request.")),
    409: (N_("Conflict"), N_("Someone changed this at the same time. Reload and try again.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    422: (N_("Check your input"), N_("Some of what you entered is not valid.")),
    429: (N_("Too many attempts"), N_("Too many requests in a short time. Wait a minute and try again.")),
    500: (
        N_("Something went wrong"),
        N_("An error on our side stopped this. Nothing was saved; please try again."),
    ),
    503: (
        N_("Busy for a moment"),
        N_("The database did not answer. Nothing was saved; try again in a few seconds."),
    ),
}
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: BaseException) -> bool:
    """A lost or refused database connection, a deadlock or a lock that timed out: worth a retry."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, InterfaceError))


def discard_session(*, close: bool = False) -> None:
    """Roll back the request's database session, whatever state its connection is in (a connection the
    server has just closed cannot roll back, and that must not become the answer); `close` at the end
    of the request. When the rollback fails, the session is dropped and the signed-in user is read
    again on a fresh connection, so that the error page can still show who is signed in."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - logged; the connection is invalidated and the pool replaces it
        current_app.logger.warning("rollback failed on a broken database connection", exc_info=True)
        close = True
        g.pop("_login_user", None)
    if close:
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001
            current_app.logger.warning("closing a broken database session failed", exc_info=True)


def error_response(code: int, detail: str | None = None) -> Response:
    title, message = MESSAGES.get(code, MESSAGES[500])
    if request.path == "/fhir" or request.path.startswith("/fhir/"):
        from hms.api.fhir.common import operation_outcome

        return operation_outcome(code, detail or message)
    try:
        response = render(
            "errors/error.html", "error", status=code, code=code, title=title, message=detail or message
        )
    except Exception:  # the error page itself failed: answer in plain text rather than loop
        current_app.logger.exception("error page failed")
        response = make_response(f"{title}: {detail or message}", code)
        response.mimetype = "text/plain"
    if is_htmx():
        # Fragments of errors go to the page's message area, not into the swapped target.
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return error_response(
            400, N_("Your form expired or was sent from elsewhere. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if code == 429:
            response = error_response(429)
            limit = limiter.current_limit
            if limit is not None:
                response.headers["Retry-After"] = str(max(1, math.ceil(limit.reset_at - time.time())))
            return response
        response = error_response(code)
        if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(InternalServerError)
    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Response:
        if isinstance(error, HTTPException) and not isinstance(error, InternalServerError):
            return http_error(error)
        if database_unavailable(error):
            app.logger.warning("database unavailable: %s", str(error).splitlines()[0][:300])
            discard_session()
            response = error_response(503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        app.logger.exception("unhandled error", exc_info=error)
        discard_session()
        return error_response(500)

    @app.teardown_appcontext
    def close_session(_error: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own (teardowns run last-registered first), which then finds
        # nothing to close: a dead connection's failed rollback is logged here, never raised to the server.
        discard_session(close=True)
