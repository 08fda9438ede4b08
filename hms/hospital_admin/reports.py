"""Hospital administrator: reports on his hospital (its scope comes from his account, never the URL)."""

from __future__ import annotations

from flask import g

from hms.hospital_admin.routes import bp
from hms.reports import pages
from hms.services.reports import Scope

pages.add_routes(bp, lambda: Scope(g.hospital))
