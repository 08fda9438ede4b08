"""Development only (`make run`, DEV_MAILBOX): the outbox's latest emails as a page, so that someone
trying HMS without a mail server can open the links that registration and password reset send.
Never registered in production (tests/test_production.py)."""

from __future__ import annotations

import re

from flask import Blueprint, render_template
from sqlalchemy import select

from hms.extensions import db
from hms.models import Channel, OutboxEmail

bp = Blueprint("dev", __name__, url_prefix="/dev")
LINK = re.compile(r"https?://\S+")


@bp.get("/mailbox")
def mailbox():
    rows = db.session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.channel == Channel.email)
        .order_by(OutboxEmail.id.desc())
        .limit(20)
    ).all()
    mails = [(row, LINK.findall(row.body)) for row in rows]
    return render_template("dev/mailbox.html", mails=mails)
