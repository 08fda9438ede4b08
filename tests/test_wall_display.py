"""The wall screen's secret link: a hospital administrator makes it (shown once), it shows today's board
without a login, reduced to queue numbers, initials and states (no full names, no doctors, no reasons),
polls cheaply (304), and stops working when revoked or replaced; a staff session never has to be kept
alive on an unattended screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from hms import clock
from hms.extensions import db
from hms.models import QueuePriority, StaffKind
from hms.services import flow, wall_display

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 08:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


@pytest.fixture
def day(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Grace Otieno")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    admin = make.hospital_admin(hospital)
    for name, priority in (
        ("Baraka Otieno Mwangi", QueuePriority.normal),
        ("Halima Mohamed", QueuePriority.urgent),
    ):
        flow.join_queue(
            hospital=hospital,
            patient=make.patient(name=name).patient,
            actor=receptionist,
            doctor_id=doctor.doctor.id,
            priority=priority,
            reason="Chest pain since this morning",
        )
    db.session.commit()
    return hospital, admin


def make_link(client, login_as, admin) -> str:  # type: ignore[no-untyped-def]
    login_as(admin)
    page = client.post("/hospital/flow/display", data={"action": "new"}).get_data(as_text=True)
    address = re.search(r'id="wall-address" value="[^"]*(/display/[^"]+)"', page).group(1)
    return address


def test_initials_are_first_and_last_letters():
    assert wall_display.initials("Baraka Otieno Mwangi") == "B. M."
    assert wall_display.initials("Halima") == "H."
    assert wall_display.initials("  ") == "—"


def test_the_wall_shows_numbers_initials_and_states_without_login_and_no_names(app, client, login_as, day):
    hospital, admin = day
    address = make_link(client, login_as, admin)
    fresh = app.test_client()  # a screen nobody logged in on
    response = fresh.get(address)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "B. M." in html and "H. M." in html and hospital.name in html
    for private in ("Baraka", "Otieno Mwangi", "Halima", "Mohamed", "Grace Otieno", "Chest pain", "/staff/"):
        assert private not in html, private
    assert html.index("H. M.") < html.index("B. M.")  # the urgent one first
    assert response.headers["Cache-Control"] == "no-store"
    assert 'hx-trigger="every 5s"' in html


def test_an_unchanged_wall_poll_is_a_304_with_no_body(app, client, login_as, day):
    _hospital, admin = day
    address = make_link(client, login_as, admin)
    screen = app.test_client()
    first = screen.get(address + "/board", headers=HX)
    assert first.status_code == 200 and "<html" not in first.get_data(as_text=True)
    again = screen.get(address + "/board", headers={**HX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert screen.get(address + "/board").status_code == 303  # without htmx: the page itself


def test_a_revoked_or_replaced_link_stops_working(app, client, login_as, day):
    _hospital, admin = day
    old = make_link(client, login_as, admin)
    new = make_link(client, login_as, admin)
    screen = app.test_client()
    assert screen.get(old).status_code == 404 and screen.get(new).status_code == 200
    login_as(admin)
    page = client.get("/hospital/flow/display").get_data(as_text=True)
    assert "A wall-screen link is active since" in page and "/display/wall_" not in page  # shown once only
    assert client.post("/hospital/flow/display", data={"action": "revoke"}).status_code == 303
    assert screen.get(new).status_code == 404
    assert screen.get(new + "/board", headers=HX).status_code == 404
    assert screen.get("/display/wall_guess").status_code == 404


def test_a_link_is_not_an_api_token_and_only_an_administrator_makes_one(app, client, login_as, day, make):
    hospital, admin = day
    address = make_link(client, login_as, admin)
    secret = address.rsplit("/", 1)[1]
    screen = app.test_client()
    assert screen.get("/fhir/Patient", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    login_as(make.staff(hospital, StaffKind.receptionist))
    assert client.post("/hospital/flow/display", data={"action": "new"}).status_code == 403


def test_a_wall_poll_reads_a_fixed_few_statements_and_writes_nothing(app, client, login_as, day, make):
    """The link (its admin and hospital joined), the board's stamp, and for a changed board its cards:
    the same for 2 patients as for 12; an unchanged poll never reads the cards."""
    from tests.statements import recorded

    hospital, admin = day
    address = make_link(client, login_as, admin)
    screen = app.test_client()

    def poll(etag: str = "") -> list[str]:
        screen.get(address + "/board", headers=HX)
        with recorded() as seen:
            response = screen.get(address + "/board", headers={**HX, "If-None-Match": etag} if etag else HX)
        assert response.status_code == (304 if etag else 200)
        return seen

    few = poll()
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="17:00")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    for _n in range(10):
        flow.join_queue(
            hospital=hospital, patient=make.patient().patient, actor=receptionist, doctor_id=doctor.doctor.id
        )
    db.session.commit()
    many = poll()
    assert len(many) == len(few) <= 3, "\n".join(s[:200] for s in many)
    etag = screen.get(address + "/board", headers=HX).headers["ETag"]
    unchanged = poll(etag)
    assert len(unchanged) <= 2, unchanged
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in many + unchanged)
