"""Patients rate a visit that took place, once (1–5 stars, a comment); the hospital's report averages
the ratings per day or doctor, counting only its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, Feedback
from hms.services import reports
from hms.services.reports import ReportParams, Scope

HX = {"HX-Request": "true"}
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Clinic")
    doctor = make.doctor_at(hospital, name="Alpha Doctor")
    patient = make.patient()
    return make.appointment(
        patient, doctor, hospital, NOW - timedelta(days=2), status=AppointmentStatus.fulfilled
    )


def rate(client, appointment, rating="4", comment="Kind and on time", **kw):  # type: ignore[no-untyped-def]
    return client.post(
        f"/patient/appointments/{appointment.id}/feedback", data={"rating": rating, "comment": comment}, **kw
    )


def test_a_patient_rates_a_visit_once(client, login_as, visit):
    login_as(visit.patient.user)
    page = client.get(f"/patient/appointments/{visit.id}")
    assert b"How was this visit?" in page.data
    response = rate(client, visit, headers=HX)
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"Thank you for your feedback." in response.data and b"Your rating: 4 of 5" in response.data
    row = db.session.scalars(select(Feedback)).one()
    assert (row.rating, row.comment, row.doctor_id, row.hospital_id) == (
        4,
        "Kind and on time",
        visit.doctor_id,
        visit.hospital_id,
    )
    assert (
        db.session.scalar(select(AuditEvent.record_type).where(AuditEvent.record_id == row.id)) == "feedback"
    )
    again = rate(client, visit, rating="1", headers=HX)
    assert again.status_code == 409  # refused: one rating per visit
    assert db.session.scalars(select(Feedback)).one().rating == 4
    assert b"How was this visit?" not in client.get(f"/patient/appointments/{visit.id}").data


@pytest.mark.parametrize("rating", ["0", "6", "-1", "x", "", "4.5", "99999999999999999999"])
def test_ratings_outside_one_to_five_are_refused_with_the_form(client, login_as, visit, rating):
    login_as(visit.patient.user)
    response = rate(client, visit, rating=rating, headers=HX)
    assert response.status_code == 422 and b'aria-invalid="true"' in response.data
    assert b"Kind and on time" in response.data  # the comment is kept
    assert db.session.scalars(select(Feedback)).all() == []


def test_a_comment_over_1000_characters_is_refused(client, login_as, visit):
    login_as(visit.patient.user)
    assert rate(client, visit, comment="x" * 1001, headers=HX).status_code == 422
    assert db.session.scalars(select(Feedback)).all() == []


def test_only_visits_that_took_place_and_only_ones_own(client, make, login_as, visit):
    upcoming = make.appointment(
        visit.patient.user, visit.doctor.user, visit.hospital, NOW + timedelta(days=1)
    )
    login_as(visit.patient.user)
    assert b"How was this visit?" not in client.get(f"/patient/appointments/{upcoming.id}").data
    assert rate(client, upcoming).status_code == 409
    login_as(make.patient())
    assert rate(client, visit).status_code == 404
    login_as(visit.doctor.user)
    assert rate(client, visit).status_code == 403
    assert db.session.scalars(select(Feedback)).all() == []


def test_without_javascript_the_rating_redirects_back(client, login_as, visit):
    login_as(visit.patient.user)
    response = rate(client, visit, rating="5")
    assert response.status_code == 303
    assert b"Thank you for your feedback." in client.get(response.headers["Location"]).data


def test_average_rating_report_per_day_and_doctor(make, visit):
    hospital, alpha = visit.hospital, visit.doctor.user
    beta = make.doctor_at(hospital, name="Beta Doctor")
    elsewhere = make.hospital()

    def rated(doctor, where, stars, day):  # type: ignore[no-untyped-def]
        appointment = make.appointment(
            make.patient(), doctor, where, NOW - timedelta(days=5), status=AppointmentStatus.fulfilled
        )
        db.session.add(
            Feedback(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                doctor_id=appointment.doctor_id,
                hospital_id=where.id,
                rating=stars,
                comment="",
                created_at=datetime(2026, 3, day, 8, 0, tzinfo=UTC),
            )
        )
        db.session.commit()

    rated(alpha, hospital, 5, 2)
    rated(alpha, hospital, 4, 2)
    rated(beta, hospital, 2, 3)
    rated(make.doctor_at(elsewhere), elsewhere, 1, 2)  # another hospital's: never counted here
    scope = Scope(hospital)
    by_day = reports.run_report(ReportParams("rating", date(2026, 3, 1), date(2026, 3, 4), "day"), scope)
    averages = dict(zip(by_day.labels, by_day.series[0].values, strict=True))
    assert averages == {"2026-03-01": 0.0, "2026-03-02": 4.5, "2026-03-03": 2.0, "2026-03-04": 0.0}
    assert by_day.series[0].total == round(11 / 3, 2) and by_day.series[1].total == 3
    by_doctor = reports.run_report(
        ReportParams("rating", date(2026, 3, 1), date(2026, 3, 4), "doctor"), scope
    )
    assert dict(zip(by_doctor.labels, by_doctor.series[0].values, strict=True)) == {
        "Alpha Doctor": 4.5,
        "Beta Doctor": 2.0,
    }
    assert "average rating" in by_day.csv().splitlines()[0] and "4.50" in by_day.csv()
