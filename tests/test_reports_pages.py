"""Report pages: the builder runs a report as an HTMX fragment or a page, 422 with the field's message on
bad parameters, CSV download, saved reports (save, open, edit, delete) private to their owner, and the
hospital admin's scope that no parameter widens."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, SavedReport

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
RUN = {"metric": "appointments", "start": "2026-03-01", "end": "2026-03-10", "group": "week"}
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    clock.set_frozen(NOW)


@pytest.fixture
def world(make):
    """Two hospitals with an admin each; three appointments here, two elsewhere, in March."""
    hospital, other = make.hospital(name="Here"), make.hospital(name="There")
    doctor, stranger = make.doctor_at(hospital), make.doctor_at(other)
    for day, status in (
        (2, AppointmentStatus.fulfilled),
        (3, AppointmentStatus.noshow),
        (9, AppointmentStatus.booked),
    ):
        make.appointment(
            make.patient(), doctor, hospital, datetime(2026, 3, day, 9, tzinfo=UTC), status=status
        )
    for day in (2, 3):
        make.appointment(make.patient(), stranger, other, datetime(2026, 3, day, 9, tzinfo=UTC))
    return {
        "hospital": hospital,
        "other": other,
        "doctor": doctor,
        "stranger": stranger,
        "admin": make.hospital_admin(hospital),
        "colleague": make.hospital_admin(hospital),
        "other_admin": make.hospital_admin(other),
        "root": make.super_admin(),
    }


def _total(html: str) -> int:
    """The sum of the table's figures (the foot row of the appointments report)."""
    foot = html.split("<tfoot>")[1].split("</tfoot>")[0]
    import re

    return sum(int(n) for n in re.findall(r"<td>(\d+)</td>", foot))


def test_builder_page_opens_with_this_month_by_day(client, login_as, world):
    login_as(world["admin"])
    html = client.get("/hospital/reports").get_data(as_text=True)
    assert 'name="metric"' in html and 'value="2026-03-01"' in html and 'value="2026-03-15"' in html
    assert "report-table" not in html
    assert "No saved reports yet" in html


def test_running_a_report_draws_table_and_chart_in_a_fragment_for_htmx(client, login_as, world):
    login_as(world["admin"])
    fragment = client.get("/hospital/reports", query_string=RUN, headers=HX)
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert html.startswith('<section id="report-result"') and "<html" not in html
    assert "<svg" in html and 'id="report-table"' in html
    assert _total(html) == 3
    assert len(fragment.data) < 12_000
    page = client.get("/hospital/reports", query_string=RUN)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert len(page.data) < 50_000


def test_a_crafted_hospital_parameter_does_not_widen_a_hospital_report(client, login_as, world):
    login_as(world["admin"])
    html = client.get(
        "/hospital/reports", query_string=RUN | {"group": "hospital", "hospital": world["other"].id}
    ).get_data(as_text=True)
    assert "cannot be grouped that way" in html  # no grouping by hospital for a hospital's admin
    html = client.get("/hospital/reports", query_string=RUN | {"hospital": world["other"].id}).get_data(
        as_text=True
    )
    assert _total(html) == 3
    response = client.get(
        "/hospital/reports", query_string=RUN | {"doctor": world["stranger"].doctor.id}, headers=HX
    )
    assert response.status_code == 422
    assert "Choose a doctor from the list." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "passwords"}, "Choose a report from the list."),
        ({"end": "2026-02-01"}, "The end date is before the start date."),
        ({"start": "2019-01-01", "end": "2026-01-01", "group": "month"}, "A report covers at most 5 years."),
        ({"start": "２０２６-03-01"}, "Enter a date."),
        ({"doctor": "99999999999999999999999"}, "Choose a doctor from the list."),
        ({"department": "-5"}, "Choose a department from the list."),
    ],
)
def test_bad_parameters_answer_422_with_the_message(client, login_as, world, change, message):
    login_as(world["admin"])
    response = client.get("/hospital/reports", query_string=RUN | change)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html and "report-table" not in html


def test_nul_in_a_parameter_is_refused(client, login_as, world):
    login_as(world["admin"])
    assert client.get("/hospital/reports", query_string=RUN | {"metric": "a\x00b"}).status_code == 400


def test_csv_download(client, login_as, world):
    login_as(world["admin"])
    response = client.get("/hospital/reports.csv", query_string=RUN | {"group": "day"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["day", "booked", "arrived", "fulfilled", "cancelled", "noshow"]
    assert rows[2] == ["2026-03-02", "0", "0", "1", "0", "0"]
    assert rows[-1] == ["total", "1", "0", "1", "0", "1"]
    assert len(rows) == 12  # header, 10 days, total
    assert client.get("/hospital/reports.csv", query_string=RUN | {"end": "x"}).status_code == 422


def _saved_count() -> int:
    return db.session.scalar(select(func.count(SavedReport.id)))


def test_save_open_edit_and_delete_a_report(client, login_as, world):
    login_as(world["admin"])
    response = client.post("/hospital/reports", data=RUN | {"name": "  March  visits "})
    assert response.status_code == 303
    report = db.session.scalar(select(SavedReport))
    assert report.name == "March visits" and report.owner_id == world["admin"].id
    assert report.hospital_id == world["hospital"].id
    assert report.params == {
        "metric": "appointments",
        "start": "2026-03-01",
        "end": "2026-03-10",
        "group": "week",
        "doctor": None,
        "department": None,
        "hospital": None,
    }
    assert response.headers["Location"].endswith(f"/hospital/reports/{report.id}")
    html = client.get(f"/hospital/reports/{report.id}").get_data(as_text=True)
    assert "March visits" in html and _total(html) == 3 and "<svg" in html
    assert "March visits" in client.get("/hospital/reports").get_data(as_text=True)
    csv_text = client.get(f"/hospital/reports/{report.id}.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "week,booked,arrived,fulfilled,cancelled,noshow"

    edited = RUN | {"name": "No-shows", "metric": "noshow_rate", "group": "month"}
    assert client.post(f"/hospital/reports/{report.id}", data=edited).status_code == 303
    db.session.refresh(report)
    assert report.name == "No-shows" and report.params["metric"] == "noshow_rate"
    bad = client.post(f"/hospital/reports/{report.id}", data=edited | {"end": "2000-01-01"})
    assert bad.status_code == 422 and "The end date is before the start date." in bad.get_data(as_text=True)
    db.session.refresh(report)
    assert report.params["end"] == "2026-03-10"

    report_id = report.id
    assert client.post(f"/hospital/reports/{report_id}/delete").status_code == 303
    assert _saved_count() == 0
    assert client.get(f"/hospital/reports/{report_id}").status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "Give the report a name."),
        ({"name": "x" * 121}, "Use at most 120 characters."),
        ({"metric": "unknown"}, "Choose a report from the list."),
        ({"start": "2010-01-01"}, "A report covers at most 5 years."),
    ],
)
def test_nothing_is_saved_from_bad_input(client, login_as, world, change, message):
    login_as(world["admin"])
    response = client.post("/hospital/reports", data=RUN | {"name": "Fine"} | change)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _saved_count() == 0


def test_saving_needs_the_csrf_token(client, login_as, world):
    login_as(world["admin"])
    assert client.post("/hospital/reports", data=RUN | {"name": "x"}, csrf=False).status_code == 400
    assert _saved_count() == 0


def test_other_peoples_saved_reports_are_404(client, login_as, world):
    login_as(world["admin"])
    client.post("/hospital/reports", data=RUN | {"name": "Mine"})
    report = db.session.scalar(select(SavedReport))
    for intruder in (world["colleague"], world["other_admin"]):
        login_as(intruder)
        assert client.get(f"/hospital/reports/{report.id}").status_code == 404
        assert client.get(f"/hospital/reports/{report.id}.csv").status_code == 404
        assert client.post(f"/hospital/reports/{report.id}", data=RUN | {"name": "Theirs"}).status_code == 404
        assert client.post(f"/hospital/reports/{report.id}/delete").status_code == 404
        assert "Mine" not in client.get("/hospital/reports").get_data(as_text=True)
    login_as(world["root"])
    assert client.get(f"/admin/reports/{report.id}").status_code == 404
    assert _saved_count() == 1


def test_a_saved_report_whose_doctor_left_says_so(client, login_as, world):
    login_as(world["admin"])
    client.post("/hospital/reports", data=RUN | {"name": "Doctor", "doctor": world["doctor"].doctor.id})
    report = db.session.scalar(select(SavedReport))
    membership = world["doctor"].doctor.memberships[0]
    db.session.delete(membership)
    db.session.commit()
    response = client.get(f"/hospital/reports/{report.id}")
    assert response.status_code == 200
    assert "Choose a doctor from the list." in response.get_data(as_text=True)


def test_platform_reports_cover_every_hospital_or_one(client, login_as, world):
    login_as(world["root"])
    html = client.get("/admin/reports", query_string=RUN | {"group": "hospital"}).get_data(as_text=True)
    assert "Here" in html and "There" in html and _total(html) == 5
    html = client.get("/admin/reports", query_string=RUN | {"hospital": world["other"].id}).get_data(
        as_text=True
    )
    assert _total(html) == 2
    assert client.post("/admin/reports", data=RUN | {"name": "All"}).status_code == 303
    report = db.session.scalar(select(SavedReport))
    assert report.hospital_id is None
    assert client.get(f"/admin/reports/{report.id}").status_code == 200
    login_as(world["admin"])
    assert client.get(f"/hospital/reports/{report.id}").status_code == 404


def test_hospital_dashboard_shows_todays_appointments_revenue_and_noshows(client, login_as, world, make):
    make.appointment(make.patient(), world["doctor"], world["hospital"], NOW + clock_hours(2))
    login_as(world["admin"])
    html = client.get("/hospital/").get_data(as_text=True)
    assert "Appointments today" in html and "Revenue this month" in html and "No-shows this month" in html
    assert "<svg" in html and " style=" not in html


def clock_hours(hours: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(hours=hours)
