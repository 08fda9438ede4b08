"""Doctor pages for the laboratory (issue 21): ordering tests and panels from the encounter (the
draft, the catalogue search, place and cancel), an order's results (verify, acknowledge a critical
value) and the critical values waiting for the doctor.

An order is shown to the doctors `lab.can_see_order` allows (the ordering doctor, a doctor with an
appointment with the patient); any other id is a 404, written to the audit log as a denied look-up."""

from __future__ import annotations

from flask import Response, abort, flash, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from hms import query as query_args
from hms.clinical_forms import VersionedForm
from hms.doctor import lab_section
from hms.doctor.clinical import _deny, _encounter_or_404, _encounter_page, _refuse
from hms.doctor.routes import bp
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.lookup import MAX_ID
from hms.models import Doctor, Encounter, LabOrder, LabOrderItem, LabResult, Patient
from hms.services import clinical, lab
from hms.services.errors import DomainError

CRITICALS_SHOWN = 100


# ---------------------------------------------------------------- ordering from the encounter


def _section(encounter: Encounter, block: str = "lab", status: int = 200, **state) -> Response:  # type: ignore[no-untyped-def]
    """The Laboratory section's block for HTMX, else the encounter page with the section in that state."""
    context = lab_section.context(encounter, **state)
    if is_htmx():
        return render("doctor/lab/_encounter.html", block, status=status, encounter=encounter, **context)
    return _encounter_page(encounter, status=status, lab=context)


def _draft_in_query() -> dict:
    """The draft and its form as the query string carries them (a GET form: no CSRF token needed)."""
    values = query_args.cleaned()
    form = lab_section.LabOrderForm(formdata=values, meta={"csrf": False})
    return {"draft": lab_section.Draft.read(values), "form": form}


@bp.get("/encounters/<int:encounter_id>/lab")
def lab_draft(encounter_id: int):
    """The section with the draft as the form carries it (a test added or removed, a search)."""
    return _section(_encounter_or_404(encounter_id), **_draft_in_query())


@bp.get("/encounters/<int:encounter_id>/lab/search")
def lab_search(encounter_id: int):
    """The catalogue's matches for the search box (the page itself without JavaScript)."""
    return _section(_encounter_or_404(encounter_id), "lab_results", **_draft_in_query())


@bp.post("/encounters/<int:encounter_id>/lab/orders")
def place_lab_order(encounter_id: int):
    encounter = _encounter_or_404(encounter_id)
    form = lab_section.LabOrderForm()
    draft = lab_section.Draft.read(request.form)
    draft.query = ""
    if form.validate_on_submit():
        try:
            order = lab.place_order(
                encounter,
                current_user,
                test_ids=draft.test_ids,
                panel_ids=draft.panel_ids,
                priority=form.priority.data,
                clinical_note=form.clinical_note.data or "",
            )
        except DomainError as error:
            _refuse(error)
            attach_error(form, error)
            return _section(encounter, status=error.status, draft=draft, form=form)
        db.session.commit()
        message = lab_section.placed_message(order)
        if not is_htmx():
            flash(message, "success")
            return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id) + "#lab")
        return _section(encounter, placed=message)
    return _section(encounter, status=422, draft=draft, form=form)


# ---------------------------------------------------------------- an order and its results


def _details(query):  # type: ignore[no-untyped-def]
    """Everything the order page shows, in a fixed number of statements whatever the results."""
    return query.options(
        joinedload(LabOrder.patient).joinedload(Patient.user),
        joinedload(LabOrder.hospital),
        joinedload(LabOrder.doctor).joinedload(Doctor.user),
        joinedload(LabOrder.bill),
        selectinload(LabOrder.specimens),
        selectinload(LabOrder.items).options(
            joinedload(LabOrderItem.test),
            joinedload(LabOrderItem.panel),
            selectinload(LabOrderItem.results).options(
                joinedload(LabResult.entered_by),
                joinedload(LabResult.verified_by),
                joinedload(LabResult.acknowledged_by),
            ),
        ),
    )


def _order_or_404(order_id: int) -> LabOrder:
    order = db.session.scalar(_details(select(LabOrder)).where(LabOrder.id == order_id))
    if order is None or not lab.can_see_order(current_user, order):
        _deny("lab_order", order_id, order.patient_id if order else None)
    return order


def _order_page(order: LabOrder, *, block: str | None = None, status: int = 200, **extra) -> Response:  # type: ignore[no-untyped-def]
    if block is None and status == 200:
        clinical.audit(
            "view", "lab_order", order.id, patient_id=order.patient_id, hospital_id=order.hospital_id
        )
        db.session.commit()
    return render(
        "doctor/lab/order.html",
        block,
        status=status,
        order=order,
        patient=order.patient,
        own_encounter=order.encounter_id if order.doctor_id == current_user.doctor.id else None,
        can_verify=lambda item: lab.can_verify(current_user, item),
        can_acknowledge=lambda result: (
            result.awaits_acknowledgement and lab.can_acknowledge(current_user, result)
        ),
        button_form=VersionedForm(formdata=None),
        cancel_form=extra.pop("cancel_form", None) or lab_section.order_cancel_form(order, formdata=None),
        priority_labels=lab_section.PRIORITY_LABELS,
        **extra,
    )


@bp.get("/lab/<int:lab_order_id>")
def lab_order(lab_order_id: int):
    return _order_page(_order_or_404(lab_order_id))


def _after_change(order_id: int, message: str, status: int = 200) -> Response:
    """The order's results again: its block for HTMX, a redirect (or the page, refused) otherwise."""
    db.session.expire_all()
    order = _order_or_404(order_id)
    if is_htmx():
        return _order_page(order, block="results", status=status, message=message)
    if status == 200:
        flash(message, "success")
        return redirect_to(url_for("doctor.lab_order", lab_order_id=order_id))
    return _order_page(order, status=status, message=message)


def _change(order_id: int, action, success: str) -> Response:  # type: ignore[no-untyped-def]
    """Run one of the service's changes, commit, and show the order again with what happened."""
    try:
        action()
    except DomainError as error:
        _refuse(error)
        return _after_change(order_id, error.message, error.status)
    db.session.commit()
    return _after_change(order_id, success)


@bp.post("/lab/<int:lab_order_id>/items/<int:lab_item_id>/verify")
def verify_lab_result(lab_order_id: int, lab_item_id: int):
    order = _order_or_404(lab_order_id)
    item = next((i for i in order.items if i.id == lab_item_id), None) or abort(404)
    form = VersionedForm()
    if not form.validate_on_submit():
        abort(400)
    version = form.version_number
    if version is not None and not 0 < version <= MAX_ID:
        abort(400)
    return _change(
        order.id, lambda: lab.verify_result(item, current_user, version=version), N_("Result verified.")
    )


@bp.post("/lab/<int:lab_order_id>/results/<int:lab_result_id>/acknowledge")
def acknowledge_lab_result(lab_order_id: int, lab_result_id: int):
    order = _order_or_404(lab_order_id)
    results = (r for i in order.items for r in i.results)
    result = next((r for r in results if r.id == lab_result_id), None) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _change(
        order.id,
        lambda: lab.acknowledge_critical(result, current_user),
        N_("Critical result acknowledged."),
    )


@bp.post("/lab/<int:lab_order_id>/cancel")
def cancel_lab_order(lab_order_id: int):
    order = _order_or_404(lab_order_id)
    form = lab_section.order_cancel_form(order)
    encounter = order.encounter
    if form.validate_on_submit():
        try:
            lab.cancel_order(order, current_user, form.reason.data)
        except DomainError as error:
            _refuse(error)
            attach_error(form, error)
            return _cancel_refused(db.session.get(LabOrder, lab_order_id), form, error.status)
        db.session.commit()
        message = gettext("Order %(number)s cancelled.", number=order.number)
        if is_htmx() and lab.can_order(current_user, encounter):
            return _section(encounter, placed=message)
        flash(message, "success")
        return redirect_to(url_for("doctor.lab_order", lab_order_id=lab_order_id))
    return _cancel_refused(order, form, 422)


def _cancel_refused(order: LabOrder, form: lab_section.CancelLabOrderForm, status: int) -> Response:
    if is_htmx() and lab.can_order(current_user, order.encounter):
        return _section(order.encounter, status=status, cancel_form=form, cancel_order_id=order.id)
    return _order_page(_order_or_404(order.id), status=status, cancel_form=form)


# ---------------------------------------------------------------- critical values for the doctor


def _my_open_criticals():  # type: ignore[no-untyped-def]
    return (
        select(LabResult)
        .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
        .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
        .where(
            LabOrder.doctor_id == current_user.doctor.id,
            LabResult.critical.is_(True),
            LabResult.acknowledged_at.is_(None),
        )
    )


def open_criticals_count() -> int:
    """How many critical values of the doctor's orders wait for his acknowledgement (one statement)."""
    return db.session.scalar(select(func.count()).select_from(_my_open_criticals().subquery())) or 0


@bp.get("/lab/criticals")
def lab_criticals():
    results = db.session.scalars(
        _my_open_criticals()
        .options(
            joinedload(LabResult.item).joinedload(LabOrderItem.test),
            joinedload(LabResult.item)
            .joinedload(LabOrderItem.order)
            .joinedload(LabOrder.patient)
            .joinedload(Patient.user),
            joinedload(LabResult.item).joinedload(LabOrderItem.order).joinedload(LabOrder.hospital),
        )
        .order_by(LabResult.entered_at, LabResult.id)
        .limit(CRITICALS_SHOWN)
    ).all()
    return render("doctor/lab/criticals.html", results=results, button_form=EmptyForm())
