"""Every paginated list takes any `?page=`: a crafted number is clamped (never an offset the database
cannot hold), and words or negatives mean the first page."""

from __future__ import annotations

import pytest

from hms.query import MAX_PAGE

PAGES = ["99999999999999999999999999", "-3", "abc", "0", "1.5", str(MAX_PAGE + 1)]


@pytest.mark.parametrize("page", PAGES)
def test_lists_of_every_role_clamp_the_page_number(client, make, login_as, page):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    patient = make.patient()
    make.appointment(patient, doctor, hospital)
    lists = [
        (make.super_admin(), ["/admin/hospitals", "/admin/doctors", "/admin/patients"]),
        (
            make.hospital_admin(hospital),
            ["/hospital/doctors", "/hospital/patients", "/hospital/week", "/hospital/bills"],
        ),
        (doctor, ["/doctor/patients", f"/doctor/patients/{patient.patient.id}"]),
        (patient, ["/patient/encounters", "/patient/record-access", "/notifications/"]),
    ]
    for user, urls in lists:
        login_as(user)
        for url in urls:
            response = client.get(f"{url}?page={page}")
            assert response.status_code == 200, (url, page, response.status_code)
