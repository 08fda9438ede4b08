"""The platform admin's dashboard: real counts and inline approval."""

from __future__ import annotations

import re

from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, HospitalStatus


def stats(html: bytes) -> list[int]:
    return [int(n) for n in re.findall(rb'<h2 class="stat">(\d+)</h2>', html)]


def test_dashboard_counts_hospitals_by_status_doctors_and_patients(client, make, login_as):
    make.hospital(status=HospitalStatus.pending)
    make.hospital(status=HospitalStatus.pending)
    active = make.hospital()
    make.hospital(status=HospitalStatus.suspended)
    make.doctor_at(active)
    make.doctor()
    for _ in range(3):
        make.patient()
    login_as(make.super_admin())
    page = client.get("/admin/")
    assert stats(page.data) == [2, 1, 1, 2, 3]


def test_approve_inline_returns_the_row_and_fires_an_event(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending, name="Lakeside Hospital")
    admin = make.super_admin()
    login_as(admin)
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status", data={"action": "approve"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.data.lstrip().startswith(f'<tr id="hospital-{hospital.id}">'.encode())
    assert b"Lakeside Hospital is now active." in response.data
    assert b'value="suspend"' in response.data
    assert response.headers["HX-Trigger"] == '{"hospitalsChanged": true}'
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.active
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.record_id, event.user_id) == (
        "approve",
        "hospital",
        hospital.id,
        admin.id,
    )
    counts = client.get("/admin/counts", headers={"HX-Request": "true"})
    assert stats(counts.data)[:3] == [0, 1, 0]
    assert b"<html" not in counts.data


def test_suspend_then_reactivate_without_javascript(client, make, login_as):
    hospital = make.hospital()
    login_as(make.super_admin())
    response = client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "suspend"})
    assert response.status_code == 303
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.suspended
    assert b"is now suspended" in client.get("/admin/").data
    client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "approve"})
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.active
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["suspend", "reactivate"]


def test_approving_twice_changes_nothing_more(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    for _ in range(2):
        client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "approve"})
    assert len(db.session.scalars(select(AuditEvent)).all()) == 1


def test_a_pending_hospital_cannot_be_suspended(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status", data={"action": "suspend"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert b"approve it first" in response.data
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.pending


def test_unknown_action_is_400_and_changes_nothing(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    response = client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "delete"})
    assert response.status_code == 400
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.pending
