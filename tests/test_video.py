"""Video calls: the window (10 minutes before until the end), the participants only, and the
signalling relay (what one side posts, only the other side fetches)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, VideoSignal
from hms.services import consultations

START = datetime(2030, 1, 8, 6, 0, tzinfo=UTC)
OFFER = {"from": "p1", "to": "d1", "description": {"type": "offer", "sdp": "v=0\r\n"}}


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(START - timedelta(minutes=5))
    hospital = make.hospital()
    return make.appointment(
        make.patient(name="Amina Hassan"),
        make.doctor_at(hospital, name="Chinedu Okafor"),
        hospital,
        start_at=START,
    )


def signal_url(appointment) -> str:  # type: ignore[no-untyped-def]
    return f"/appointments/{appointment.id}/video/signals"


def post_signal(client, appointment, kind: str, payload, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(signal_url(appointment), json={"kind": kind, "payload": payload}, **kwargs)


def test_the_call_opens_ten_minutes_before_and_closes_at_the_end(client, login_as, visit):
    login_as(visit.patient.user)
    clock.set_frozen(START - timedelta(minutes=11))
    early = client.get(f"/appointments/{visit.id}/video")
    assert early.status_code == 200
    assert b'id="video-call"' not in early.data and b"The call opens at Tue 08 Jan, 08:50 EAT" in early.data
    assert b"Join video call" not in client.get(f"/appointments/{visit.id}/chat").data
    clock.set_frozen(START - timedelta(minutes=10))
    page = client.get(f"/appointments/{visit.id}/video")
    assert b'id="video-call"' in page.data and b'data-connection-state="new"' in page.data
    assert b"/static/js/video.js" in page.data
    assert b"Join video call" in client.get(f"/appointments/{visit.id}/chat").data
    assert b"Join video call" in client.get("/consultations/").data
    clock.set_frozen(visit.end_at)
    late = client.get(f"/appointments/{visit.id}/video")
    assert b'id="video-call"' not in late.data and b"This call is over" in late.data
    # A call in progress may run over for a while: its signalling still passes, then no more.
    assert post_signal(client, visit, "offer", OFFER).status_code == 201
    clock.set_frozen(visit.end_at + timedelta(minutes=30))
    assert post_signal(client, visit, "offer", OFFER).status_code == 409
    assert client.get(signal_url(visit) + "?after=0").get_json()["open"] is False


def test_the_waiting_page_reloads_itself_when_the_call_opens(client, login_as, visit):
    login_as(visit.patient.user)
    headers = {"HX-Request": "true"}
    clock.set_frozen(START - timedelta(minutes=30))
    waiting = client.get(f"/appointments/{visit.id}/video", headers=headers)
    assert waiting.status_code == 204 and "HX-Refresh" not in waiting.headers
    clock.set_frozen(START - timedelta(minutes=9))
    ready = client.get(f"/appointments/{visit.id}/video", headers=headers)
    assert ready.status_code == 204 and ready.headers["HX-Refresh"] == "true"


def test_joining_is_audited_and_ice_servers_come_from_config(app, client, login_as, visit, monkeypatch):
    servers = [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "c"}]
    monkeypatch.setitem(app.config, "VIDEO_ICE_SERVERS", servers)
    login_as(visit.doctor.user)
    page = client.get(f"/appointments/{visit.id}/video").data.decode()
    assert 'data-ice-servers="[{&#34;urls&#34;: &#34;turn:turn.example.org:3478&#34;' in page
    assert 'data-role="doctor"' in page
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "video_call")).all()
    assert (event.action, event.record_id, event.user_id) == ("join", visit.id, visit.doctor.user.id)


def test_signals_go_to_the_other_participant_only(app, client, login_as, visit):
    patient_client = login_as(visit.patient.user)
    doctor_client = login_as(visit.doctor.user, on=app.test_client())
    assert post_signal(patient_client, visit, "offer", OFFER).status_code == 201
    assert (
        post_signal(
            patient_client, visit, "candidate", {"from": "p1", "candidate": {"candidate": ""}}
        ).status_code
        == 201
    )
    mine = patient_client.get(signal_url(visit) + "?after=0").get_json()
    assert mine == {"open": True, "signals": []}
    theirs = doctor_client.get(signal_url(visit) + "?after=0").get_json()
    assert [s["kind"] for s in theirs["signals"]] == ["offer", "candidate"]
    assert theirs["signals"][0]["payload"] == OFFER
    first_id = theirs["signals"][0]["id"]
    later = doctor_client.get(signal_url(visit) + f"?after={first_id}").get_json()
    assert [s["kind"] for s in later["signals"]] == ["candidate"]
    assert doctor_client.get(signal_url(visit) + "?after=nonsense").status_code == 200


def test_a_third_person_cannot_join_or_listen(app, client, make, login_as, visit):
    login_as(visit.patient.user)
    post_signal(client, visit, "offer", OFFER)
    for outsider in (make.patient(), make.doctor_at(visit.hospital)):
        other = login_as(outsider, on=app.test_client())
        assert other.get(f"/appointments/{visit.id}/video").status_code == 404
        assert other.get(signal_url(visit) + "?after=0").status_code == 404
        assert post_signal(other, visit, "answer", OFFER).status_code == 404
    admin = login_as(make.hospital_admin(visit.hospital), on=app.test_client())
    assert admin.get(f"/appointments/{visit.id}/video").status_code == 403
    assert db.session.scalar(select(func.count(VideoSignal.id))) == 1


def test_bad_signals_are_refused(client, login_as, visit):
    login_as(visit.patient.user)
    assert post_signal(client, visit, "shell", {}).status_code == 422
    assert post_signal(client, visit, "offer", {"sdp": "x" * 17_000}).status_code == 422
    assert post_signal(client, visit, "offer", {"sdp": "x" * 30_000}).status_code == 413
    assert client.post(signal_url(visit), data="not json", content_type="application/json").status_code == 400
    assert client.post(signal_url(visit), json=["offer"]).status_code == 400
    assert client.post(signal_url(visit), json={"kind": 5}).status_code == 400
    assert post_signal(client, visit, "offer", OFFER, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count(VideoSignal.id))) == 0


def test_no_call_for_a_cancelled_appointment(client, login_as, visit):
    visit.status = AppointmentStatus.cancelled
    visit.active_slot = None
    db.session.commit()
    login_as(visit.patient.user)
    assert b'id="video-call"' not in client.get(f"/appointments/{visit.id}/video").data
    assert post_signal(client, visit, "hello", {"from": "p1"}).status_code == 409


def test_signalling_is_rate_limited(client, login_as, visit):
    login_as(visit.patient.user)
    for _ in range(consultations.SIGNALS_PER_MINUTE):
        db.session.add(
            VideoSignal(
                appointment_id=visit.id,
                sender_id=visit.patient.user.id,
                kind="candidate",
                payload=json.dumps({}),
                created_at=clock.now(),
            )
        )
    db.session.commit()
    assert post_signal(client, visit, "candidate", {}).status_code == 409


def test_the_worker_drops_old_signals(client, login_as, visit):
    login_as(visit.patient.user)
    post_signal(client, visit, "hello", {"from": "p1"})
    clock.set_frozen(START + timedelta(days=2))
    assert consultations.purge_signals() == 1
    db.session.commit()
    assert db.session.scalar(select(func.count(VideoSignal.id))) == 0


def test_appointment_pages_lead_to_the_chat_and_the_call(app, client, login_as, visit):
    login_as(visit.patient.user)
    page = client.get(f"/patient/appointments/{visit.id}").data.decode()
    assert f'href="/appointments/{visit.id}/chat"' in page
    assert f'href="/appointments/{visit.id}/video"' in page  # five minutes before: open
    doctor = login_as(visit.doctor.user, on=app.test_client())
    agenda = doctor.get("/doctor/agenda?day=2030-01-08").data.decode()
    assert f'href="/appointments/{visit.id}/video"' in agenda
    clock.set_frozen(START - timedelta(hours=2))
    assert (
        f'href="/appointments/{visit.id}/video"'
        not in client.get(f"/patient/appointments/{visit.id}").data.decode()
    )


def test_the_call_page_needs_no_inline_script_and_talks_only_to_its_own_origin(client, login_as, visit):
    login_as(visit.patient.user)
    response = client.get(f"/appointments/{visit.id}/video")
    html = response.data.decode()
    for tag in html.split("<script")[1:]:
        assert "src=" in tag.split(">")[0]
    assert " style=" not in html and "hx-on" not in html
    assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
