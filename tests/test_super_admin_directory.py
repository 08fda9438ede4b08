"""Platform admin: hospital, doctor and patient pages with search and pages; bookings this week and month
and a 12-week bookings trend drawn as inline SVG without script or style."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, HospitalStatus, MembershipStatus

HX = {"HX-Request": "true"}
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def root(make, login_as):
    clock.set_frozen(NOW)
    user = make.super_admin()
    login_as(user)
    return user


def test_hospital_list_searches_filters_and_pages(client, app, make, root):
    for i in range(app.config["PAGE_SIZE"] + 2):
        make.hospital(name=f"General {i:02d}", city="Nairobi")
    make.hospital(name="Lakeside Clinic", city="Kisumu", status=HospitalStatus.pending)
    page = client.get("/admin/hospitals").data.decode()
    assert "Lakeside Clinic" in page  # pending first
    assert "Page 1 of 2" in page
    found = client.get("/admin/hospitals?q=kisu&fragment=results", headers=HX).data.decode()
    assert "Lakeside Clinic" in found and "General 00" not in found and "<html" not in found
    pending = client.get("/admin/hospitals?status=pending").data.decode()
    assert "Lakeside Clinic" in pending and "General 00" not in pending
    for odd in ("?status=bogus", "?page=-3", "?page=x", "?q=%25%25_"):
        assert client.get(f"/admin/hospitals{odd}").status_code == 200


def test_approving_from_the_list_without_javascript_returns_to_the_list(client, make, root):
    hospital = make.hospital(status=HospitalStatus.pending, name="Lakeside")
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status",
        data={"action": "approve", "next": "/admin/hospitals?status=pending"},
    )
    assert response.headers["Location"] == "/admin/hospitals?status=pending"
    for evil in ("https://evil.example/", "//evil.example/admin/", "/admin/\r\nX: y", "/patient/"):
        hospital = make.hospital(status=HospitalStatus.pending)
        response = client.post(
            f"/admin/hospitals/{hospital.id}/status", data={"action": "approve", "next": evil}
        )
        assert response.headers["Location"] == "/admin/"


def test_hospital_page_shows_profile_doctors_and_the_audited_history(client, make, root):
    hospital = make.hospital(name="Riverside", status=HospitalStatus.pending)
    admin = make.hospital_admin(hospital, email="grace@example.org")
    make.membership(make.doctor(name="Chinedu Okafor"), hospital, status=MembershipStatus.inactive)
    make.department(hospital, "Paediatrics")
    client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "approve"})
    client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "suspend"})
    page = client.get(f"/admin/hospitals/{hospital.id}").data.decode()
    assert (
        "Riverside" in page and admin.email in page and "Dr Chinedu Okafor" in page and "Paediatrics" in page
    )
    assert "approve hospital" in page and "suspend hospital" in page and root.full_name in page
    assert 'value="approve"' in page  # a suspended hospital can be reactivated here


def test_doctor_list_and_page(client, make, root):
    doctor = make.doctor(name="Priya Mehta", specialty="Paediatrics")
    make.membership(doctor, make.hospital(name="Riverside"))
    make.doctor(name="Other Person", specialty="Surgery")
    found = client.get("/admin/doctors?q=paed").data.decode()
    assert "Dr Priya Mehta" in found and "Other Person" not in found
    page = client.get(f"/admin/doctors/{doctor.doctor.id}").data.decode()
    assert "Dr Priya Mehta" in page and "Riverside" in page and doctor.email in page


def test_patient_page_shows_demographics_only_and_is_audited(client, make, root):
    amina = make.patient(
        name="Amina Hassan", allergies="Penicillin", blood_group="O+", emergency_contact="Yusuf +254 700"
    )
    found = client.get(f"/admin/patients?q={amina.patient.mrn.lower()}").data.decode()
    assert "Amina Hassan" in found
    page = client.get(f"/admin/patients/{amina.patient.id}").data.decode()
    assert "Amina Hassan" in page and amina.patient.mrn in page and "Yusuf +254 700" in page
    assert "Penicillin" not in page and "O+" not in page
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.patient_id, event.user_id) == (
        "view",
        "patient",
        amina.patient.id,
        root.id,
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/hospitals/999999",
        "/admin/doctors/999999",
        "/admin/patients/999999",
        "/admin/patients/99999999999999",
    ],
)
def test_unknown_ids_are_404(client, root, url):
    assert client.get(url).status_code == 404


def test_dashboard_counts_appointments_this_week_and_month_and_draws_the_trend(client, make, root):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    # Booked at various times: created_at says when the booking was made.
    for weeks_ago, count in ((0, 2), (1, 1), (5, 3)):
        for i in range(count):
            clock.set_frozen(NOW - timedelta(weeks=weeks_ago, hours=i))
            make.appointment(
                make.patient(), doctor, hospital, monday + timedelta(days=1, hours=3 * weeks_ago + i)
            )
    clock.set_frozen(NOW)
    make.appointment(make.patient(), doctor, hospital, monday + timedelta(days=14))  # later this month
    make.appointment(make.patient(), doctor, hospital, monday, status=AppointmentStatus.cancelled)
    html = client.get("/admin/").data.decode()
    week, month = (int(n) for n in re.findall(r'<p class="stat">(\d+)</p>', html))
    assert (week, month) == (6, 7)
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    ET.fromstring(svg)  # noqa: S314  (well-formed; our own output)
    assert 'role="img"' in svg and "Bookings per week" in svg
    assert "<script" not in html.split("</head>")[1].replace('<script src="', "")
    assert " style=" not in html and "<style" not in html
    assert svg.count('class="rect') == 12
    assert "09 Mar 2026</td><td>4</td>" in html.replace("\n", "")  # this week: 2 + the 2 booked today


def test_dashboard_without_bookings_shows_no_empty_chart(client, root):
    html = client.get("/admin/").data.decode()
    assert "<svg" not in html
    assert "No bookings yet" in html


def test_dashboard_page_stays_small(client, make, root):
    for i in range(40):
        make.hospital(name=f"Hospital {i}", status=HospitalStatus.pending)
    doctor = make.doctor_at()
    hospital = doctor.doctor.memberships[0].hospital
    make.appointment(make.patient(), doctor, hospital, NOW + timedelta(days=1))
    page = client.get("/admin/").data
    # 16.5 KB raw: the shell's navigation twice (bar and phone menu), every time with its zone label;
    # what travels is the compressed page (tests/test_shell_weight.py, tests/test_performance.py).
    assert len(page) < 16_500
    assert len(gzip.compress(page)) < 4_000
