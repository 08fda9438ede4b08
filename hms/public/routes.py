"""The public home page."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from hms.auth.session import dashboard_endpoint
from hms.htmx import render

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for(dashboard_endpoint(current_user.role)))
    return render("public/home.html")
