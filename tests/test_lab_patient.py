"""The patient's test results: only verified values, with units, ranges and flags; a trend per test as
inline SVG; the report as a PDF (values, ranges, flags, the verifier; Spanish and right-to-left Arabic);
another patient's orders are 404; a fixed number of statements whatever the number of results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.services import lab
from tests.statements import recorded
from tests.test_billing_desk import pdf_text
from tests.test_pdf_languages import placed_texts, x_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(name="Riverside General", currency="KES")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan")
    encounter = make.encounter(make.appointment(patient, doctor, hospital, start_at=NOW))
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "encounter": encounter,
        "potassium": make.lab_test(hospital, "K", name="Potassium"),
        "technician": make.lab_technician(hospital),
        "verifier": make.lab_technician(hospital, email="verifier@example.org", senior=True),
    }


def _order(make, visit, values, *, verify=True):  # type: ignore[no-untyped-def]
    """An order of one potassium test per value, resulted (and verified) by two technicians."""
    tests = [visit["potassium"]] + [
        make.lab_test(visit["hospital"], name=f"Extra {n}") for n in range(len(values) - 1)
    ]
    order = make.collected_lab_order(visit["encounter"], tests=tests)
    for item, value in zip(order.items, values, strict=True):
        lab.enter_result(item, visit["technician"], value)
        if verify:
            lab.verify_result(item, visit["verifier"])
    db.session.commit()
    return order


def test_the_patient_sees_only_verified_results(client, login_as, make, visit):
    verified = _order(make, visit, ["5.6"])
    pending = _order(make, visit, ["2.1"], verify=False)
    login_as(visit["patient"])
    page = client.get("/patient/lab").get_data(as_text=True)
    assert verified.number in page and pending.number in page
    assert "5.6" in page and "mmol/L" in page and "3.5–5.1" in page
    assert '<span aria-hidden="true">H</span><span class="visually-hidden">High</span>' in page
    assert "2.1" not in page and "Critically low" not in page and "pending" in page
    order_page = client.get(f"/patient/lab/{pending.id}").get_data(as_text=True)
    assert "2.1" not in order_page and "pending" in order_page and "Download PDF" not in order_page
    assert client.get(f"/patient/lab/{pending.id}.pdf").status_code == 404


def test_a_trend_per_test_is_drawn_as_inline_svg(client, login_as, make, visit):
    clock.set_frozen(NOW - timedelta(days=30))
    _order(make, visit, ["4.0"])
    clock.set_frozen(NOW)
    _order(make, visit, ["5.6"])
    login_as(visit["patient"])
    page = client.get("/patient/lab").get_data(as_text=True)
    assert 'aria-label="Potassium over time (mmol/L)"' in page and "<svg" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "Upper limit" in page


def test_the_report_pdf_holds_the_values_ranges_flags_and_verifier(client, login_as, make, visit):
    order = _order(make, visit, ["5.6", "4.2"])
    login_as(visit["patient"])
    response = client.get(f"/patient/lab/{order.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in ("Riverside General", "Laboratory report", order.number, "Amina Hassan", "Potassium"):
        assert expected in text, expected
    assert "5.6" in text and "3.5–5.1" in text and "H High" in text and "mmol/L" in text
    assert f"verified by {visit['verifier'].full_name}" in text and "Dr Chinedu Okafor" in text


def test_a_spanish_reader_gets_a_spanish_report(client, login_as, make, visit):
    order = _order(make, visit, ["5.6"])
    visit["patient"].locale = "es"
    db.session.commit()
    login_as(visit["patient"])
    text = pdf_text(client.get(f"/patient/lab/{order.id}.pdf").data)
    assert "Paciente" in text and "marzo 2026" in text and "5.6" in text


def test_an_arabic_reader_gets_a_right_to_left_report(client, login_as, make, visit):
    order = _order(make, visit, ["5.6"])
    visit["patient"].locale = "ar"
    db.session.commit()
    login_as(visit["patient"])
    data = client.get(f"/patient/lab/{order.id}.pdf").data
    text = pdf_text(data)
    assert "المريض" in text and "مارس" in text and "Amina Hassan" in text and "5.6" in text
    placed = placed_texts(data)
    # Right to left: the patient's column (read first) is on the right, the test's name right of its value.
    assert x_of(placed, "Amina Hassan") > x_of(placed, "Chinedu Okafor")
    assert x_of(placed, "Potassium") > x_of(placed, "5.6")


def test_another_patients_results_are_404(client, login_as, make, visit):
    order = _order(make, visit, ["5.6"])
    login_as(make.patient())
    assert client.get(f"/patient/lab/{order.id}").status_code == 404
    assert client.get(f"/patient/lab/{order.id}.pdf").status_code == 404
    assert order.number not in client.get("/patient/lab").get_data(as_text=True)


def test_the_results_are_in_the_patients_navigation(client, login_as, visit):
    login_as(visit["patient"])
    assert 'href="/patient/lab"' in client.get("/patient/").get_data(as_text=True)


def _statements(client, url: str) -> int:
    with recorded() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_results_pages_send_as_many_statements_for_one_result_as_for_many(client, login_as, make, visit):
    login_as(visit["patient"])
    small = _order(make, visit, ["5.6"])
    _statements(client, "/patient/lab")  # warm-up
    few = _statements(client, "/patient/lab"), _statements(client, f"/patient/lab/{small.id}")
    for n in range(3):
        clock.set_frozen(NOW + timedelta(days=n + 1))
        big = _order(make, visit, ["4.0", "7.0", "3.0", "5.5"])
    _statements(client, "/patient/lab")  # warm-up, as above
    many = _statements(client, "/patient/lab"), _statements(client, f"/patient/lab/{big.id}")
    assert many == few


def test_the_orders_are_on_the_patients_visits(client, login_as, make, visit):
    order = _order(make, visit, ["5.6"])
    login_as(visit["patient"])
    page = client.get("/patient/encounters").get_data(as_text=True)
    assert f"Test results {order.number}" in page and f'href="/patient/lab/{order.id}"' in page
