"""Departments: create, rename, retire and restore, with names unique regardless of case."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, Department
from hms.services import departments as department_service
from hms.services.errors import Conflict, Invalid

HX = {"HX-Request": "true"}


@pytest.fixture
def hospital(make):
    return make.hospital()


@pytest.fixture
def admin(make, hospital, login_as):
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def names(hospital) -> list[str]:  # type: ignore[no-untyped-def]
    return db.session.scalars(
        select(Department.name).where(Department.hospital_id == hospital.id).order_by(Department.id)
    ).all()


def test_admin_creates_a_department_inline(client, hospital, admin):
    response = client.post("/hospital/departments", data={"name": "  Cardiology  "}, headers=HX)
    assert response.status_code == 200
    assert b"Department Cardiology created." in response.data
    assert b"<html" not in response.data
    assert names(hospital) == ["Cardiology"]
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.user_id, event.hospital_id) == (
        "create",
        "department",
        admin.id,
        hospital.id,
    )


def test_creating_without_javascript_redirects_back(client, hospital, admin):
    response = client.post("/hospital/departments", data={"name": "Radiology"})
    assert response.status_code == 303
    page = client.get("/hospital/departments")
    assert b"Department Radiology created." in page.data
    assert b'value="Radiology"' in page.data


@pytest.mark.parametrize("clash", ["cardiology", "CARDIOLOGY", " Cardiology ", "cardiology  "])
def test_a_name_that_exists_in_another_case_is_refused(client, make, hospital, admin, clash):
    make.department(hospital, "Cardiology")
    response = client.post("/hospital/departments", data={"name": clash}, headers=HX)
    assert response.status_code == 422
    assert "A department called “Cardiology” already exists".encode() in response.data
    assert names(hospital) == ["Cardiology"]


def test_the_same_name_is_fine_in_another_hospital(client, make, hospital, admin):
    make.department(make.hospital(), "Cardiology")
    assert client.post("/hospital/departments", data={"name": "Cardiology"}).status_code == 303
    assert names(hospital) == ["Cardiology"]


@pytest.mark.parametrize("name", ["", " ", "x", "y" * 121])
def test_empty_or_oversized_names_are_refused(client, hospital, admin, name):
    response = client.post("/hospital/departments", data={"name": name}, headers=HX)
    assert response.status_code == 422
    assert names(hospital) == []


def test_admin_renames_a_department_inline(client, make, hospital, admin):
    department = make.department(hospital, "Peds")
    response = client.post(
        f"/hospital/departments/{department.id}/name", data={"name": "Paediatrics"}, headers=HX
    )
    assert response.status_code == 200
    assert response.data.lstrip().startswith(f'<tr id="department-{department.id}">'.encode())
    assert b"Renamed to Paediatrics." in response.data
    db.session.refresh(department)
    assert department.name == "Paediatrics"
    assert department.name_key == "paediatrics"
    assert db.session.scalar(select(AuditEvent.detail)) == "renamed from Peds to Paediatrics"


def test_renaming_only_the_case_of_a_department_is_allowed(client, make, hospital, admin):
    department = make.department(hospital, "radiology")
    client.post(f"/hospital/departments/{department.id}/name", data={"name": "Radiology"})
    db.session.refresh(department)
    assert department.name == "Radiology"


def test_renaming_to_another_departments_name_is_refused(client, make, hospital, admin):
    make.department(hospital, "Surgery")
    department = make.department(hospital, "Theatre")
    response = client.post(
        f"/hospital/departments/{department.id}/name", data={"name": "SURGERY"}, headers=HX
    )
    assert response.status_code == 422
    assert b"already exists" in response.data
    assert b'value="SURGERY"' in response.data  # what was typed stays for correction
    db.session.refresh(department)
    assert department.name == "Theatre"
    without_js = client.post(f"/hospital/departments/{department.id}/name", data={"name": "SURGERY"})
    assert without_js.status_code == 303
    assert b"already exists" in client.get("/hospital/departments").data


def test_retire_and_restore_keep_the_department_and_its_doctors(client, make, hospital, admin):
    department = make.department(hospital, "Oncology")
    membership = make.membership(make.doctor(), hospital, department_row=department)
    response = client.post(
        f"/hospital/departments/{department.id}/status", data={"action": "retire"}, headers=HX
    )
    assert response.status_code == 200
    assert b"Oncology is retired." in response.data
    assert b'value="restore"' in response.data
    db.session.refresh(department)
    db.session.refresh(membership)
    assert department.retired is True
    assert membership.department_id == department.id
    assert department_service.active_departments(hospital) == []
    again = client.post(
        f"/hospital/departments/{department.id}/status", data={"action": "retire"}, headers=HX
    )
    assert b"already retired" in again.data
    client.post(f"/hospital/departments/{department.id}/status", data={"action": "restore"})
    db.session.refresh(department)
    assert department.retired is False
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["retire", "restore"]


def test_a_retired_name_cannot_be_reused(client, make, hospital, admin):
    department = make.department(hospital, "Dental")
    department.retired = True
    db.session.commit()
    response = client.post("/hospital/departments", data={"name": "dental"}, headers=HX)
    assert response.status_code == 422


def test_unknown_status_action_is_400(client, make, hospital, admin):
    department = make.department(hospital)
    assert (
        client.post(f"/hospital/departments/{department.id}/status", data={"action": "delete"}).status_code
        == 400
    )


def test_admin_cannot_touch_another_hospitals_department(client, make, admin):
    other = make.department(make.hospital(), "Elsewhere")
    assert client.post(f"/hospital/departments/{other.id}/name", data={"name": "Mine"}).status_code == 404
    assert (
        client.post(f"/hospital/departments/{other.id}/status", data={"action": "retire"}).status_code == 404
    )
    db.session.refresh(other)
    assert (other.name, other.retired) == ("Elsewhere", False)


def test_changes_need_a_csrf_token(client, hospital, admin):
    response = client.post("/hospital/departments", data={"name": "Cardiology"}, csrf=False)
    assert response.status_code == 400
    assert names(hospital) == []


def test_department_names_are_escaped(client, hospital, admin):
    client.post("/hospital/departments", data={"name": "<b>Bold</b>"})
    page = client.get("/hospital/departments").data
    assert b"<b>Bold</b>" not in page
    assert b"&lt;b&gt;Bold&lt;/b&gt;" in page


def test_service_refuses_duplicates_and_short_names(make, hospital):
    actor = make.hospital_admin(hospital)
    department_service.create_department(hospital, "ICU", actor)
    with pytest.raises(Conflict):
        department_service.create_department(hospital, "icu", actor)
    with pytest.raises(Invalid):
        department_service.create_department(hospital, "  ", actor)
