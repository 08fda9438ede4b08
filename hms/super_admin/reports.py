"""Platform administrator: reports over every hospital, or one chosen in the filters."""

from __future__ import annotations

from hms.reports import pages
from hms.services.reports import Scope
from hms.super_admin.routes import bp

pages.add_routes(bp, Scope)
