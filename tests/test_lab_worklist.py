"""The lab technician's pages: her hospital's work list (filters, stat first, turnaround, criticals on
top, HTMX fragments, a fixed number of statements), an order's page (collect → label, results entered
inline and flagged, 422 / 409 answers that keep what was typed, verification by a second person,
amendments that keep the old value, acknowledgement), and who may open them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import LabItemStatus, LabOrder, LabOrderItem, LabOrderStatus, LabResult, StaffKind
from hms.services import lab
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _visit(make, hospital, name: str | None = None):  # type: ignore[no-untyped-def]
    patient = make.patient(name=name) if name else None
    return make.encounter(make.appointment(patient, None, hospital, start_at=NOW))


def _lab(make, **kwargs):  # type: ignore[no-untyped-def]
    """An order (one potassium test) at a new hospital and a lab technician there."""
    order = make.lab_order(**kwargs)
    return order, make.lab_technician(order.hospital)


def _item(order: LabOrder) -> LabOrderItem:
    return db.session.scalars(select(LabOrderItem).where(LabOrderItem.order_id == order.id)).first()


def _item_url(order, item, tail: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/staff/lab/orders/{order.id}/items/{item.id}{tail}"


def _enter(client, order, item, value: str, **headers):  # type: ignore[no-untyped-def]
    db.session.refresh(item)
    return client.post(
        _item_url(order, item), data={"value": value, "version": item.version}, headers=headers
    )


# ---------------------------------------------------------------- the work list


def test_the_work_list_shows_her_hospitals_open_orders_stat_first_then_urgent_oldest_first(
    client, login_as, make
):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    hospital, test = order.hospital, order.items[0].test
    placed = {}
    for minutes, name, priority in (
        (1, "Routine Later", "routine"),
        (2, "Urgent Later", "urgent"),
        (3, "Stat Later", "stat"),
        (4, "Stat Latest", "stat"),
    ):
        clock.set_frozen(NOW + timedelta(minutes=minutes))
        placed[name] = make.lab_order(_visit(make, hospital, name), tests=[test], priority=priority)
    cancelled = make.lab_order(_visit(make, hospital, "Cancelled Person"), tests=[test])
    lab.cancel_order(cancelled, technician, "Duplicate")
    db.session.commit()
    elsewhere = make.lab_order()  # another hospital's
    login_as(technician)
    page = client.get("/staff/lab").get_data(as_text=True)
    names = re.findall(r'id="lab-order-(\d+)"', page)
    assert names == [
        str(placed["Stat Later"].id),
        str(placed["Stat Latest"].id),
        str(placed["Urgent Later"].id),
        str(order.id),
        str(placed["Routine Later"].id),
    ]
    assert "Cancelled Person" not in page and f'lab-order-{elsewhere.id}"' not in page
    assert order.patient.mrn in page and order.patient.name in page
    assert 'datetime="2026-03-02T12:00+03:00"' in page  # the ordered time on the hospital's clock


def test_the_filters_work_as_a_plain_get_and_as_an_htmx_fragment(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    test = order.items[0].test
    stat = make.lab_order(_visit(make, order.hospital, "Stat Patient"), tests=[test], priority="stat")
    lab.collect_specimen(stat, technician)
    db.session.commit()
    login_as(technician)
    page = client.get("/staff/lab?state=collected").get_data(as_text=True)
    assert "Stat Patient" in page and f'lab-order-{order.id}"' not in page and "<html" in page
    fragment = client.get("/staff/lab?state=ordered&priority=routine&fragment=table", headers=HX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<table" in body
    assert f'lab-order-{order.id}"' in body and "Stat Patient" not in body
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert "No order matches" in client.get("/staff/lab?priority=urgent").get_data(as_text=True)
    # anything typed in the address bar is read as "no filter", never as an error
    for junk in ("state=verified", "state=%E2%80%8B", "priority=' OR 1=1", "state=" + "x" * 2000):
        response = client.get(f"/staff/lab?{junk}")
        assert response.status_code == 200 and f'lab-order-{order.id}"' in response.get_data(as_text=True)


def test_the_list_fetches_itself_again_every_minute_with_the_filter(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    login_as(technician)
    page = client.get("/staff/lab?priority=routine").get_data(as_text=True)
    section = page[page.index('<section id="lab-list"') :].split(">", 1)[0]
    assert 'hx-trigger="every 60s"' in section and 'hx-include="#lab-filter"' in section
    assert "fragment=table" in section
    # an order placed meanwhile is in the next fetch
    newer = make.lab_order(_visit(make, order.hospital, "Newer Patient"), tests=[order.items[0].test])
    db.session.commit()
    body = client.get("/staff/lab?priority=routine&fragment=table", headers=HX).get_data(as_text=True)
    assert f'lab-order-{newer.id}"' in body and "<html" not in body


def test_each_row_shows_the_turnaround_left_and_an_overdue_one_in_red(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)  # the potassium test's turnaround: 60 minutes by default
    login_as(technician)
    clock.set_frozen(NOW + timedelta(minutes=15))
    row = _row(client.get("/staff/lab").get_data(as_text=True), order)
    assert "45 min left" in row and "lab-overdue" not in row
    clock.set_frozen(NOW + timedelta(minutes=140))
    row = _row(client.get("/staff/lab").get_data(as_text=True), order)
    assert "overdue by 1 h 20 min" in row and 'class="lab-overdue"' in row


def _row(page: str, order: LabOrder) -> str:
    return page.split(f'id="lab-order-{order.id}"')[1].split("</tr>")[0]


def test_an_unacknowledged_critical_stays_red_at_the_top_until_the_doctor_acknowledges_it(
    client, login_as, make
):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    result = lab.enter_result(_item(order), technician, "7.2")
    lab.verify_result(_item(order), make.lab_technician(order.hospital, senior=True))
    db.session.commit()
    assert order.status == LabOrderStatus.verified  # no longer open, still listed while critical
    login_as(technician)
    page = client.get("/staff/lab").get_data(as_text=True)
    top = page.split('class="lab-criticals"')[1].split("</section>")[0]
    assert "1 critical result not acknowledged" in top and "7.2 mmol/L HH" in top
    lab.acknowledge_critical(db.session.get(LabResult, result.id), order.doctor.user)
    db.session.commit()
    assert 'class="lab-criticals"' not in client.get("/staff/lab").get_data(as_text=True)


def test_the_work_list_reads_a_fixed_number_of_statements(client, login_as, make):  # type: ignore[no-untyped-def]
    """One order or twenty, with results and a critical among them: the same statements."""
    order, technician = _lab(make)
    test = order.items[0].test
    login_as(technician)

    def count() -> int:
        client.get("/staff/lab")
        with recorded() as seen:
            assert client.get("/staff/lab").status_code == 200
        return len(seen)

    one = count()
    for n in range(19):
        more = make.lab_order(_visit(make, order.hospital, f"Patient Number{n}"), tests=[test])
        if n % 3 == 0:
            lab.collect_specimen(more, technician)
            lab.enter_result(_item(more), technician, "7.0" if n == 0 else "4.0")
    db.session.commit()
    assert count() == one
    assert "Patient Number18" in client.get("/staff/lab").get_data(as_text=True)


# ---------------------------------------------------------------- the order's page


def test_collecting_the_specimen_leads_to_its_printable_label(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    login_as(technician)
    page = client.get(f"/staff/lab/orders/{order.id}").get_data(as_text=True)
    assert "Collect specimen" in page
    response = client.post(f"/staff/lab/orders/{order.id}/collect")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/staff/lab/orders/{order.id}/label"
    )
    label = client.get(f"/staff/lab/orders/{order.id}/label").get_data(as_text=True)
    patient = order.patient
    assert lab.specimen_label(order, 1) in label and patient.mrn in label and patient.name in label
    assert "data-print" in label and order.items[0].test.code in label and "Collected" in label
    assert "02 Mar 2026 12:00" in label  # the collection on the hospital's clock
    assert 'class="no-print"' in label


def test_collecting_twice_is_a_409_that_says_so(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    login_as(technician)
    client.post(f"/staff/lab/orders/{order.id}/collect")
    response = client.post(f"/staff/lab/orders/{order.id}/collect")
    assert response.status_code == 409
    assert "already collected" in response.get_data(as_text=True)


def test_the_label_of_an_order_not_collected_sends_back_to_the_order(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    login_as(technician)
    response = client.get(f"/staff/lab/orders/{order.id}/label")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.id}")


@pytest.mark.parametrize(
    ("value", "flag"), [("5.6", "H"), ("3.1", "L"), ("7.9", "HH"), ("2.1", "LL"), ("4.2", "")]
)
def test_a_value_entered_inline_comes_back_as_its_row_with_its_flag(client, login_as, make, value, flag):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    db.session.commit()
    item = _item(order)
    login_as(technician)
    edit = client.get(_item_url(order, item, "/edit"), headers=HX).get_data(as_text=True)
    assert (
        edit.lstrip().startswith('<tr id="lab-item-')
        and 'name="value"' in edit
        and 'inputmode="decimal"' in edit
    )
    response = _enter(client, order, item, value, **HX)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and row.lstrip().startswith(f'<tr id="lab-item-{item.id}"')
    assert f"{value} mmol/L" in row
    if flag:
        assert f'lab-flag-{flag}"' in row
    else:
        assert "lab-flag" not in row
    assert ("lab-critical" in row) == (flag in ("HH", "LL"))


def test_without_javascript_the_row_edits_on_the_page_and_saving_goes_back_to_it(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    db.session.commit()
    item = _item(order)
    login_as(technician)
    page = client.get(_item_url(order, item, "/edit")).get_data(as_text=True)
    assert "<html" in page and 'name="value"' in page
    bad = _enter(client, order, item, "80")
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)
    assert 'value="80"' in bad.get_data(as_text=True)
    good = _enter(client, order, item, "4.4")
    assert good.status_code == 303 and good.headers["Location"].endswith(f"/staff/lab/orders/{order.id}")


BAD_VALUES = [
    ("80", "80.0 mmol/L is not a possible value of Potassium"),
    ("abc", "Enter a number."),
    ("", "Enter a result."),
    ("1e999999", "Enter a number."),
    ("1e30", "Enter a number."),
    ("NaN", "Enter a number."),
]


@pytest.mark.parametrize(("value", "message"), BAD_VALUES)
def test_an_impossible_value_is_a_422_with_the_row_and_the_typed_value(
    client, login_as, make, value, message
):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    db.session.commit()
    item = _item(order)
    login_as(technician)
    response = _enter(client, order, item, value, **HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert (
        body.lstrip().startswith(f'<tr id="lab-item-{item.id}" class="editing"')
        and f'value="{value}"' in body
    )
    assert _item(order).status == LabItemStatus.registered


def test_a_number_for_a_choice_test_is_a_422_naming_the_choices(client, login_as, make):  # type: ignore[no-untyped-def]
    encounter = make.encounter()
    malaria = make.lab_choice_test(encounter.hospital)
    order = make.lab_order(encounter, tests=[malaria])
    technician = make.lab_technician(order.hospital)
    lab.collect_specimen(order, technician)
    db.session.commit()
    item = _item(order)
    login_as(technician)
    edit = client.get(_item_url(order, item, "/edit"), headers=HX).get_data(as_text=True)
    assert '<select name="value"' in edit and '<option value="positive"' in edit
    response = _enter(client, order, item, "12", **HX)
    assert response.status_code == 422
    assert "Choose one of: negative, positive, invalid." in response.get_data(as_text=True)
    assert _enter(client, order, item, "Positive", **HX).status_code == 200
    assert _item(order).result.value_text == "positive"


def test_a_result_for_a_cancelled_order_is_refused_with_409(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.cancel_order(order, technician, "Patient left")
    db.session.commit()
    item = _item(order)
    login_as(technician)
    response = _enter(client, order, item, "4.0", **HX)
    assert response.status_code == 409 and "cancelled" in response.get_data(as_text=True)
    assert 'value="4.0"' in response.get_data(as_text=True)
    edit = client.get(_item_url(order, item, "/edit"), headers=HX)
    assert edit.status_code == 409 and "cancelled" in edit.get_data(as_text=True)
    assert db.session.scalar(select(LabResult).where(LabResult.item_id == item.id)) is None


def test_a_value_entered_meanwhile_by_someone_else_is_a_409_showing_theirs(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    db.session.commit()
    item = _item(order)
    seen_version = item.version
    colleague = make.lab_technician(order.hospital)
    lab.enter_result(item, colleague, "4.8")
    db.session.commit()
    login_as(technician)
    response = client.post(_item_url(order, item), data={"value": "5.0", "version": seen_version}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone else changed this result meanwhile" in body
    assert "The result now: 4.8 mmol/L" in body and 'value="5.0"' in body
    assert _item(order).result.value == "4.8"


def test_a_senior_technician_verifies_but_not_the_one_who_entered_it(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    lab.enter_result(_item(order), technician, "4.0")
    db.session.commit()
    item = _item(order)
    login_as(technician)
    row = client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    assert "Verify" not in row and "Another person verifies it." in row
    own = client.post(_item_url(order, item, "/verify"), data={"version": item.version}, headers=HX)
    assert own.status_code == 409 and "senior lab technician" in own.get_data(as_text=True)
    second = make.lab_technician(order.hospital, senior=True)
    login_as(second)
    assert ">Verify</button>" in client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    done = client.post(_item_url(order, item, "/verify"), data={"version": item.version}, headers=HX)
    assert done.status_code == 200 and f"Verified by {second.full_name}" in done.get_data(as_text=True)
    assert _item(order).status == LabItemStatus.final
    again = client.post(_item_url(order, item, "/verify"), data={"version": item.version}, headers=HX)
    assert again.status_code == 409 and "already verified" in again.get_data(as_text=True)


def test_a_technician_who_is_not_senior_is_told_who_verifies_and_the_value_stays_preliminary(
    client, login_as, make
):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    lab.enter_result(_item(order), technician, "4.0")
    db.session.commit()
    item = _item(order)
    login_as(make.lab_technician(order.hospital))
    row = client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    assert ">Verify</button>" not in row
    assert "A senior lab technician or the ordering doctor verifies it." in row
    page = client.get(f"/staff/lab/orders/{order.id}").get_data(as_text=True)
    assert ">Verify</button>" not in page
    for headers in (HX, {}):
        refused = client.post(
            _item_url(order, item, "/verify"), data={"version": item.version}, headers=headers
        )
        body = refused.get_data(as_text=True)
        assert refused.status_code == 409
        assert "Only the ordering doctor or a senior lab technician of this hospital can verify." in body
    db.session.expire_all()
    assert _item(order).status == LabItemStatus.preliminary and _item(order).result.verified_by_id is None


def test_a_senior_technician_who_entered_the_value_still_cannot_verify_it(client, login_as, make):  # type: ignore[no-untyped-def]
    order, _ = _lab(make)
    senior = make.lab_technician(order.hospital, senior=True)
    lab.collect_specimen(order, senior)
    lab.enter_result(_item(order), senior, "4.0")
    db.session.commit()
    item = _item(order)
    login_as(senior)
    row = client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    assert ">Verify</button>" not in row and "Another person verifies it." in row
    own = client.post(_item_url(order, item, "/verify"), data={"version": item.version}, headers=HX)
    assert own.status_code == 409 and "A second person must verify" in own.get_data(as_text=True)
    db.session.expire_all()
    assert _item(order).status == LabItemStatus.preliminary


def test_an_amendment_keeps_the_verified_value_with_who_when_and_why(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    lab.enter_result(_item(order), technician, "4.0")
    senior = make.lab_technician(order.hospital, senior=True)
    lab.verify_result(_item(order), senior)
    db.session.commit()
    item = _item(order)
    login_as(technician)  # not senior: no amendment
    row = client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    assert ">Amend<" not in row
    edit = client.get(_item_url(order, item, "/edit"), headers=HX)
    assert edit.status_code == 409 and "senior lab technician" in edit.get_data(as_text=True)
    data = {"value": "4.6", "reason": "Haemolysed sample re-run", "version": item.version}
    refused = client.post(_item_url(order, item, "/amend"), data=data, headers=HX)
    assert refused.status_code == 409 and "senior lab technician" in refused.get_data(as_text=True)
    login_as(senior)
    form = client.get(_item_url(order, item, "/edit"), headers=HX).get_data(as_text=True)
    assert "/amend" in form and 'name="reason"' in form
    data = {"value": "4.6", "reason": "", "version": item.version}
    no_reason = client.post(_item_url(order, item, "/amend"), data=data, headers=HX)
    assert no_reason.status_code == 422 and "Say why the result is amended." in no_reason.get_data(
        as_text=True
    )
    data["reason"] = "Haemolysed sample re-run"
    response = client.post(_item_url(order, item, "/amend"), data=data, headers=HX)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and "4.6 mmol/L" in row
    assert "Amended: Haemolysed sample re-run" in row and "Earlier: 4.0 mmol/L" in row
    assert f"entered by {technician.full_name}" in row
    assert _item(order).status == LabItemStatus.amended


def test_a_technician_cannot_acknowledge_a_critical_the_service_leaves_to_the_doctor(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    lab.collect_specimen(order, technician)
    lab.enter_result(_item(order), technician, "7.5")
    db.session.commit()
    item = _item(order)
    login_as(technician)
    row = client.get(_item_url(order, item), headers=HX).get_data(as_text=True)
    assert "Critical: waiting for the doctor" in row and ">Acknowledge</button>" not in row
    response = client.post(_item_url(order, item, "/acknowledge"), headers=HX)
    assert response.status_code == 403 and "Only the doctor or an administrator" in response.get_data(
        as_text=True
    )
    assert _item(order).result.acknowledged_at is None


# ---------------------------------------------------------------- who may open them


def test_another_hospitals_order_is_not_found(client, login_as, make):  # type: ignore[no-untyped-def]
    order, _technician = _lab(make)
    lab.collect_specimen(order, make.lab_technician(order.hospital))
    db.session.commit()
    item = _item(order)
    login_as(make.lab_technician())  # at another hospital
    for path in (
        f"/staff/lab/orders/{order.id}",
        f"/staff/lab/orders/{order.id}/label",
        _item_url(order, item),
        _item_url(order, item, "/edit"),
        "/staff/lab/orders/999999",
        f"/staff/lab/orders/{order.id}/items/999999",
    ):
        assert client.get(path).status_code == 404, path
    for tail in ("", "/verify", "/amend", "/acknowledge"):
        assert client.post(_item_url(order, item, tail), data={"value": "4"}).status_code == 404, tail
    assert client.post(f"/staff/lab/orders/{order.id}/collect").status_code == 404


@pytest.mark.parametrize("kind", [StaffKind.nurse, StaffKind.receptionist, StaffKind.pharmacist])
def test_other_staff_are_refused(client, login_as, make, kind):  # type: ignore[no-untyped-def]
    order, _technician = _lab(make)
    login_as(make.staff(order.hospital, kind))
    assert client.get("/staff/lab").status_code == 403
    assert client.get(f"/staff/lab/orders/{order.id}").status_code == 403
    assert client.post(f"/staff/lab/orders/{order.id}/collect").status_code == 403


def test_the_technicians_home_and_menu_lead_to_the_work_list(client, login_as, make):  # type: ignore[no-untyped-def]
    order, technician = _lab(make)
    login_as(technician)
    home = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/lab"' in home and "Open the work list" in home
    page = client.get(f"/staff/lab/orders/{order.id}").get_data(as_text=True)
    assert re.search(r'<a href="/staff/lab"[^>]*aria-current="page"[^>]*>Laboratory</a>', page)


def test_opening_an_order_is_audited_and_a_refused_one_too(client, login_as, make):  # type: ignore[no-untyped-def]
    from hms.models import AuditEvent

    order, technician = _lab(make)
    login_as(technician)
    client.get(f"/staff/lab/orders/{order.id}")
    login_as(make.lab_technician())
    client.get(f"/staff/lab/orders/{order.id}")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "lab_order", AuditEvent.action == "view")
    ).all()
    assert [(e.outcome, e.patient_id) for e in events] == [
        ("success", order.patient_id),
        ("denied", None),
    ]


def test_no_nasty_input_to_the_technicians_pages_answers_5xx(client, login_as, make):  # type: ignore[no-untyped-def]
    """tests/test_fuzz.py's values (its world's staff member is no lab technician) in every field and
    query name of these pages: an order waiting, one with a value entered, one verified."""
    from tests.test_fuzz import NASTY

    waiting, technician = _lab(make)
    test = waiting.items[0].test
    entered = make.lab_order(_visit(make, waiting.hospital), tests=[test])
    verified = make.lab_order(_visit(make, waiting.hospital), tests=[test])
    for order in (entered, verified):
        lab.collect_specimen(order, technician)
        lab.enter_result(_item(order), technician, "4.0")
    lab.verify_result(_item(verified), make.lab_technician(waiting.hospital, senior=True))
    db.session.commit()
    login_as(make.lab_technician(waiting.hospital, senior=True))
    problems = []
    for value in NASTY:
        for name in ("state", "priority", "fragment"):
            response = client.get("/staff/lab", query_string={name: value}, headers=HX)
            if response.status_code >= 500:
                problems.append(f"GET /staff/lab {name}={value!r:.40}")
        for order in (waiting, entered, verified):
            item = _item(order)
            for tail in ("", "/amend", "/verify", "/acknowledge"):
                for data in ({"value": value, "version": "1"}, {"version": value}, {"reason": value}):
                    data = data | ({"value": "4.1"} if "value" not in data else {})
                    response = client.post(_item_url(order, item, tail), data=data, headers=HX)
                    if response.status_code >= 500:
                        problems.append(f"POST {tail or 'save'} {data!r:.60}: {response.status_code}")
                    db.session.rollback()
    assert not problems, "\n".join(problems[:20])
