"""Account settings: personal API tokens (for /fhir) and the secret calendar-feed address.

A new token or feed address is shown once, in the answer to the POST that made it (only its hash is
kept): HTMX swaps the section; without JavaScript the whole page is rendered with it."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hms.api.forms import ApiTokenForm
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render
from hms.models import TokenKind
from hms.services import api_tokens
from hms.services.errors import DomainError, NotFound

bp = Blueprint("api_tokens", __name__)

TEMPLATE = "account/tokens.html"


@bp.before_request
@login_required
def require_login() -> None:
    return None


def _page(status: int = 200, block: str | None = None, **context):  # type: ignore[no-untyped-def]
    has_feed = current_user.role in api_tokens.FEED_ROLES
    context.setdefault("form", ApiTokenForm(formdata=None))
    return render(
        TEMPLATE,
        block,
        status=status,
        tokens=api_tokens.active_tokens(current_user),
        has_feed=has_feed,
        feed=api_tokens.active_tokens(current_user, TokenKind.calendar) if has_feed else [],
        button=EmptyForm(),
        **context,
    )


@bp.get("/tokens")
def tokens():
    return _page()


@bp.post("/tokens")
def create_token():
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            token, secret = api_tokens.create_api_token(current_user, form.name.data, form.expires.data)
        except DomainError as error:
            db.session.rollback()
            target = getattr(form, error.field or "name", form.name)
            target.errors = [*target.errors, str(error.message)]
        else:
            db.session.commit()
            return _page(block="api_tokens", new_token=token, secret=secret)
    return _page(status=422, block="api_tokens", form=form)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        api_tokens.revoke_token(current_user, token_id)
    except NotFound:
        abort(404)
    db.session.commit()
    if is_htmx():
        return _page(block="api_tokens")
    flash(_("The token is revoked: programs using it are refused from now on."), "success")
    return redirect_to(url_for("api_tokens.tokens"))


@bp.post("/calendar-feed")
def rotate_feed():
    if not EmptyForm().validate_on_submit():
        abort(400)
    if current_user.role not in api_tokens.FEED_ROLES:
        abort(403)
    _, secret = api_tokens.rotate_calendar_feed(current_user)
    db.session.commit()
    # Like links in emails, from the configured address, never from the request's Host header.
    feed_url = current_app.config["PUBLIC_URL"] + url_for("calendar.feed", token=secret)
    return _page(block="calendar_feed", feed_url=feed_url)


@bp.post("/calendar-feed/revoke")
def revoke_feed():
    if not EmptyForm().validate_on_submit():
        abort(400)
    if current_user.role not in api_tokens.FEED_ROLES:
        abort(403)
    api_tokens.revoke_calendar_feed(current_user)
    db.session.commit()
    if is_htmx():
        return _page(block="calendar_feed")
    flash(_("Your calendar feed is turned off; its address no longer works."), "success")
    return redirect_to(url_for("api_tokens.tokens"))
