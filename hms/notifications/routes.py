"""The bell (a tiny polled fragment), the list of notices with mark read, and delivery preferences."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from hms import query as query_args
from hms.auth.session import bell_count, role_required
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.i18n import N_
from hms.models import Role
from hms.redirects import local_target
from hms.services import notifications as service
from hms.services import sms
from hms.services.errors import NotFound

bp = Blueprint("notifications", __name__)
_logged_in = role_required(*Role)
MAX_ID = 2**31 - 1


@bp.before_request
def _require_login():  # type: ignore[no-untyped-def]
    if request.endpoint == "notifications.bell":
        return None  # answers anonymous polls itself (and stops them)
    return _logged_in()


def _notice_or_404(notification_id: int):  # type: ignore[no-untyped-def]
    if notification_id > MAX_ID:
        abort(404)
    try:
        return service.users_notification(current_user, notification_id)
    except NotFound:
        abort(404)


@bp.get("/bell")
def bell():
    if not current_user.is_authenticated:
        # 286 tells htmx to stop polling: the session has ended, the page is stale.
        return make_response("", 286)
    return render("notifications/_bell.html", "bell", count=bell_count(current_user))


@bp.get("/")
def index():
    page = query_args.page()
    per_page = current_app.config["PAGE_SIZE"]
    notices, total = service.list_notifications(current_user, page, per_page)
    return render(
        "notifications/list.html",
        "list",
        notices=notices,
        page=page,
        has_more=page * per_page < total,
        unread=bell_count(current_user),
        form=EmptyForm(),
    )


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    notice = _notice_or_404(notification_id)
    service.mark_read(current_user, notice.id)
    db.session.commit()
    if is_htmx():
        response = render("notifications/list.html", "item", notice=notice, form=EmptyForm())
        return trigger(response, "notificationsChanged")
    return redirect_to(url_for("notifications.index"))


@bp.post("/<int:notification_id>/open")
def open_notice(notification_id: int):
    """Mark the notice read and follow its link (a POST: reading is a change)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    notice = _notice_or_404(notification_id)
    service.mark_read(current_user, notice.id)
    db.session.commit()
    return redirect_to(local_target(notice.link) or url_for("notifications.index"))


@bp.post("/read-all")
def mark_all_read():
    if not EmptyForm().validate_on_submit():
        abort(400)
    service.mark_all_read(current_user)
    db.session.commit()
    if is_htmx():
        per_page = current_app.config["PAGE_SIZE"]
        notices, total = service.list_notifications(current_user, 1, per_page)
        response = render(
            "notifications/list.html",
            "list",
            notices=notices,
            page=1,
            has_more=per_page < total,
            unread=0,
            form=EmptyForm(),
        )
        return trigger(response, "notificationsChanged")
    flash(N_("All notifications are marked read."), "success")
    return redirect_to(url_for("notifications.index"))


def _preferences_form(choices):  # type: ignore[no-untyped-def]
    class PreferencesForm(FlaskForm):
        pass

    for kind, channels in choices:
        setattr(PreferencesForm, f"email_{kind.key}", BooleanField(N_("Email"), default=channels.email))
        setattr(PreferencesForm, f"sms_{kind.key}", BooleanField(N_("Text message"), default=channels.sms))
    return PreferencesForm()


@bp.route("/preferences", methods=["GET", "POST"])
def preferences():
    choices = service.preferences(current_user)
    form = _preferences_form(choices)
    saved = False
    if form.validate_on_submit():
        service.set_preferences(
            current_user,
            {
                kind.key: service.Channels(
                    email=bool(form[f"email_{kind.key}"].data), sms=bool(form[f"sms_{kind.key}"].data)
                )
                for kind, _ in choices
            },
        )
        db.session.commit()
        if not is_htmx():
            flash(N_("Your notification settings are saved."), "success")
            return redirect_to(url_for("notifications.preferences"))
        saved = True
    elif form.is_submitted():
        abort(400)
    return render(
        "notifications/preferences.html",
        "form",
        form=form,
        kinds=[kind for kind, _ in choices],
        phone=sms.user_phone(current_user),
        offers_sms=current_user.role == Role.patient,
        saved=saved,
    )
