"""Reports: every metric against hand-computed figures on small fixtures, grouped in SQL by local
day/week/month, doctor and department; the hospital's scope; bad parameters; CSV; the chart's series."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, Bill, BillStatus, Payment, PaymentStatus
from hms.services import reports
from hms.services.reports import InvalidReport, ReportParams, Scope

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # a Sunday; Nairobi is UTC+3 all year


@pytest.fixture(autouse=True)
def _frozen():
    clock.set_frozen(NOW)


def at(day: int, hour: int, month: int = 3) -> datetime:
    """A moment in March 2026, given in UTC."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def clinic(make):
    """A Nairobi hospital: Dr Alpha (Cardiology) and Dr Beta (no department); another hospital too.

    Appointments (UTC start → Nairobi local day):
      Alpha: 2 Mar 09:00 fulfilled, 2 Mar 22:00 noshow (→ 3 Mar local), 9 Mar 10:00 noshow,
             10 Mar 08:00 cancelled
      Beta:  3 Mar 08:00 fulfilled, 3 Mar 09:00 booked, 20 Feb 08:00 fulfilled (outside March)
      Other hospital: 2 Mar 09:00 noshow (never counted for the clinic)"""
    hospital = make.hospital(name="Clinic")
    cardiology = make.department(hospital, "Cardiology")
    alpha = make.doctor(name="Alpha Doctor")
    make.membership(alpha, hospital, department_row=cardiology)
    beta = make.doctor(name="Beta Doctor")
    make.membership(beta, hospital)
    first, second, third = make.patient(), make.patient(), make.patient()
    make.appointment(first, alpha, hospital, at(2, 9), status=AppointmentStatus.fulfilled)
    make.appointment(second, alpha, hospital, at(2, 22), status=AppointmentStatus.noshow)
    make.appointment(first, alpha, hospital, at(9, 10), status=AppointmentStatus.noshow)
    make.appointment(third, alpha, hospital, at(10, 8), status=AppointmentStatus.cancelled)
    make.appointment(third, beta, hospital, at(3, 8), status=AppointmentStatus.fulfilled)
    make.appointment(first, beta, hospital, at(3, 9))
    make.appointment(second, beta, hospital, at(20, 8, month=2), status=AppointmentStatus.fulfilled)
    other = make.hospital(name="Elsewhere")
    make.appointment(first, make.doctor_at(other), other, at(2, 9), status=AppointmentStatus.noshow)
    return {
        "hospital": hospital,
        "other": other,
        "alpha": alpha,
        "beta": beta,
        "cardiology": cardiology,
        "patients": (first, second, third),
    }


def params(metric: str, group: str = "day", start=date(2026, 3, 1), end=date(2026, 3, 10), **filters):
    return ReportParams(metric, start, end, group, **filters)


def series(result) -> dict[str, list]:
    return {s.name: s.values for s in result.series}


def row(result, label: str) -> dict[str, object]:
    index = result.labels.index(label)
    return {s.name: s.values[index] for s in result.series}


def test_appointments_by_status_per_local_day_fill_empty_days(clinic):
    result = reports.run_report(params("appointments"), Scope(clinic["hospital"]))
    assert result.labels == [f"2026-03-{d:02d}" for d in range(1, 11)]
    assert row(result, "2026-03-02") == {
        "booked": 0,
        "arrived": 0,
        "fulfilled": 1,
        "cancelled": 0,
        "noshow": 0,
    }
    # 22:00 UTC on the 2nd is 01:00 on the 3rd in Nairobi.
    assert row(result, "2026-03-03")["noshow"] == 1
    assert row(result, "2026-03-03")["fulfilled"] == 1 and row(result, "2026-03-03")["booked"] == 1
    assert row(result, "2026-03-01") == dict.fromkeys(
        ["booked", "arrived", "fulfilled", "cancelled", "noshow"], 0
    )
    totals = {s.name: s.total for s in result.series}
    assert totals == {"booked": 1, "arrived": 0, "fulfilled": 2, "cancelled": 1, "noshow": 2}


def test_appointments_by_week_and_month(clinic):
    scope = Scope(clinic["hospital"])
    weekly = reports.run_report(params("appointments", "week", end=date(2026, 3, 15)), scope)
    # Weeks start on Monday: 23 Feb (holds 1 Mar), 2 Mar, 9 Mar.
    assert weekly.labels == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert [sum(v) for v in zip(*series(weekly).values(), strict=True)] == [0, 4, 2]
    monthly = reports.run_report(
        params("appointments", "month", start=date(2026, 2, 1), end=date(2026, 3, 31)), scope
    )
    assert monthly.labels == ["2026-02-01", "2026-03-01"]
    assert series(monthly)["fulfilled"] == [1, 2]


def test_appointments_by_doctor_and_department_and_filtered(clinic):
    scope = Scope(clinic["hospital"])
    by_doctor = reports.run_report(params("appointments", "doctor"), scope)
    assert by_doctor.labels == ["Alpha Doctor", "Beta Doctor"]
    assert row(by_doctor, "Alpha Doctor") == {
        "booked": 0,
        "arrived": 0,
        "fulfilled": 1,
        "cancelled": 1,
        "noshow": 2,
    }
    by_department = reports.run_report(params("appointments", "department"), scope)
    assert by_department.labels == ["Cardiology", "—"]
    assert sum(row(by_department, "—").values()) == 2  # Dr Beta has no department
    only_beta = reports.run_report(params("appointments", "month", doctor=clinic["beta"].doctor.id), scope)
    assert [s.total for s in only_beta.series] == [1, 0, 1, 0, 0]
    cardiology = reports.run_report(
        params("appointments", "month", department=clinic["cardiology"].id), scope
    )
    assert sum(s.total for s in cardiology.series) == 4


def test_bookings_count_by_the_day_they_were_made(clinic, make):
    hospital = clinic["hospital"]
    make.appointment(make.patient(), clinic["beta"], hospital, at(25, 9), created_at=at(4, 21))
    result = reports.run_report(params("bookings", end=date(2026, 3, 15)), Scope(hospital))
    # The fixture's appointments were all booked "now" (15 Mar 12:00 UTC); one more on 5 Mar local.
    assert row(result, "2026-03-05") == {"bookings": 1}
    assert row(result, "2026-03-15") == {"bookings": 7}
    assert result.series[0].total == 8


def test_noshow_rate_counts_noshows_among_visits_that_were_due(clinic):
    scope = Scope(clinic["hospital"])
    result = reports.run_report(params("noshow_rate", "month"), scope)
    # March 1–10: fulfilled 2, no-show 2 (booked and cancelled ones do not count) → 50 %.
    assert row(result, "2026-03-01") == {"no-show rate": 50.0, "no-shows": 2, "attended or no-show": 4}
    by_doctor = reports.run_report(params("noshow_rate", "doctor"), scope)
    assert row(by_doctor, "Alpha Doctor")["no-show rate"] == pytest.approx(66.7)
    assert row(by_doctor, "Beta Doctor")["no-show rate"] == 0.0
    assert by_doctor.series[0].total == 50.0


def test_new_patients_are_first_visits_at_the_hospital(clinic):
    scope = Scope(clinic["hospital"])
    result = reports.run_report(params("new_patients", "month", start=date(2026, 2, 1)), scope)
    # The second patient first came in February; the first and third in March (2nd and 3rd).
    assert series(result)["new patients"] == [1, 2]


def test_new_patients_of_the_platform_are_registrations(clinic, make):
    clock.set_frozen(at(5, 10))
    make.patient()
    clock.set_frozen(NOW)
    result = reports.run_report(params("new_patients", "month", end=date(2026, 3, 31)), Scope())
    assert series(result)["new patients"] == [4]  # three in the fixture (now, 15 Mar) and one on 5 Mar


def _paid_bill(make, hospital, doctor, amount: int, when: datetime, currency: str | None = None):
    patient = make.patient()
    bill = make.bill(patient, hospital, items=[("Consultation", 1, amount)])
    bill.doctor_id = doctor.doctor.id if doctor else None
    if currency:
        bill.currency = currency
    db.session.commit()
    clock.set_frozen(when)
    payment = make.desk_payment(bill, make.staff(hospital))
    clock.set_frozen(NOW)
    return bill, payment


def test_revenue_by_doctor_and_department_in_each_currency(clinic, make):
    hospital, alpha, beta = clinic["hospital"], clinic["alpha"], clinic["beta"]
    _paid_bill(make, hospital, alpha, 150000, at(2, 10))
    _paid_bill(make, hospital, alpha, 50000, at(3, 10))
    _paid_bill(make, hospital, beta, 70000, at(9, 10))
    _paid_bill(make, hospital, None, 9900, at(9, 11), currency="USD")
    _, refunded = _paid_bill(make, hospital, beta, 30000, at(4, 10))
    refunded.refunded_minor = 10000  # a part went back: net 20000
    unpaid = make.bill(make.patient(), hospital, items=[("X-ray", 1, 99999)])  # issued, not paid
    _paid_bill(make, clinic["other"], make.doctor_at(clinic["other"]), 500000, at(2, 10))
    db.session.commit()
    assert unpaid.status == BillStatus.issued
    scope = Scope(hospital)
    by_doctor = reports.run_report(params("revenue", "doctor"), scope)
    assert by_doctor.labels == ["Alpha Doctor", "Beta Doctor", "—"]
    assert series(by_doctor) == {"revenue KES": [200000, 90000, 0], "revenue USD": [0, 0, 9900]}
    by_department = reports.run_report(params("revenue", "department"), scope)
    assert dict(zip(by_department.labels, series(by_department)["revenue KES"], strict=True)) == {
        "Cardiology": 200000,
        "—": 90000,
    }
    by_day = reports.run_report(params("revenue", "day"), scope)
    assert row(by_day, "2026-03-09") == {"revenue KES": 70000, "revenue USD": 9900}
    assert {s.currency: s.total for s in by_day.series} == {"KES": 290000, "USD": 9900}


def test_revenue_leaves_out_payments_that_failed(clinic, make):
    hospital = clinic["hospital"]
    bill, payment = _paid_bill(make, hospital, clinic["alpha"], 150000, at(2, 10))
    db.session.add(
        Payment(
            key=make.billing_key(),
            bill_id=bill.id,
            provider=payment.provider,
            method=payment.method,
            status=PaymentStatus.failed,
            amount_minor=777,
            currency="KES",
            settled_at=at(2, 11),
        )
    )
    db.session.commit()
    result = reports.run_report(params("revenue", "month"), Scope(hospital))
    assert result.series[0].total == 150000


def test_platform_reports_count_every_hospital_or_the_one_chosen(clinic):
    everyone = reports.run_report(params("appointments", "hospital"), Scope())
    assert everyone.labels == ["Clinic", "Elsewhere"]
    assert row(everyone, "Elsewhere")["noshow"] == 1
    one = reports.run_report(params("noshow_rate", "month", hospital=clinic["other"].id), Scope())
    assert one.series[0].values == [100.0]


def test_day_boundaries_follow_summer_time(make):
    berlin = make.hospital(timezone="Europe/Berlin", currency="EUR")
    doctor = make.doctor_at(berlin)
    # Summer time starts 29 Mar 2026 at 01:00 UTC: UTC+1 before, UTC+2 after.
    make.appointment(make.patient(), doctor, berlin, datetime(2026, 3, 28, 23, 30, tzinfo=UTC))  # 29th 00:30
    make.appointment(make.patient(), doctor, berlin, datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # 30th 00:30
    make.appointment(make.patient(), doctor, berlin, datetime(2026, 3, 28, 22, 30, tzinfo=UTC))  # 28th 23:30
    result = reports.run_report(
        params("appointments", start=date(2026, 3, 28), end=date(2026, 3, 30)), Scope(berlin)
    )
    assert series(result)["booked"] == [1, 1, 1]


# --- Parameters -----------------------------------------------------------------------------------


def _errors(data, scope):
    with pytest.raises(InvalidReport) as caught:
        reports.parse_params(data, scope)
    return caught.value.errors


GOOD = {"metric": "appointments", "start": "2026-03-01", "end": "2026-03-31", "group": "week"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "salaries"}, "metric"),
        ({"metric": ""}, "metric"),
        ({"start": "2026-02-30"}, "start"),
        ({"start": "01/03/2026"}, "start"),
        ({"start": ""}, "start"),
        ({"start": "1999-12-31"}, "start"),
        ({"end": "9999999-01-01"}, "end"),
        ({"end": "2026-02-28"}, "end"),
        ({"start": "2020-01-01", "end": "2025-01-01"}, "end"),
        ({"start": "2025-01-01", "end": "2026-03-01", "group": "day"}, "group"),
        ({"group": "hour"}, "group"),
        ({"metric": "new_patients", "group": "doctor"}, "group"),
        ({"doctor": "-1"}, "doctor"),
        ({"doctor": "99999999999999999999"}, "doctor"),
        ({"doctor": "٣"}, "doctor"),
        ({"department": "1 OR 1=1"}, "department"),
    ],
)
def test_bad_parameters_are_refused_with_a_message_on_the_field(clinic, change, field):
    assert field in _errors(GOOD | change, Scope(clinic["hospital"]))


def test_a_range_of_just_under_five_years_is_accepted(clinic):
    parsed = reports.parse_params(
        GOOD | {"start": "2021-03-16", "end": "2026-03-15", "group": "month"}, Scope(clinic["hospital"])
    )
    assert parsed.end == date(2026, 3, 15)


def test_a_hospital_report_cannot_name_another_hospitals_doctor_or_department(clinic, make):
    scope = Scope(clinic["hospital"])
    stranger = make.doctor_at(clinic["other"])
    assert "doctor" in _errors(GOOD | {"doctor": str(stranger.doctor.id)}, scope)
    other_department = make.department(clinic["other"])
    assert "department" in _errors(GOOD | {"department": str(other_department.id)}, scope)
    # A `hospital` parameter is not read at all for a hospital's report.
    parsed = reports.parse_params(GOOD | {"hospital": str(clinic["other"].id)}, scope)
    assert parsed.hospital is None


def test_saved_json_is_checked_by_the_same_schema(clinic):
    assert "metric" in _errors("not a mapping", Scope(clinic["hospital"]))  # type: ignore[arg-type]
    assert "start" in _errors(GOOD | {"start": 20260301}, Scope(clinic["hospital"]))
    parsed = reports.parse_params(params("revenue").to_json(), Scope(clinic["hospital"]))
    assert parsed == params("revenue")


# --- CSV and chart ----------------------------------------------------------------------------------


def test_csv_has_a_row_per_group_and_totals_in_major_units(clinic, make):
    _paid_bill(make, clinic["hospital"], clinic["alpha"], 150050, at(2, 10))
    result = reports.run_report(params("revenue", "doctor"), Scope(clinic["hospital"]))
    rows = list(csv.reader(io.StringIO(result.csv())))
    assert rows == [["doctor", "revenue KES (KES)"], ["Alpha Doctor", "1500.50"], ["total", "1500.50"]]


def test_csv_cells_cannot_become_spreadsheet_formulas(make):
    hospital = make.hospital()
    doctor = make.doctor(name="=HYPERLINK(1)")
    make.membership(doctor, hospital)
    make.appointment(make.patient(), doctor, hospital, at(2, 9))
    result = reports.run_report(params("appointments", "doctor"), Scope(hospital))
    assert "'=HYPERLINK(1)" in result.csv()


def test_chart_has_one_series_per_status_and_a_bar_per_day(clinic, app):
    from hms.reports.pages import chart

    result = reports.run_report(params("appointments"), Scope(clinic["hospital"]))
    with app.test_request_context():
        svg = str(chart(result))
    ET.fromstring(svg)  # noqa: S314  (our own output)
    legend = re.findall(r'class="legend"><rect[^>]*/><text[^>]*>([^<]*)</text>', svg)
    assert legend == ["Booked", "Arrived", "Fulfilled", "Cancelled", "No-show"]
    assert svg.count('class="series serie-') == 5
    # One bar per count that is not zero: 2 Mar 1, 3 Mar 3, 9 Mar 1, 10 Mar 1; ten days on the axis.
    assert svg.count('class="rect') == 6
    assert len(re.findall(r'<g class="guides"><path d="M\d+ 0 v\d+" class="guide line" /><text', svg)) == 10
    assert "<script" not in svg and "<style" not in svg and " style=" not in svg


def test_no_chart_when_there_is_nothing_to_count(clinic, app):
    from hms.reports.pages import chart

    result = reports.run_report(
        params("revenue", start=date(2025, 1, 1), end=date(2025, 1, 5)), Scope(clinic["hospital"])
    )
    with app.test_request_context():
        assert chart(result) is None
    assert [s.name for s in result.series] == ["revenue KES"]
    assert result.series[0].values == [0] * 5


def test_dashboard_figures_come_from_the_reports(clinic, make):
    hospital = clinic["hospital"]
    make.appointment(make.patient(), clinic["alpha"], hospital, NOW + timedelta(hours=2))
    make.appointment(
        make.patient(), clinic["beta"], hospital, NOW - timedelta(hours=1), status=AppointmentStatus.noshow
    )
    _paid_bill(make, hospital, clinic["alpha"], 150000, at(2, 10))
    figures = reports.hospital_dashboard(hospital)
    assert figures["today_total"] == 2
    assert figures["today"]["noshow"] == 1
    assert figures["revenue"] == [("KES", 150000)]
    assert figures["noshows"] == 3  # 3 Mar, 9 Mar and today
    assert figures["noshow_rate"] == 60.0  # 3 of 5 (2 fulfilled in March)


def test_unpaid_bills_do_not_count_as_revenue(clinic, make):
    bill = make.bill(make.patient(), clinic["hospital"], items=[("X-ray", 1, 5000)])
    assert db.session.get(Bill, bill.id).status == BillStatus.issued
    result = reports.run_report(params("revenue", "month"), Scope(clinic["hospital"]))
    assert result.series[0].total == 0


def _dispense(item, quantity: int, when: datetime, actor) -> None:  # type: ignore[no-untyped-def]
    from hms.services import inventory

    clock.set_frozen(when)
    inventory.dispense_stock(item, quantity=quantity, actor=actor)
    db.session.commit()
    clock.set_frozen(NOW)


def test_stock_usage_counts_units_dispensed_per_item_and_day(clinic, make):
    hospital = clinic["hospital"]
    admin = make.hospital_admin(hospital)
    clock.set_frozen(at(1, 6))
    gloves = make.inventory_item(hospital, name="Gloves", unit="box", stock=50, by=admin)
    masks = make.inventory_item(hospital, name="Masks", unit="box", stock=50, by=admin)
    elsewhere = make.inventory_item(clinic["other"], name="Gloves", stock=50)
    _dispense(gloves, 3, at(2, 10), admin)
    _dispense(gloves, 4, at(2, 22), admin)  # 3 Mar in Nairobi
    _dispense(masks, 5, at(3, 10), admin)
    _dispense(elsewhere, 9, at(3, 10), admin)
    from hms.services import inventory

    clock.set_frozen(at(4, 10))
    inventory.adjust_stock(masks, change=-2, reason="Broken", actor=admin)  # not a dispense
    db.session.commit()
    clock.set_frozen(NOW)
    scope = Scope(hospital)
    by_item = reports.run_report(params("stock_usage", "item"), scope)
    assert by_item.labels == ["Gloves (box)", "Masks (box)"]
    assert series(by_item) == {"units dispensed": [7, 5]}
    by_day = reports.run_report(params("stock_usage", end=date(2026, 3, 4)), scope)
    assert series(by_day)["units dispensed"] == [0, 3, 9, 0]
    platform = reports.run_report(params("stock_usage", "hospital"), Scope())
    assert dict(zip(platform.labels, platform.series[0].values, strict=True)) == {
        "Clinic": 12,
        "Elsewhere": 9,
    }


def test_stock_usage_cannot_be_filtered_by_doctor(clinic):
    assert "doctor" in _errors(
        GOOD | {"metric": "stock_usage", "doctor": str(clinic["alpha"].doctor.id)}, Scope(clinic["hospital"])
    )
    assert "group" in _errors(GOOD | {"metric": "stock_usage", "group": "doctor"}, Scope(clinic["hospital"]))
