"""The hospital administrator's laboratory: the catalogue's tests edited in their rows and on their page
(reference ranges in years, stored in days), panels, the standard catalogue, the search box, the
422 answers that keep what was typed, the critical results page and its acknowledgement, who may open
them, and a fixed number of statements whatever the number of rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hms.extensions import db
from hms.models import LabPanel, LabReferenceRange, LabResult, LabTest
from hms.services import lab
from tests.statements import recorded

HX = {"HX-Request": "true"}

TEST_FORM = {
    "code": "NA",
    "name": "Sodium",
    "loinc": "2951-2",
    "specimen": "serum",
    "kind": "numeric",
    "unit": "mmol/L",
    "decimals": "0",
    "choices": "",
    "critical_low": "120",
    "critical_high": "160",
    "physical_low": "80",
    "physical_high": "200",
    "turnaround_minutes": "60",
    "price": "350.50",
}


@pytest.fixture
def admin(make, login_as):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def _tests(hospital_id: int) -> list[LabTest]:
    return list(db.session.scalars(select(LabTest).where(LabTest.hospital_id == hospital_id)))


# ---------------------------------------------------------------- tests


def test_an_admin_adds_a_test_with_its_price_in_minor_units(client, admin):  # type: ignore[no-untyped-def]
    response = client.post("/hospital/lab/tests", data=TEST_FORM)
    assert response.status_code == 303
    (test,) = _tests(admin.hospital_admin.hospital_id)
    assert (test.code, test.name, test.loinc, test.unit) == ("NA", "Sodium", "2951-2", "mmol/L")
    assert test.price_minor == 35050
    assert (test.critical_low, test.critical_high) == (Decimal(120), Decimal(160))
    assert response.headers["Location"] == f"/hospital/lab/tests/{test.id}"
    page = client.get(f"/hospital/lab/tests/{test.id}")
    assert page.status_code == 200 and "Sodium" in page.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", ""),
        ("code", "bad code!"),
        ("name", ""),
        ("loinc", "nope"),
        ("specimen", "blood-orange"),
        ("kind", "colour"),
        ("decimals", "9"),
        ("turnaround_minutes", "0"),
        ("price", "-1"),
        ("price", "1.234"),
        ("critical_low", "170"),
        ("critical_high", "1e400"),
        ("physical_high", "99999999999"),
        ("critical_low", "1.23456"),
    ],
)
def test_a_bad_value_is_a_422_keeping_the_form(client, admin, field, value):  # type: ignore[no-untyped-def]
    response = client.post("/hospital/lab/tests", data=TEST_FORM | {field: value}, headers=HX)
    assert response.status_code == 422
    assert 'value="Sodium"' in response.text or field == "name"
    assert not _tests(admin.hospital_admin.hospital_id)


def test_a_choice_test_needs_two_choices(client, admin):  # type: ignore[no-untyped-def]
    form = TEST_FORM | {"code": "HIV", "kind": "choice", "choices": "positive"}
    assert client.post("/hospital/lab/tests", data=form).status_code == 422
    form["choices"] = "positive, negative, invalid"
    assert client.post("/hospital/lab/tests", data=form).status_code == 303
    (test,) = _tests(admin.hospital_admin.hospital_id)
    assert test.options == ["positive", "negative", "invalid"]
    assert test.critical_low is None


def test_a_duplicate_code_is_a_422_already_used(client, admin, make):  # type: ignore[no-untyped-def]
    make.lab_test(admin.hospital_admin.hospital, "NA")
    response = client.post("/hospital/lab/tests", data=TEST_FORM | {"code": "na"})
    assert response.status_code == 422
    assert "already used" in response.text


def test_the_same_code_at_another_hospital_is_fine(client, admin, make):  # type: ignore[no-untyped-def]
    make.lab_test(make.hospital(), "NA")
    assert client.post("/hospital/lab/tests", data=TEST_FORM).status_code == 303


def test_a_test_is_edited_in_its_row(client, admin, make):  # type: ignore[no-untyped-def]
    test = make.lab_test(admin.hospital_admin.hospital, "K")
    form = client.get(f"/hospital/lab/tests/{test.id}?fragment=edit", headers=HX)
    assert form.status_code == 200 and f'id="lab-test-{test.id}"' in form.text and "<form" in form.text
    data = TEST_FORM | {"code": "K", "name": "Potassium, serum", "price": "12"}
    response = client.post(f"/hospital/lab/tests/{test.id}?fragment=row", data=data, headers=HX)
    assert response.status_code == 200
    assert "Potassium, serum" in response.text and "Saved." in response.text
    assert response.text.lstrip().startswith("<tr")
    db.session.refresh(test)
    assert test.name == "Potassium, serum" and test.price_minor == 1200


def test_a_bad_row_edit_is_a_422_with_the_row_form(client, admin, make):  # type: ignore[no-untyped-def]
    other = make.lab_test(admin.hospital_admin.hospital, "NA")
    test = make.lab_test(admin.hospital_admin.hospital, "K")
    data = TEST_FORM | {"code": other.code}
    response = client.post(f"/hospital/lab/tests/{test.id}?fragment=row", data=data, headers=HX)
    assert response.status_code == 422
    assert "already used" in response.text and 'value="Sodium"' in response.text
    db.session.refresh(test)
    assert test.code == "K"


def test_without_javascript_a_save_redirects_to_the_tests_page(client, admin, make):  # type: ignore[no-untyped-def]
    test = make.lab_test(admin.hospital_admin.hospital, "K")
    response = client.post(f"/hospital/lab/tests/{test.id}", data=TEST_FORM | {"code": "K"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/hospital/lab/tests/{test.id}"


def test_a_test_is_retired_and_restored(client, admin, make):  # type: ignore[no-untyped-def]
    test = make.lab_test(admin.hospital_admin.hospital, "K")
    response = client.post(f"/hospital/lab/tests/{test.id}/status", data={"action": "retire"}, headers=HX)
    assert response.status_code == 200 and "retired" in response.text
    db.session.refresh(test)
    assert not test.active
    client.post(f"/hospital/lab/tests/{test.id}/status", data={"action": "restore"})
    db.session.refresh(test)
    assert test.active
    assert client.post(f"/hospital/lab/tests/{test.id}/status", data={"action": "x"}).status_code == 422


def test_reference_ranges_are_given_in_years_and_kept_in_days(client, admin, make):  # type: ignore[no-untyped-def]
    test = make.lab_test(admin.hospital_admin.hospital, "K", ranges=[])
    data = {"sex": "female", "age_from": "1", "age_to": "18", "low": "3.4", "high": "4.7"}
    response = client.post(f"/hospital/lab/tests/{test.id}/ranges", data=data, headers=HX)
    assert response.status_code == 200 and "Range added." in response.text
    (band,) = db.session.scalars(select(LabReferenceRange).where(LabReferenceRange.test_id == test.id))
    assert (band.age_from_days, band.age_to_days) == (365, 6574)
    assert (band.low, band.high, band.sex.value) == (Decimal("3.4"), Decimal("4.7"), "female")
    assert "1–18" in response.text
    bad = client.post(f"/hospital/lab/tests/{test.id}/ranges", data=data | {"age_to": "1"}, headers=HX)
    assert bad.status_code == 422
    bad = client.post(f"/hospital/lab/tests/{test.id}/ranges", data=data | {"low": "5"}, headers=HX)
    assert bad.status_code == 422
    removed = client.post(f"/hospital/lab/tests/{test.id}/ranges/{band.id}/delete", headers=HX)
    assert removed.status_code == 200 and "Range removed." in removed.text
    assert (
        db.session.scalar(
            select(func.count(LabReferenceRange.id)).where(LabReferenceRange.test_id == test.id)
        )
        == 0
    )


def test_the_search_box_filters_the_tests_with_and_without_javascript(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = admin.hospital_admin.hospital
    make.lab_test(hospital, "K", name="Potassium")
    make.lab_test(hospital, "NA", name="Sodium", loinc="2951-2")
    page = client.get("/hospital/lab/tests?q=sod")
    assert page.status_code == 200 and "Sodium" in page.text and "Potassium" not in page.text
    fragment = client.get("/hospital/lab/tests?q=2951&fragment=table", headers=HX)
    assert "Sodium" in fragment.text and "<html" not in fragment.text
    assert "Potassium" not in fragment.text
    assert "No test matches" in client.get("/hospital/lab/tests?q=zzz").text


def test_the_standard_catalogue_is_offered_and_added_once(client, admin):  # type: ignore[no-untyped-def]
    page = client.get("/hospital/lab/tests")
    assert "Add the standard catalogue" in page.text
    response = client.post("/hospital/lab/tests/standard")
    assert response.status_code == 303
    hospital_id = admin.hospital_admin.hospital_id
    count = len(_tests(hospital_id))
    assert count > 10
    assert db.session.scalar(select(func.count(LabPanel.id)).where(LabPanel.hospital_id == hospital_id)) > 0
    assert "Add the standard catalogue" not in client.get("/hospital/lab/tests").text
    client.post("/hospital/lab/tests/standard")
    assert len(_tests(hospital_id)) == count


# ---------------------------------------------------------------- panels


def test_panels_are_added_and_edited(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = admin.hospital_admin.hospital
    na, k, cl = (make.lab_test(hospital, code) for code in ("NA", "K", "CL"))
    data = {
        "code": "ELEC",
        "name": "Electrolytes",
        "loinc": "24326-1",
        "price": "900",
        "tests": [na.id, k.id],
    }
    assert client.post("/hospital/lab/panels", data=data).status_code == 303
    panel = db.session.scalar(select(LabPanel).where(LabPanel.hospital_id == hospital.id))
    assert [t.code for t in panel.tests] == ["NA", "K"] and panel.price_minor == 90000
    page = client.get("/hospital/lab/panels")
    assert "Electrolytes" in page.text and "NA, K" in page.text
    assert client.get(f"/hospital/lab/panels?edit={panel.id}").status_code == 200
    edit = data | {"tests": [na.id, k.id, cl.id], "name": "Electrolytes 3"}
    assert client.post(f"/hospital/lab/panels/{panel.id}", data=edit).status_code == 303
    db.session.refresh(panel)
    assert [t.code for t in panel.tests] == ["NA", "K", "CL"] and not panel.active
    assert panel.name == "Electrolytes 3"


def test_a_bad_panel_is_a_422(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = admin.hospital_admin.hospital
    na, k = make.lab_test(hospital, "NA"), make.lab_test(hospital, "K")
    foreign = make.lab_test(make.hospital(), "CL")
    make.lab_panel(hospital, [na, k], code="ELEC")
    base = {"code": "NEW", "name": "New", "price": "1", "tests": [na.id, k.id]}
    for data in (
        base | {"tests": [na.id]},
        base | {"tests": [na.id, foreign.id]},
        base | {"code": "elec"},
        base | {"tests": ["banana"]},
    ):
        response = client.post("/hospital/lab/panels", data=data, headers=HX)
        assert response.status_code == 422, data
        assert 'value="New"' in response.text


def test_a_bad_panel_edit_is_a_422_with_its_form_and_a_good_one_redirects(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = admin.hospital_admin.hospital
    na, k = make.lab_test(hospital, "NA"), make.lab_test(hospital, "K")
    panel = make.lab_panel(hospital, [na, k], code="ELEC")
    data = {"code": "ELEC", "name": "Renamed", "price": "1", "tests": [na.id], "active": "y"}
    response = client.post(f"/hospital/lab/panels/{panel.id}", data=data, headers=HX)
    assert response.status_code == 422
    assert 'id="edit-panel"' in response.text and 'value="Renamed"' in response.text
    assert "<html" not in response.text
    response = client.post(
        f"/hospital/lab/panels/{panel.id}", data=data | {"tests": [k.id, na.id]}, headers=HX
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/hospital/lab/panels"
    db.session.refresh(panel)
    assert [t.code for t in panel.tests] == ["K", "NA"] and panel.active and panel.name == "Renamed"


# ---------------------------------------------------------------- critical results


def _critical(make, hospital=None):  # type: ignore[no-untyped-def]
    order = make.collected_lab_order()
    technician = make.lab_technician(order.hospital)
    result = lab.enter_result(order.items[0], technician, "7.2")
    db.session.commit()
    return result


def test_the_criticals_page_lists_unacknowledged_ones_escalated_first(client, make, login_as):  # type: ignore[no-untyped-def]
    first = _critical(make)
    order = first.item.order
    second_order = make.collected_lab_order(order.encounter)
    second = lab.enter_result(second_order.items[0], make.lab_technician(order.hospital), "1.9")
    second.escalated_at = second.entered_at
    db.session.commit()
    admin = make.hospital_admin(order.hospital)
    login_as(admin)
    page = client.get("/hospital/lab/criticals")
    assert page.status_code == 200
    text = page.text
    assert text.index(f'id="critical-{second.id}"') < text.index(f'id="critical-{first.id}"')
    assert order.patient.name in text and order.doctor.name in text and "7.2" in text and "HH" in text
    assert "escalated" in text
    response = client.post(f"/hospital/lab/criticals/{first.id}/acknowledge", headers=HX)
    assert response.status_code == 200 and "Acknowledged" in response.text
    assert f'id="critical-{first.id}"' not in response.text
    db.session.refresh(first)
    assert first.acknowledged_by_id == admin.id


def test_an_acknowledgement_without_javascript_redirects(client, make, login_as):  # type: ignore[no-untyped-def]
    result = _critical(make)
    login_as(make.hospital_admin(result.item.order.hospital))
    response = client.post(f"/hospital/lab/criticals/{result.id}/acknowledge")
    assert response.status_code == 303 and response.headers["Location"] == "/hospital/lab/criticals"


def test_the_escalation_notice_links_to_the_criticals_page(make):  # type: ignore[no-untyped-def]
    result = _critical(make)
    admin = make.hospital_admin(result.item.order.hospital)
    assert lab.order_link(result.item.order, admin) == "/hospital/lab/criticals"


def test_the_dashboard_counts_unacknowledged_criticals(client, make, login_as):  # type: ignore[no-untyped-def]
    result = _critical(make)
    login_as(make.hospital_admin(result.item.order.hospital))
    page = client.get("/hospital/")
    count = page.text.split('id="lab-criticals-count"')[1].split("</article>")[0]
    assert '<span class="badge badge-warning">1</span>' in count and "/hospital/lab/criticals" in count


# ---------------------------------------------------------------- access


def test_another_hospitals_rows_are_404(client, admin, make):  # type: ignore[no-untyped-def]
    other = make.hospital()
    test = make.lab_test(other, "K")
    band = test.ranges[0]
    panel = make.lab_panel(other, [test, make.lab_test(other, "NA")])
    result = _critical(make)
    own = make.lab_test(admin.hospital_admin.hospital, "K")
    for method, url in (
        ("GET", f"/hospital/lab/tests/{test.id}"),
        ("POST", f"/hospital/lab/tests/{test.id}"),
        ("POST", f"/hospital/lab/tests/{test.id}/status"),
        ("POST", f"/hospital/lab/tests/{test.id}/ranges"),
        ("POST", f"/hospital/lab/tests/{test.id}/ranges/{band.id}/delete"),
        ("POST", f"/hospital/lab/tests/{own.id}/ranges/{band.id}/delete"),
        ("GET", f"/hospital/lab/panels?edit={panel.id}"),
        ("POST", f"/hospital/lab/panels/{panel.id}"),
        ("POST", f"/hospital/lab/criticals/{result.id}/acknowledge"),
    ):
        assert client.open(url, method=method, data={"action": "retire"}).status_code == 404, url
    assert db.session.get(LabResult, result.id).acknowledged_at is None


@pytest.mark.parametrize("role", ["patient", "doctor", "staff"])
def test_other_roles_are_refused(client, make, login_as, role):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    user = {
        "patient": make.patient,
        "doctor": lambda: make.doctor_at(hospital),
        "staff": lambda: make.lab_technician(hospital),
    }[role]()
    login_as(user)
    for url in ("/hospital/lab/tests", "/hospital/lab/panels", "/hospital/lab/criticals"):
        assert client.get(url).status_code == 403


# ---------------------------------------------------------------- statements


def _statements(client, url: str) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    with recorded() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_lists_send_a_fixed_number_of_statements(client, admin, make):  # type: ignore[no-untyped-def]
    hospital = admin.hospital_admin.hospital
    tests = [make.lab_test(hospital, f"T{n}") for n in range(2)]
    make.lab_panel(hospital, tests)
    result = _critical(make)
    critical_admin = make.hospital_admin(result.item.order.hospital)
    few = {url: _statements(client, url) for url in ("/hospital/lab/tests", "/hospital/lab/panels")}
    more = [make.lab_test(hospital, f"U{n}") for n in range(6)]
    make.lab_panel(hospital, more[:3])
    make.lab_panel(hospital, more[3:])
    for url, count in few.items():
        assert _statements(client, url) == count, url
    from tests.signin import sign_in

    sign_in(client, critical_admin)
    one = _statements(client, "/hospital/lab/criticals")
    for _ in range(3):
        _critical_at(make, result.item.order)
    assert _statements(client, "/hospital/lab/criticals") == one


def _critical_at(make, order):  # type: ignore[no-untyped-def]
    other = make.collected_lab_order(make.encounter(make.appointment(None, None, order.hospital)))
    lab.enter_result(other.items[0], make.lab_technician(order.hospital), "7.0")
    db.session.commit()
