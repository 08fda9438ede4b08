"""Hospital administrator: the laboratory's catalogue (tests edited in their rows or on their page, with
reference ranges; panels) and the hospital's critical values waiting for an acknowledgement.

Every row is looked up through the admin's own hospital: another hospital's test, panel, range or
result is a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, current_app, flash, g, request, url_for
from flask_babel import gettext
from flask_login import current_user

from hms import query as query_args
from hms.extensions import db
from hms.forms import EmptyForm, Submitted, submit
from hms.hospital_admin.lab_forms import LabTestForm, PanelForm, RangeForm
from hms.hospital_admin.routes import bp
from hms.htmx import is_htmx, redirect_to, render
from hms.models import LabPanel, LabTest
from hms.money import minor_to_decimal
from hms.services import lab, lab_admin
from hms.services.errors import DomainError

TESTS = "hospital_admin/lab_tests.html"
TEST = "hospital_admin/lab_test.html"
PANELS = "hospital_admin/lab_panels.html"
CRITICALS = "hospital_admin/lab_criticals.html"
T = TypeVar("T")


def _test(test_id: int) -> LabTest:
    test = db.session.get(LabTest, test_id)
    if test is None or test.hospital_id != g.hospital.id:
        abort(404)
    return test


def _panel(panel_id: int) -> LabPanel:
    panel = db.session.get(LabPanel, panel_id)
    if panel is None or panel.hospital_id != g.hospital.id:
        abort(404)
    return panel


def _done(message: str, endpoint: str, **values: Any) -> Response:
    flash(message, "success")
    return redirect_to(url_for(endpoint, **values))


def _priced_submit(form: Any, action: Callable[[int], T]) -> Submitted[T]:
    """`submit` with the form's price turned into minor units of the hospital's currency first."""
    if not form.validate_on_submit():
        return Submitted(False, status=422)
    price_minor = form.price_minor(g.hospital.currency)
    if price_minor is None:
        return Submitted(False, status=422)
    return submit(form, lambda: action(price_minor))


# --- Tests ------------------------------------------------------------------------------------------


def _tests_page(form: LabTestForm | None = None, status: int = 200) -> Response:
    query = query_args.text("q")
    listing = db.paginate(
        lab_admin.search_tests(g.hospital.id, query),
        page=query_args.page(),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    block = "test_table" if query_args.flag("fragment", "table") else None
    if form is not None:
        block = "new_test"
    return render(
        TESTS,
        block,
        status=status,
        hospital=g.hospital,
        tests=listing,
        query=query,
        args={"q": query} if query else {},
        form=form or LabTestForm(formdata=None),
        empty=not query and listing.total == 0,
    )


@bp.get("/lab/tests")
def lab_tests():
    return _tests_page()


@bp.post("/lab/tests")
def lab_test_create():
    form = LabTestForm()
    result = _priced_submit(
        form, lambda price: lab_admin.create_test(g.hospital, form.fields(price), current_user)
    )
    if not result.done:
        return _tests_page(form, result.status)
    test = result.value
    return _done(
        gettext("%(name)s added. Add its reference ranges here.", name=test.name),
        "hospital_admin.lab_test",
        test_id=test.id,
    )


@bp.post("/lab/tests/standard")
def lab_catalogue_install():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if lab_admin.has_catalogue(g.hospital.id):
        flash(gettext("The hospital already has a catalogue."), "error")
        return redirect_to(url_for("hospital_admin.lab_tests"))
    added = lab.install_catalogue(g.hospital)
    db.session.commit()
    return _done(
        gettext("The standard catalogue is added: %(n)d tests and panels.", n=added),
        "hospital_admin.lab_tests",
    )


def _test_page(test: LabTest, status: int = 200, block: str | None = None, **context: Any) -> Response:
    context.setdefault("form", LabTestForm(obj=test, formdata=None, price=_price(test.price_minor)))
    context.setdefault("range_form", RangeForm(formdata=None))
    return render(
        TEST, block, status=status, hospital=g.hospital, test=test, years=lab_admin.days_to_years, **context
    )


def _price(price_minor: int) -> Any:
    return minor_to_decimal(price_minor, g.hospital.currency) if price_minor else None


def _row(test: LabTest, status: int = 200, **context: Any) -> Response:
    return render(TESTS, "test_row", status=status, hospital=g.hospital, test=test, **context)


def _edit_row(test: LabTest, form: LabTestForm, status: int = 200) -> Response:
    return render(TESTS, "test_edit_row", status=status, hospital=g.hospital, test=test, form=form)


@bp.get("/lab/tests/<int:test_id>")
def lab_test(test_id: int):
    test = _test(test_id)
    fragment = query_args.choice("fragment", ("edit", "row"))
    if fragment and is_htmx():
        if fragment == "row":
            return _row(test)
        return _edit_row(test, LabTestForm(obj=test, formdata=None, price=_price(test.price_minor)))
    return _test_page(test)


@bp.post("/lab/tests/<int:test_id>")
def lab_test_save(test_id: int):
    test = _test(test_id)
    form = LabTestForm()
    in_row = query_args.flag("fragment", "row")
    result = _priced_submit(form, lambda price: lab_admin.update_test(test, form.fields(price), current_user))
    test = _test(test_id)
    if not result.done:
        if in_row:
            return _edit_row(test, form, result.status)
        return _test_page(test, result.status, "test_form", form=form)
    message = gettext("Saved.") if result.value else gettext("Nothing changed.")
    if not is_htmx():
        return _done(message, "hospital_admin.lab_test", test_id=test.id)
    if in_row:
        return _row(test, row_message=message)
    return _test_page(test, block="test_form", saved=message)


@bp.post("/lab/tests/<int:test_id>/status")
def lab_test_status(test_id: int):
    test = _test(test_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("retire", "restore"):
        if is_htmx():
            return _row(test, status=422, row_message=gettext("Choose retire or restore."))
        flash(gettext("Choose retire or restore."), "error")
        return _tests_page(status=422)
    active = action == "restore"
    lab_admin.set_test_active(test, active, current_user)
    db.session.commit()
    message = (
        gettext("%(name)s can be ordered again.", name=test.name)
        if active
        else gettext("%(name)s is retired: no new orders.", name=test.name)
    )
    if is_htmx():
        return _row(test, row_message=message)
    return _done(message, "hospital_admin.lab_tests")


@bp.post("/lab/tests/<int:test_id>/ranges")
def lab_range_add(test_id: int):
    test = _test(test_id)
    form = RangeForm()
    result = submit(
        form,
        lambda: lab_admin.add_range(
            test,
            current_user,
            sex=form.sex.data,
            from_years=form.age_from.data or 0,
            to_years=form.age_to.data,
            low=form.low.data,
            high=form.high.data,
        ),
    )
    test = _test(test_id)
    if not result.done:
        return _test_page(test, result.status, "ranges", range_form=form)
    if not is_htmx():
        return _done(gettext("Range added."), "hospital_admin.lab_test", test_id=test.id)
    return _test_page(test, block="ranges", range_message=gettext("Range added."))


@bp.post("/lab/tests/<int:test_id>/ranges/<int:range_id>/delete")
def lab_range_remove(test_id: int, range_id: int):
    test = _test(test_id)
    band = lab_admin.hospital_range(g.hospital.id, test.id, range_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    lab_admin.remove_range(band, current_user)
    db.session.commit()
    if not is_htmx():
        return _done(gettext("Range removed."), "hospital_admin.lab_test", test_id=test.id)
    return _test_page(_test(test_id), block="ranges", range_message=gettext("Range removed."))


# --- Panels -----------------------------------------------------------------------------------------


def _panel_form(panel: LabPanel | None = None, submitted: bool = False) -> PanelForm:
    if submitted:
        form = PanelForm()
    elif panel is None:
        form = PanelForm(formdata=None)
    else:
        form = PanelForm(formdata=None, obj=panel, price=_price(panel.price_minor))
        form.tests.data = [t.id for t in panel.tests]
    form.set_tests(lab_admin_tests())
    return form


def lab_admin_tests() -> list[LabTest]:
    return list(db.session.scalars(lab_admin.search_tests(g.hospital.id).limit(500)))


def _panels_page(form: PanelForm | None = None, status: int = 200, **context: Any) -> Response:
    return render(
        PANELS,
        "new_panel" if form is not None and form.is_submitted() else None,
        status=status,
        hospital=g.hospital,
        panels=lab_admin.hospital_panels(g.hospital.id),
        form=form or _panel_form(),
        **context,
    )


@bp.get("/lab/panels")
def lab_panels():
    panel_id = query_args.record_id("edit")
    editing = None
    if panel_id is not None:
        editing = _panel(panel_id)
    return _panels_page(editing=editing, edit_form=_panel_form(editing) if editing else None)


@bp.post("/lab/panels")
def lab_panel_create():
    form = _panel_form(submitted=True)
    result = _priced_submit(
        form,
        lambda price: lab_admin.create_panel(
            g.hospital,
            current_user,
            code=form.code.data or "",
            name=form.name.data or "",
            loinc=form.loinc.data,
            price_minor=price,
            test_ids=form.test_ids(),
        ),
    )
    if not result.done:
        return _panels_page(form, result.status)
    return _done(gettext("Panel added."), "hospital_admin.lab_panels")


@bp.post("/lab/panels/<int:panel_id>")
def lab_panel_save(panel_id: int):
    panel = _panel(panel_id)
    form = _panel_form(panel, submitted=True)
    result = _priced_submit(
        form,
        lambda price: lab_admin.update_panel(
            panel,
            current_user,
            code=form.code.data or "",
            name=form.name.data or "",
            loinc=form.loinc.data,
            price_minor=price,
            test_ids=form.test_ids(),
            active=bool(form.active.data),
        ),
    )
    if not result.done:
        panel = _panel(panel_id)
        return render(
            PANELS,
            "edit_panel",
            status=result.status,
            hospital=g.hospital,
            panels=lab_admin.hospital_panels(g.hospital.id),
            form=_panel_form(),
            editing=panel,
            edit_form=form,
        )
    message = gettext("Saved.") if result.value else gettext("Nothing changed.")
    return _done(message, "hospital_admin.lab_panels")


# --- Critical values --------------------------------------------------------------------------------


def _criticals_page(status: int = 200, message: str | None = None, error: str | None = None) -> Response:
    return render(
        CRITICALS,
        "criticals",
        status=status,
        hospital=g.hospital,
        results=lab_admin.open_criticals(g.hospital.id),
        message=message,
        error=error,
    )


@bp.get("/lab/criticals")
def lab_criticals():
    return _criticals_page()


@bp.post("/lab/criticals/<int:result_id>/acknowledge")
def lab_critical_acknowledge(result_id: int):
    result = lab_admin.hospital_result(g.hospital.id, result_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        lab.acknowledge_critical(result, current_user)
    except DomainError as error:
        db.session.rollback()
        return _criticals_page(error.status, error=gettext(error.message))
    db.session.commit()
    message = gettext(
        "Acknowledged: %(test)s for %(patient)s.",
        test=result.item.test.name,
        patient=result.item.order.patient.name,
    )
    if not is_htmx():
        return _done(message, "hospital_admin.lab_criticals")
    return _criticals_page(message=message)
