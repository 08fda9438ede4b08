"""Laboratory metrics of the report builder: turnaround (minutes from the order to the verification of
its first results, averaged) and the share of critical values, each one GROUP BY per local day, month,
test or hospital, on the hospital's orders only; the builder's page and CSV show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.services import lab, reports
from hms.services.reports import ReportParams, Scope

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # Nairobi is UTC+3 all year


def at(day: int, hour: int, minutes: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def _resulted(make, hospital, test, value: str, ordered: datetime, verified_after: int | None):  # type: ignore[no-untyped-def]
    """An order of `test` placed at `ordered`, its value entered 10 minutes later and verified
    `verified_after` minutes after the order (or never)."""
    clock.set_frozen(ordered)
    encounter = make.encounter(make.appointment(None, None, hospital, start_at=ordered.replace(minute=0)))
    order = make.collected_lab_order(encounter, tests=[test])
    clock.set_frozen(ordered + timedelta(minutes=10))
    item = order.items[0]
    lab.enter_result(item, make.lab_technician(hospital), value)
    if verified_after is not None:
        clock.set_frozen(ordered + timedelta(minutes=verified_after))
        lab.verify_result(item, make.lab_technician(hospital, senior=True))
    db.session.commit()
    return order


@pytest.fixture
def lab_clinic(make):  # type: ignore[no-untyped-def]
    """Potassium: ordered 2 Mar 06:00 UTC (09:00 Nairobi), 7.2 (HH), verified after 90 minutes;
    ordered 3 Mar 06:00, 4.0, verified after 30. "Sodium" (no limits): ordered 3 Mar 07:00, verified
    after 60; ordered 4 Mar 21:00 UTC, entered at 21:10 (5 Mar 00:10 in Nairobi), never verified.
    Another hospital's order (600 minutes): never counted for the clinic."""
    hospital, other = make.hospital(name="Clinic"), make.hospital(name="Elsewhere")
    potassium = make.lab_test(hospital, "K", name="Potassium")
    sodium = make.lab_test(hospital, "NA", name="Sodium", ranges=[], critical_low=None, critical_high=None)
    _resulted(make, hospital, potassium, "7.2", at(2, 6), 90)
    _resulted(make, hospital, potassium, "4.0", at(3, 6), 30)
    _resulted(make, hospital, sodium, "14.0", at(3, 7), 60)
    _resulted(make, hospital, sodium, "14.1", at(4, 21), None)
    _resulted(make, other, make.lab_test(other, "K"), "7.5", at(2, 6), 600)
    clock.set_frozen(NOW)
    return {"hospital": hospital, "other": other}


def _params(metric: str, group: str = "day", start=date(2026, 3, 1), end=date(2026, 3, 5)) -> ReportParams:
    return ReportParams(metric, start, end, group)


def _series(result) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {s.name: s.values for s in result.series}


def _totals(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {s.name: s.total for s in result.series}


def test_turnaround_is_the_average_minutes_from_order_to_verification_per_local_day(lab_clinic):  # type: ignore[no-untyped-def]
    result = reports.run_report(_params("lab_turnaround"), Scope(lab_clinic["hospital"]))
    assert result.labels[:4] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert _series(result) == {
        "average turnaround": [0, 90, 45, 0, 0],
        "verified results": [0, 1, 2, 0, 0],
    }
    assert _totals(result) == {"average turnaround": 60, "verified results": 3}


def test_turnaround_per_test_and_month(lab_clinic):  # type: ignore[no-untyped-def]
    scope = Scope(lab_clinic["hospital"])
    by_test = reports.run_report(_params("lab_turnaround", "test"), scope)
    assert by_test.labels == ["Potassium (K)", "Sodium (NA)"]
    assert _series(by_test)["average turnaround"] == [60, 60]
    by_month = reports.run_report(_params("lab_turnaround", "month", end=date(2026, 3, 31)), scope)
    assert _series(by_month)["average turnaround"] == [60]


def test_the_share_of_critical_values_per_day_and_test(lab_clinic):  # type: ignore[no-untyped-def]
    scope = Scope(lab_clinic["hospital"])
    by_day = reports.run_report(_params("lab_criticals"), scope)
    assert _series(by_day) == {
        "critical share": [0.0, 100.0, 0.0, 0.0, 0.0],
        "critical values": [0, 1, 0, 0, 0],
        "results": [0, 1, 2, 0, 1],  # 4 Mar 21:10 UTC is 5 Mar in Nairobi
    }
    assert _totals(by_day) == {"critical share": 25.0, "critical values": 1, "results": 4}
    by_test = reports.run_report(_params("lab_criticals", "test", end=date(2026, 3, 6)), scope)
    assert by_test.labels == ["Potassium (K)", "Sodium (NA)"]
    assert _series(by_test)["critical share"] == [50.0, 0.0]
    assert _series(by_test)["results"] == [2, 2]


def test_platform_reports_group_lab_metrics_by_hospital(lab_clinic):  # type: ignore[no-untyped-def]
    result = reports.run_report(_params("lab_turnaround", "hospital"), Scope())
    found = dict(zip(result.labels, result.series[0].values, strict=True))
    assert found["Clinic"] == 60 and found["Elsewhere"] == 600


def test_lab_metrics_cannot_be_grouped_by_doctor(lab_clinic):  # type: ignore[no-untyped-def]
    scope = Scope(lab_clinic["hospital"])
    with pytest.raises(reports.InvalidReport):
        reports.parse_params(
            {"metric": "lab_criticals", "start": "2026-03-01", "end": "2026-03-05", "group": "doctor"}, scope
        )


def test_the_builder_shows_and_exports_the_lab_metrics(client, login_as, make, lab_clinic):  # type: ignore[no-untyped-def]
    login_as(make.hospital_admin(lab_clinic["hospital"]))
    query = "metric=lab_turnaround&start=2026-03-01&end=2026-03-05&group=test"
    page = client.get(f"/hospital/reports?{query}")
    assert page.status_code == 200
    assert "Potassium (K)" in page.text and "Average turnaround (minutes)" in page.text
    csv_text = client.get(f"/hospital/reports.csv?{query}").text
    assert "Potassium (K),60,2" in csv_text
    shares = client.get("/hospital/reports?metric=lab_criticals&start=2026-03-01&end=2026-03-05&group=day")
    assert shares.status_code == 200 and "100.0 %" in shares.text
