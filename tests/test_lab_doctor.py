"""The doctor's laboratory pages: ordering from the encounter (search, draft, place, cancel; the bill's
lines), an order's results (verify, acknowledge a critical value, amendments), the dashboard's count of
critical values, access, and a fixed number of statements on the results page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Bill, BillStatus, LabItemStatus, LabOrder, LabOrderStatus, LabResult
from hms.services import lab
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    """An encounter at a hospital with a potassium test, a sodium test and a kidney panel of both."""
    hospital = make.hospital(name="Riverside General", currency="KES")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan")
    encounter = make.encounter(make.appointment(patient, doctor, hospital, start_at=NOW))
    potassium = make.lab_test(hospital, "K", name="Potassium")
    sodium = make.lab_test(
        hospital, "NA", name="Sodium", unit="mmol/L", ranges=[(None, 0, None, "135", "145")],
        critical_low=None, critical_high=None, physical_low=None, physical_high=None, price_minor=30000,
    )  # fmt: skip
    panel = make.lab_panel(hospital, [potassium, sodium], "KFT", name="Kidney function")
    return {
        "hospital": hospital, "doctor": doctor, "patient": patient, "encounter": encounter,
        "potassium": potassium, "sodium": sodium, "panel": panel,
    }  # fmt: skip


def _resulted(make, visit, value="7.2", *, verify=False):  # type: ignore[no-untyped-def]
    """A potassium order of the visit's doctor, collected and resulted by a technician."""
    order = make.collected_lab_order(visit["encounter"], tests=[visit["potassium"]])
    technician = make.lab_technician(order.hospital)
    lab.enter_result(order.items[0], technician, value)
    if verify:
        lab.verify_result(order.items[0], make.lab_technician(order.hospital, senior=True))
    db.session.commit()
    return order, technician


# ---------------------------------------------------------------- ordering


def test_the_encounter_page_has_a_laboratory_section(client, login_as, visit):
    login_as(visit["doctor"])
    page = client.get(f"/doctor/encounters/{visit['encounter'].id}").get_data(as_text=True)
    assert 'id="lab"' in page and "Laboratory" in page and "Place order" in page
    assert 'hx-trigger="input changed delay:300ms, search"' in page


def test_the_search_fragment_lists_matching_tests_and_panels(client, login_as, visit):
    login_as(visit["doctor"])
    url = f"/doctor/encounters/{visit['encounter'].id}/lab/search"
    fragment = client.get(url, query_string={"q": "kidney"}, headers=HX).get_data(as_text=True)
    assert "Kidney function" in fragment and "<html" not in fragment
    assert f'value="panel-{visit["panel"].id}"' in fragment
    fragment = client.get(url, query_string={"q": "sod"}, headers=HX).get_data(as_text=True)
    assert "Sodium" in fragment and "Kidney function" not in fragment
    assert "No orderable test" in client.get(url, query_string={"q": "%_"}, headers=HX).get_data(as_text=True)


def test_a_retired_test_is_not_found(client, login_as, visit):
    visit["sodium"].active = False
    db.session.commit()
    login_as(visit["doctor"])
    url = f"/doctor/encounters/{visit['encounter'].id}/lab/search"
    assert "Sodium" not in client.get(url, query_string={"q": "sodium"}, headers=HX).get_data(as_text=True)


def test_the_draft_adds_and_removes_without_javascript(client, login_as, visit):
    login_as(visit["doctor"])
    url = f"/doctor/encounters/{visit['encounter'].id}/lab"
    page = client.get(url, query_string={"add": f"panel-{visit['panel'].id}", "priority": "stat"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in text
    assert f'name="panel" value="{visit["panel"].id}"' in text and 'selected value="stat"' in text
    args = [
        ("panel", visit["panel"].id),
        ("test", visit["sodium"].id),
        ("remove", f"panel-{visit['panel'].id}"),
    ]
    text = client.get(url, query_string=args, headers=HX).get_data(as_text=True)
    assert f'name="panel" value="{visit["panel"].id}"' not in text
    assert f'name="test" value="{visit["sodium"].id}"' in text


def test_placing_an_order_bills_its_lines(client, login_as, visit):
    login_as(visit["doctor"])
    encounter = visit["encounter"]
    data = {
        "panel": visit["panel"].id,
        "test": visit["sodium"].id,
        "priority": "urgent",
        "clinical_note": "Oedema",
    }
    response = client.post(f"/doctor/encounters/{encounter.id}/lab/orders", data=data, headers=HX)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    order = db.session.scalar(select(LabOrder).where(LabOrder.encounter_id == encounter.id))
    assert order.priority.value == "urgent" and order.clinical_note == "Oedema"
    assert sorted(i.test.code for i in order.items) == ["K", "NA"]  # sodium is in the panel already
    bill = db.session.get(Bill, order.bill_id)
    assert bill.status == BillStatus.issued
    assert [i.description for i in bill.items] == ["Lab: Kidney function"]
    assert f"added to bill {bill.number}" in text and "Lab: Kidney function" in text
    assert order.number in text and "ordered" in text


def test_placing_without_javascript_redirects_with_the_bill_line(client, login_as, visit):
    login_as(visit["doctor"])
    encounter = visit["encounter"]
    response = client.post(
        f"/doctor/encounters/{encounter.id}/lab/orders",
        data={"test": visit["potassium"].id, "priority": "routine"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/doctor/encounters/{encounter.id}#lab")
    page = client.get(f"/doctor/encounters/{encounter.id}").get_data(as_text=True)
    assert "added to bill B" in page and "Lab: Potassium" in page


@pytest.mark.parametrize("case", ["empty", "retired", "note", "priority", "foreign"])
def test_a_refused_order_is_422_with_the_form_kept(client, login_as, make, visit, case):
    login_as(visit["doctor"])
    data = {"test": visit["sodium"].id, "priority": "stat", "clinical_note": "Keep me"}
    if case == "empty":
        data = {"priority": "stat", "clinical_note": "Keep me", "test": "banana"}
    elif case == "retired":
        visit["sodium"].active = False
        db.session.commit()
    elif case == "note":
        data["clinical_note"] = "x" * 501
    elif case == "priority":
        data["priority"] = "whenever"
    elif case == "foreign":
        data["test"] = make.lab_test(make.hospital()).id
    response = client.post(f"/doctor/encounters/{visit['encounter'].id}/lab/orders", data=data, headers=HX)
    text = response.get_data(as_text=True)
    assert response.status_code == 422, case
    assert db.session.scalar(select(LabOrder.id)) is None
    if case in ("empty", "retired", "foreign"):
        assert "Keep me" in text
    if case == "retired":
        assert "Sodium is retired" in text and f'name="test" value="{visit["sodium"].id}"' in text


def test_cancelling_an_order_voids_its_bill(client, login_as, make, visit):
    order = make.lab_order(visit["encounter"], tests=[visit["potassium"]])
    login_as(visit["doctor"])
    url = f"/doctor/lab/{order.id}/cancel"
    refused = client.post(url, data={f"cancel{order.id}-reason": " "}, headers=HX)
    assert refused.status_code == 422 and "field-error" in refused.get_data(as_text=True)
    response = client.post(url, data={f"cancel{order.id}-reason": "Wrong patient"}, headers=HX)
    assert response.status_code == 200
    assert f"Order {order.number} cancelled." in response.get_data(as_text=True)
    db.session.expire_all()
    order = db.session.get(LabOrder, order.id)
    assert order.status == LabOrderStatus.cancelled and order.bill.status == BillStatus.cancelled
    assert client.post(url, data={f"cancel{order.id}-reason": "Again"}).status_code == 409


def test_a_collected_order_cannot_be_cancelled(client, login_as, make, visit):
    order = make.collected_lab_order(visit["encounter"], tests=[visit["potassium"]])
    login_as(visit["doctor"])
    page = client.get(f"/doctor/encounters/{visit['encounter'].id}").get_data(as_text=True)
    assert f"Cancel order {order.number}" not in page
    assert (
        client.post(f"/doctor/lab/{order.id}/cancel", data={f"cancel{order.id}-reason": "x"}).status_code
        == 409
    )


# ---------------------------------------------------------------- results


def test_the_order_page_shows_value_range_flag_and_who(client, login_as, make, visit):
    order, technician = _resulted(make, visit, "5.6")
    login_as(visit["doctor"])
    text = client.get(f"/doctor/lab/{order.id}").get_data(as_text=True)
    assert "5.6" in text and "mmol/L" in text and "3.5–5.1" in text
    assert '<span aria-hidden="true">H</span><span class="visually-hidden">High</span>' in text
    assert f"Entered by {technician.full_name}" in text and "preliminary" in text


def test_the_ordering_doctor_verifies(client, login_as, make, visit):
    order, _ = _resulted(make, visit, "4.2")
    login_as(visit["doctor"])
    item = order.items[0]
    response = client.post(
        f"/doctor/lab/{order.id}/items/{item.id}/verify", data={"version": item.version}, headers=HX
    )
    assert response.status_code == 200 and "Result verified." in response.get_data(as_text=True)
    db.session.expire_all()
    item = db.session.get(type(item), item.id)
    assert item.status == LabItemStatus.final and item.result.verified_by_id == visit["doctor"].id
    assert item.order.status == LabOrderStatus.verified


def test_the_one_who_entered_a_value_cannot_verify_it(client, login_as, make, visit):
    """The ordering doctor amends a value; the new value waits for someone else (no Verify for him)."""
    order, _ = _resulted(make, visit, "4.2", verify=True)
    item = order.items[0]
    result = lab.amend_result(item, visit["doctor"], "4.4", "Transcription error")
    db.session.execute(
        LabResult.__table__.update().where(LabResult.id == result.id).values(verified_by_id=None)
    )
    items = item.__table__
    db.session.execute(items.update().where(items.c.id == item.id).values(status="preliminary"))
    db.session.commit()
    login_as(visit["doctor"])
    text = client.get(f"/doctor/lab/{order.id}").get_data(as_text=True)
    assert ">Verify<" not in text
    assert "Was 4.2 mmol/L" in text and "Transcription error" in text
    db.session.expire_all()
    response = client.post(f"/doctor/lab/{order.id}/items/{item.id}/verify", data={"version": 3})
    assert response.status_code == 403


def test_a_doctor_who_did_not_order_sees_but_cannot_verify(client, login_as, make, visit):
    order, _ = _resulted(make, visit, "4.2")
    colleague = make.doctor_at(visit["hospital"])
    make.appointment(visit["patient"], colleague, visit["hospital"], start_at=NOW.replace(hour=11))
    login_as(colleague)
    text = client.get(f"/doctor/lab/{order.id}").get_data(as_text=True)
    assert "4.2" in text and ">Verify<" not in text
    item = order.items[0]
    assert (
        client.post(f"/doctor/lab/{order.id}/items/{item.id}/verify", data={"version": 2}).status_code == 403
    )


def test_a_critical_value_is_acknowledged_from_the_dashboard(client, login_as, make, visit):
    order, _ = _resulted(make, visit, "7.2")
    login_as(visit["doctor"])
    dashboard = client.get("/doctor/").get_data(as_text=True)
    assert "1 critical laboratory result waits for your acknowledgement" in dashboard
    listing = client.get("/doctor/lab/criticals").get_data(as_text=True)
    assert "Potassium: 7.2 mmol/L" in listing and "Critically high" in listing
    result = order.items[0].result
    page = client.get(f"/doctor/lab/{order.id}").get_data(as_text=True)
    assert "Critical value not acknowledged yet" in page and ">Acknowledge<" in page
    response = client.post(f"/doctor/lab/{order.id}/results/{result.id}/acknowledge")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(LabResult, result.id).acknowledged_by_id == visit["doctor"].id
    assert "critical laboratory result" not in client.get("/doctor/").get_data(as_text=True)
    page = client.get(f"/doctor/lab/{order.id}").get_data(as_text=True)
    assert "Critical value acknowledged by Chinedu Okafor" in page


# ---------------------------------------------------------------- access


def test_other_doctors_orders_are_404(client, login_as, make, visit):
    order, _ = _resulted(make, visit, "4.2")
    stranger = make.doctor_at(visit["hospital"])
    login_as(stranger)
    item, result = order.items[0], order.items[0].result
    assert client.get(f"/doctor/lab/{order.id}").status_code == 404
    assert (
        client.post(f"/doctor/lab/{order.id}/items/{item.id}/verify", data={"version": 2}).status_code == 404
    )
    assert client.post(f"/doctor/lab/{order.id}/results/{result.id}/acknowledge").status_code == 404
    assert client.post(f"/doctor/lab/{order.id}/cancel").status_code == 404
    encounter = visit["encounter"].id
    assert client.get(f"/doctor/encounters/{encounter}/lab/search?q=k").status_code == 404
    assert client.post(f"/doctor/encounters/{encounter}/lab/orders", data={"test": 1}).status_code == 404


def test_an_item_of_another_order_is_404(client, login_as, make, visit):
    first, _ = _resulted(make, visit, "4.2")
    second, _ = _resulted(make, visit, "4.3")
    login_as(visit["doctor"])
    other_item = second.items[0]
    url = f"/doctor/lab/{first.id}/items/{other_item.id}/verify"
    assert client.post(url, data={"version": 2}).status_code == 404
    assert (
        client.post(f"/doctor/lab/{first.id}/results/{other_item.result.id}/acknowledge").status_code == 404
    )


# ---------------------------------------------------------------- statements


def _statements(client, url: str) -> int:
    with recorded() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_order_page_sends_as_many_statements_for_one_result_as_for_many(client, login_as, make, visit):
    hospital = visit["hospital"]
    small, _ = _resulted(make, visit, "7.2")
    tests = [make.lab_test(hospital, name=f"Test {n}") for n in range(8)]
    big = make.collected_lab_order(visit["encounter"], tests=tests)
    technician, amender = make.lab_technician(hospital), make.lab_technician(hospital, senior=True)
    for n, item in enumerate(big.items):
        lab.enter_result(item, technician, "7.0" if n % 2 else "4.0")
        lab.verify_result(item, amender)
        lab.amend_result(item, amender, "4.1", "Recalibrated")
    db.session.commit()
    login_as(visit["doctor"])
    _statements(client, f"/doctor/lab/{small.id}")  # warm-up
    assert _statements(client, f"/doctor/lab/{big.id}") == _statements(client, f"/doctor/lab/{small.id}")


def test_the_orders_are_on_the_patients_record(client, login_as, make, visit):
    order, _ = _resulted(make, visit, "4.2")
    login_as(visit["doctor"])
    page = client.get(f"/doctor/patients/{visit['patient'].patient.id}").get_data(as_text=True)
    assert f"Test results {order.number}" in page and f'href="/doctor/lab/{order.id}"' in page
