"""Hospital administrator: wards (edited in their rows, closed and opened) and their beds (added one by
one or as a range, renamed, out of service and back, marked cleaned, removed after a confirmation).

Every row is looked up through the admin's own hospital: another hospital's ward or bed is a 404. Every
action works as a plain form post with a redirect, and as an HTMX swap of the row it changes."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from hms import query as query_args
from hms.extensions import db
from hms.forms import EmptyForm, Submitted, submit
from hms.hospital_admin.routes import bp
from hms.hospital_admin.ward_forms import BedLabelForm, BedsForm, WardForm
from hms.htmx import is_htmx, redirect_to, render
from hms.models import Bed, BedStatus, Ward
from hms.money import minor_to_decimal
from hms.services import wards
from hms.services.errors import DomainError

WARDS = "hospital_admin/wards.html"
WARD = "hospital_admin/ward.html"
REMOVE = "hospital_admin/remove_bed.html"


def _ward(ward_id: int) -> Ward:
    return wards.hospital_ward(g.hospital.id, ward_id) or abort(404)


def _bed(ward: Ward, bed_id: int) -> Bed:
    return wards.hospital_bed(g.hospital.id, ward.id, bed_id) or abort(404)


def _done(message: str, endpoint: str, **values: Any) -> Response:
    flash(message, "success")
    return redirect_to(url_for(endpoint, **values))


def _rate(ward: Ward) -> Any:
    return minor_to_decimal(ward.daily_rate_minor, g.hospital.currency) if ward.daily_rate_minor else None


def _ward_form(ward: Ward) -> WardForm:
    return WardForm(formdata=None, obj=ward, daily_rate=_rate(ward))


def _save(form: WardForm, action: Any) -> Submitted[Any]:
    """`submit` for the ward's form: the rate's decimals are the service's to check (`daily_rate`)."""
    return submit(
        form, lambda: action(name=form.name.data, kind=form.kind.data, daily_rate=form.daily_rate.data)
    )


# --- Wards ------------------------------------------------------------------------------------------


def _wards_page(form: WardForm | None = None, status: int = 200) -> Response:
    return render(
        WARDS,
        "new_ward" if form is not None else None,
        status=status,
        hospital=g.hospital,
        listing=wards.ward_beds(g.hospital.id),
        statuses=list(BedStatus),
        form=form or WardForm(formdata=None),
    )


def _row(ward: Ward, status: int = 200, **context: Any) -> Response:
    entry = wards.beds_of(ward)
    return render(
        WARDS,
        "ward_row",
        status=status,
        hospital=g.hospital,
        entry=entry,
        statuses=list(BedStatus),
        **context,
    )


def _edit_row(ward: Ward, form: WardForm, status: int = 200) -> Response:
    return render(WARDS, "ward_edit_row", status=status, hospital=g.hospital, ward=ward, form=form)


@bp.get("/wards")
def wards_list():
    return _wards_page()


@bp.post("/wards")
def ward_create():
    form = WardForm()
    result = _save(form, lambda **fields: wards.create_ward(g.hospital, current_user, **fields))
    if not result.done:
        return _wards_page(form, result.status)
    ward = result.value
    return _done(
        gettext("%(name)s added. Add its beds here.", name=ward.name), "hospital_admin.ward", ward_id=ward.id
    )


def _ward_page(ward: Ward, status: int = 200, block: str | None = None, **context: Any) -> Response:
    entry = wards.beds_of(ward)
    context.setdefault("form", _ward_form(ward))
    context.setdefault("beds_form", BedsForm(formdata=None))
    return render(
        WARD, block, status=status, hospital=g.hospital, entry=entry, statuses=list(BedStatus), **context
    )


@bp.get("/wards/<int:ward_id>")
def ward(ward_id: int):
    ward = _ward(ward_id)
    fragment = query_args.choice("fragment", ("edit", "row", "beds"))
    if fragment and is_htmx():
        if fragment == "row":
            return _row(ward)
        if fragment == "beds":
            return _ward_page(ward, block="beds")
        return _edit_row(ward, _ward_form(ward))
    return _ward_page(ward)


@bp.post("/wards/<int:ward_id>")
def ward_save(ward_id: int):
    ward = _ward(ward_id)
    form = WardForm()
    in_row = query_args.flag("fragment", "row")
    result = _save(form, lambda **fields: wards.update_ward(ward, current_user, **fields))
    ward = _ward(ward_id)
    if not result.done:
        if in_row and is_htmx():
            return _edit_row(ward, form, result.status)
        return _ward_page(ward, result.status, "ward_form", form=form)
    message = gettext("Saved.") if result.value else gettext("Nothing changed.")
    if in_row and is_htmx():
        return _row(ward, row_message=message)
    return _done(message, "hospital_admin.ward", ward_id=ward.id)


@bp.post("/wards/<int:ward_id>/status")
def ward_status(ward_id: int):
    ward = _ward(ward_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("close", "open"):
        message, status = gettext("Choose close or open."), 422
    else:
        try:
            wards.set_ward_active(ward, action == "open", current_user)
        except DomainError as error:
            db.session.rollback()
            message, status = gettext(error.message), error.status
        else:
            db.session.commit()
            status = 200
            message = (
                gettext("%(name)s is open for admissions.", name=ward.name)
                if ward.active
                else gettext("%(name)s is closed: no new admissions.", name=ward.name)
            )
    ward = _ward(ward_id)
    if is_htmx():
        return _row(ward, status=status, row_message=message)
    flash(message, "success" if status == 200 else "error")
    return redirect_to(url_for("hospital_admin.wards_list"))


# --- Beds -------------------------------------------------------------------------------------------


def _bed_row(ward: Ward, bed: Bed, status: int = 200, **context: Any) -> Response:
    entry = wards.beds_of(ward)
    return render(
        WARD,
        "bed_row",
        status=status,
        hospital=g.hospital,
        entry=entry,
        ward=ward,
        bed=bed,
        statuses=list(BedStatus),
        oob_counts=True,
        **context,
    )


@bp.post("/wards/<int:ward_id>/beds")
def beds_add(ward_id: int):
    ward = _ward(ward_id)
    form = BedsForm()
    result = submit(form, lambda: wards.add_beds(ward, form.labels.data or "", current_user))
    ward = _ward(ward_id)
    if not result.done:
        return _ward_page(ward, result.status, "beds", beds_form=form)
    message = ngettext("%(num)d bed added.", "%(num)d beds added.", len(result.value))
    if not is_htmx():
        return _done(message, "hospital_admin.ward", ward_id=ward.id)
    return _ward_page(ward, block="beds", beds_message=message)


@bp.post("/wards/<int:ward_id>/beds/<int:bed_id>")
def bed_rename(ward_id: int, bed_id: int):
    ward = _ward(ward_id)
    bed = _bed(ward, bed_id)
    form = BedLabelForm()
    result = submit(form, lambda: wards.rename_bed(bed, form.label.data or "", current_user))
    bed = _bed(ward, bed_id)
    if not result.done:
        error = " ".join(gettext(str(e)) for e in form.label.errors)
        if is_htmx():
            return _bed_row(ward, bed, result.status, row_error=error, typed=form.label.data)
        flash(error, "error")
        return _ward_page(ward, result.status)
    message = gettext("Renamed.") if result.value else gettext("Nothing changed.")
    if not is_htmx():
        return _done(message, "hospital_admin.ward", ward_id=ward.id)
    return _bed_row(ward, bed, row_message=message)


def _bed_action(ward: Ward, bed: Bed, action: Any, message: str) -> Response:
    """Run a status change on the bed: the row (HTMX) or the ward's page (a redirect) with what
    happened; a refusal (409) shows the bed as it is now."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        message, status = gettext(error.message), error.status
    else:
        db.session.commit()
        status = 200
    bed = _bed(ward, bed.id)
    if is_htmx():
        return _bed_row(ward, bed, status, row_message=message)
    flash(message, "success" if status == 200 else "error")
    return redirect_to(url_for("hospital_admin.ward", ward_id=ward.id))


@bp.post("/wards/<int:ward_id>/beds/<int:bed_id>/status")
def bed_status(ward_id: int, bed_id: int):
    ward = _ward(ward_id)
    bed = _bed(ward, bed_id)
    status = request.form.get("status", "")
    version = request.form.get("version", "")
    seen = int(version) if version.isdigit() and len(version) < 10 else None
    label = bed.label

    def change() -> None:
        wards.set_bed_status(bed, status, current_user, version=seen)

    try:
        words = gettext(BedStatus(status).label)
    except ValueError:
        words = status
    return _bed_action(ward, bed, change, gettext("%(label)s: %(status)s.", label=label, status=words))


@bp.post("/wards/<int:ward_id>/beds/<int:bed_id>/cleaned")
def bed_cleaned(ward_id: int, bed_id: int):
    ward = _ward(ward_id)
    bed = _bed(ward, bed_id)
    version = request.form.get("version", "")
    seen = int(version) if version.isdigit() and len(version) < 10 else None
    message = gettext("%(label)s is clean and free.", label=bed.label)
    return _bed_action(ward, bed, lambda: wards.mark_bed_cleaned(bed, current_user, version=seen), message)


@bp.get("/wards/<int:ward_id>/beds/<int:bed_id>/remove")
def bed_remove_confirm(ward_id: int, bed_id: int):
    ward = _ward(ward_id)
    bed = _bed(ward, bed_id)
    if is_htmx() and query_args.flag("fragment", "row"):
        return render(WARD, "remove_row", hospital=g.hospital, ward=ward, bed=bed)
    return render(REMOVE, hospital=g.hospital, ward=ward, bed=bed)


@bp.post("/wards/<int:ward_id>/beds/<int:bed_id>/remove")
def bed_remove(ward_id: int, bed_id: int):
    ward = _ward(ward_id)
    bed = _bed(ward, bed_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    label = bed.label
    try:
        outcome = wards.remove_bed(bed, current_user)
    except DomainError as error:
        db.session.rollback()
        message, status = gettext(error.message), error.status
    else:
        db.session.commit()
        status = 200
        message = (
            gettext("%(label)s removed; its past stays keep it.", label=label)
            if outcome == "retired"
            else gettext("%(label)s removed.", label=label)
        )
    ward = _ward(ward_id)
    if is_htmx():
        return _ward_page(
            ward,
            status,
            "beds",
            beds_message=message if status == 200 else None,
            beds_error=None if status == 200 else message,
        )
    flash(message, "success" if status == 200 else "error")
    return redirect_to(url_for("hospital_admin.ward", ward_id=ward.id))
