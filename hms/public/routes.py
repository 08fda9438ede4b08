"""The public home page, and the health check that load balancers and Docker call."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hms.auth.session import dashboard_endpoint
from hms.database import first_read
from hms.extensions import db, limiter
from hms.htmx import render

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for(dashboard_endpoint(current_user.role)))
    return render("public/home.html")


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """200 "ok" when this process answers and reaches the database, 503 otherwise. No login, no session
    cookie, no rate limit, plain HTTP allowed (the check comes from inside the host, not through TLS)."""
    try:
        first_read(lambda: db.session.execute(text("SELECT 1")))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable: %s", str(error)[:200])
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")


healthz.talisman_view_options = {"force_https": False}  # what flask-talisman's per-view decorator sets
