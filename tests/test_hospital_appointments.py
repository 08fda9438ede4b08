"""The hospital admin sees his own hospital's schedules and appointments, filtered."""

from __future__ import annotations

from datetime import UTC, datetime

from hms import clock
from hms.models import AppointmentStatus


def test_admin_filters_appointments_of_his_hospital_only(client, make, login_as):
    clock.set_frozen(datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    hospital = make.hospital(timezone="Africa/Nairobi")
    cardiology = make.department(hospital, "Cardiology")
    okafor = make.doctor(name="Chinedu Okafor")
    make.membership(okafor, hospital, department_row=cardiology)
    mehta = make.doctor_at(hospital, name="Priya Mehta")
    make.schedule(okafor, hospital, weekdays=[2])
    elsewhere = make.hospital()
    stranger = make.doctor_at(elsewhere, name="Sam Stranger")
    amina, john = make.patient(name="Amina Hassan"), make.patient(name="John Mwangi")
    make.appointment(amina, okafor, hospital, datetime(2027, 3, 3, 7, 0, tzinfo=UTC))
    make.appointment(
        john, mehta, hospital, datetime(2027, 3, 4, 7, 0, tzinfo=UTC), status=AppointmentStatus.cancelled
    )
    make.appointment(
        make.patient(name="Zed Outsider"), stranger, elsewhere, datetime(2027, 3, 3, 7, 0, tzinfo=UTC)
    )
    login_as(make.hospital_admin(hospital))

    page = client.get("/hospital/appointments")
    assert page.status_code == 200
    assert b"Amina Hassan" in page.data and b"John Mwangi" in page.data
    assert b"Zed Outsider" not in page.data and b"Sam Stranger" not in page.data
    assert b"Wed 09:00\xe2\x80\x9317:00" in page.data  # Dr Okafor's weekly hours

    def names(query: str) -> list[str]:
        html = client.get("/hospital/appointments?" + query, headers={"HX-Request": "true"}).data.decode()
        assert "<html" not in html
        return [n for n in ("Amina Hassan", "John Mwangi", "Zed Outsider") if n in html]

    assert names(f"doctor={okafor.doctor.id}") == ["Amina Hassan"]
    assert names(f"department={cardiology.id}") == ["Amina Hassan"]
    assert names("date=2027-03-04") == ["John Mwangi"]
    assert names("status=cancelled") == ["John Mwangi"]
    assert names(f"doctor={stranger.doctor.id}") == []  # another hospital's doctor: nothing leaks
