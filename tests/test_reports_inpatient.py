"""Inpatient metrics of the report builder: the bed occupancy rate (occupied bed-days over available
bed-days, from the bed stays that overlap each period) and the average length of stay of the admissions
discharged in the period, per local day, week, month, ward or hospital, each one GROUP BY statement; the
builder's page, CSV and saved reports show them. Expected values are worked out by hand below."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hms import clock
from hms.extensions import db
from hms.services import inpatient, reports
from hms.services.reports import ReportParams, Scope
from tests.statements import recorded

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # 15:00 in Nairobi (UTC+3 all year)


def utc(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def wards(make):  # type: ignore[no-untyped-def]
    """Clinic, Nairobi: General B1-B3 (and B4, retired: never available) and ICU B1-B3. In local time:
    - Baraka: General B2 from 27 Feb 15:00 to 1 Mar 12:00 (45 hours: 1.875 days; 0.5 day in March);
    - Amina: General B1 from 2 Mar 00:00, ICU B1 from 3 Mar 00:00, discharged 3 Mar 12:00 (1.5 days);
    - Chiku: General B3 from 3 Mar 18:00, still in bed.
    Elsewhere: one patient in its ward for 2 days, discharged 3 Mar (not the clinic's)."""
    hospital = make.hospital(name="Clinic", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    general = make.ward(hospital, "General", beds=3)
    make.bed(general, "B4", retired=True)
    icu = make.ward(hospital, "ICU", beds=3)
    nurse = make.staff(hospital, inpatient.StaffKind.nurse)

    def admit(at: datetime, hospital_row, patient, bed, by):  # type: ignore[no-untyped-def]
        clock.set_frozen(at)
        return make.admitted(hospital_row, patient, bed, by)

    def discharge(at: datetime, admission, by, nurse_user):  # type: ignore[no-untyped-def]
        clock.set_frozen(at)
        inpatient.order_discharge(admission, by, {"discharge_diagnoses": "Better"})
        inpatient.discharge_patient(admission, nurse_user)
        db.session.commit()

    baraka = admit(utc(27, 12, month=2), hospital, make.patient(), general.beds[1], doctor)
    discharge(utc(1, 9), baraka, doctor, nurse)
    amina = admit(utc(1, 21), hospital, make.patient(), general.beds[0], doctor)
    clock.set_frozen(utc(2, 21))
    inpatient.transfer_patient(amina, icu.beds[0].id, nurse, "Needs oxygen")
    db.session.commit()
    discharge(utc(3, 9), amina, doctor, nurse)
    admit(utc(3, 15), hospital, make.patient(), general.beds[2], doctor)

    other = make.hospital(name="Elsewhere", timezone="Africa/Nairobi")
    other_doctor = make.doctor_at(other)
    other_ward = make.ward(other, "Other", beds=1)
    elsewhere = admit(utc(1, 9), other, make.patient(), other_ward.beds[0], other_doctor)
    discharge(utc(3, 9), elsewhere, other_doctor, make.staff(other, inpatient.StaffKind.nurse))
    clock.set_frozen(NOW)
    return {"hospital": hospital, "general": general, "icu": icu, "other": other}


def _params(metric: str, group: str = "day", start=date(2026, 3, 1), end=date(2026, 3, 4)) -> ReportParams:
    return ReportParams(metric, start, end, group)


def _series(result) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {s.name: s.values for s in result.series}


def _totals(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {s.name: s.total for s in result.series}


def test_occupancy_per_ward_is_occupied_over_available_bed_days(wards):  # type: ignore[no-untyped-def]
    # General: 3 beds × 4 days = 12; occupied 0.5 (Baraka) + 1 (Amina) + 1.25 (Chiku) = 2.75 → 22.9 %.
    # ICU: 12 available; Amina's half day → 4.2 %. Both: 3.25 / 24 → 13.5 %.
    result = reports.run_report(_params("bed_occupancy", "ward"), Scope(wards["hospital"]))
    assert result.labels == ["General", "ICU"]
    assert _series(result) == {
        "occupancy rate": [22.9, 4.2],
        "occupied bed-days": [2.8, 0.5],  # 2.75 shown with one decimal
        "available bed-days": [12.0, 12.0],
    }
    assert _totals(result)["occupancy rate"] == 13.5
    assert _totals(result)["available bed-days"] == 24.0


def test_occupancy_per_local_day_week_and_month(wards):  # type: ignore[no-untyped-def]
    scope = Scope(wards["hospital"])
    # 6 beds a day. 1 Mar: Baraka's morning 0.5; 2 Mar: Amina 1; 3 Mar: Amina 0.5 + Chiku 0.25;
    # 4 Mar: Chiku 1.
    by_day = reports.run_report(_params("bed_occupancy"), scope)
    assert by_day.labels == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert _series(by_day)["occupancy rate"] == [8.3, 16.7, 12.5, 16.7]
    assert _series(by_day)["available bed-days"] == [6.0, 6.0, 6.0, 6.0]
    assert _totals(by_day)["occupancy rate"] == 13.5
    # Weeks from Monday, cut to the range: Sunday 1 Mar alone (0.5 / 6), then 2-4 Mar (2.75 / 18).
    by_week = reports.run_report(_params("bed_occupancy", "week"), scope)
    assert _series(by_week)["occupancy rate"] == [8.3, 15.3]
    assert _series(by_week)["available bed-days"] == [6.0, 18.0]
    by_month = reports.run_report(_params("bed_occupancy", "month"), scope)
    assert _series(by_month)["occupancy rate"] == [13.5]


def test_occupancy_stops_at_now(wards):  # type: ignore[no-untyped-def]
    # 14 Mar 00:00 to now (15 Mar 15:00 local): 39 hours = 1.625 days; Chiku fills one General bed of 3.
    result = reports.run_report(
        _params("bed_occupancy", "ward", date(2026, 3, 14), date(2026, 3, 20)), Scope(wards["hospital"])
    )
    assert _series(result)["occupancy rate"] == [33.3, 0.0]
    assert _series(result)["available bed-days"] == [4.9, 4.9]  # 3 × 1.625 = 4.875
    later = reports.run_report(
        _params("bed_occupancy", "day", date(2026, 3, 15), date(2026, 3, 16)), Scope(wards["hospital"])
    )
    # 15 Mar until now (15 hours): Chiku in one of the 6 beds; 16 Mar is neither occupied nor available.
    assert _series(later)["occupancy rate"] == [16.7, 0.0]
    assert _series(later)["available bed-days"] == [3.8, 0.0]  # 6 beds × 15 hours = 3.75 days


def test_average_length_of_stay_per_ward_and_day_of_discharge(wards):  # type: ignore[no-untyped-def]
    scope = Scope(wards["hospital"])
    by_ward = reports.run_report(_params("length_of_stay", "ward"), scope)
    # By the ward they left from: Baraka 1.875 days from General, Amina 1.5 from the ICU.
    assert by_ward.labels == ["General", "ICU"]
    assert _series(by_ward) == {"average stay": [1.9, 1.5], "discharges": [1, 1]}
    assert _totals(by_ward) == {"average stay": 1.7, "discharges": 2}  # 3.375 / 2 = 1.6875
    by_day = reports.run_report(_params("length_of_stay"), scope)
    assert _series(by_day) == {"average stay": [1.9, 0.0, 1.5, 0.0], "discharges": [1, 0, 1, 0]}


def test_platform_reports_group_inpatient_metrics_by_hospital(wards):  # type: ignore[no-untyped-def]
    stays = reports.run_report(_params("length_of_stay", "hospital"), Scope())
    found = dict(zip(stays.labels, stays.series[0].values, strict=True))
    assert found["Clinic"] == 1.7 and found["Elsewhere"] == 2.0
    occupancy = reports.run_report(_params("bed_occupancy", "hospital"), Scope())
    rates = dict(zip(occupancy.labels, occupancy.series[0].values, strict=True))
    assert rates["Clinic"] == 13.5 and rates["Elsewhere"] == 50.0  # 2 of 4 bed-days
    wards_everywhere = reports.run_report(_params("bed_occupancy", "ward"), Scope())
    assert {"General (Clinic)", "ICU (Clinic)", "Other (Elsewhere)"} <= set(wards_everywhere.labels)


def test_each_metric_is_one_statement(wards):  # type: ignore[no-untyped-def]
    scope = Scope(wards["hospital"])
    assert scope.tz is not None  # the hospital read before counting
    for metric in ("bed_occupancy", "length_of_stay"):
        for group in ("day", "week", "month", "ward"):
            with recorded() as seen:
                reports.QUERIES[metric](_params(metric, group), scope)
            assert len(seen) == 1, (metric, group, seen)


def test_inpatient_metrics_cannot_be_grouped_by_doctor(wards):  # type: ignore[no-untyped-def]
    with pytest.raises(reports.InvalidReport):
        reports.parse_params(
            {"metric": "bed_occupancy", "start": "2026-03-01", "end": "2026-03-04", "group": "doctor"},
            Scope(wards["hospital"]),
        )


def test_the_builder_shows_exports_and_saves_the_inpatient_metrics(client, login_as, make, wards):  # type: ignore[no-untyped-def]
    admin = make.hospital_admin(wards["hospital"])
    login_as(admin)
    query = "metric=bed_occupancy&start=2026-03-01&end=2026-03-04&group=ward"
    page = client.get(f"/hospital/reports?{query}")
    assert page.status_code == 200
    assert "Bed occupancy rate" in page.text and "22.9 %" in page.text and "Occupied bed-days" in page.text
    assert "<svg" in page.text
    csv_text = client.get(f"/hospital/reports.csv?{query}").text
    assert "General,22.9,2.8,12.0" in csv_text
    stays = client.get("/hospital/reports?metric=length_of_stay&start=2026-03-01&end=2026-03-04&group=ward")
    assert stays.status_code == 200 and "Average length of stay (days)" in stays.text and "1.9" in stays.text
    scope = Scope(wards["hospital"])
    saved = reports.save_report(admin, scope, "Occupancy", _params("bed_occupancy", "ward"))
    db.session.commit()
    assert reports.load_params(saved, scope) == _params("bed_occupancy", "ward")


def test_the_dashboard_shows_the_beds_occupied_now_ward_by_ward(client, login_as, make, wards):  # type: ignore[no-untyped-def]
    # Now: Chiku in General B3; General B1 and B2 and ICU B1 are being cleaned; B4 is retired.
    figures = reports.hospital_dashboard(wards["hospital"])
    assert [(w.name, w.occupied, w.total) for w in figures["wards"]] == [("General", 1, 3), ("ICU", 0, 3)]
    assert (figures["beds_occupied"], figures["beds_total"]) == (1, 6)
    login_as(make.hospital_admin(wards["hospital"]))
    client.get("/hospital/")
    with recorded() as seen:
        page = client.get("/hospital/")
    assert page.status_code == 200
    assert 'id="beds-today"' in page.text and "1 / 6" in page.text
    assert "General: 1 of 3" in page.text and "ICU: 0 of 3" in page.text
    assert len(seen) <= 8, "\n".join(" ".join(s.split())[:150] for s in seen)  # the dashboard's budget


def test_the_dashboard_has_no_beds_tile_without_wards(client, login_as, make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    page = client.get("/hospital/")
    assert page.status_code == 200 and 'id="beds-today"' not in page.text
