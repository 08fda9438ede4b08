"""Claiming a desk-registered account: the desk's invitation by email or SMS, the one-time link's page
(email when the desk had none, password), expired and used links 410, an online patient's email refused
and flagged for a merge, nothing lost or duplicated (the same user row)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AccountClaim, Appointment, OutboxEmail, Sex, StaffKind, User
from hms.models.messaging import Channel
from hms.services import claims, desk, passwords

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _desk_patient(make, phone="+254711000333"):  # type: ignore[no-untyped-def]
    hospital = make.hospital(timezone="Africa/Nairobi")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name="Wanjiku Mwangi",
        sex=Sex.female,
        phone=phone,
        date_of_birth=date(1990, 5, 6),
    )
    db.session.commit()
    return hospital, receptionist, patient


def _link(row: OutboxEmail) -> str:
    return re.search(r"/claim/([A-Za-z0-9_-]+)", row.body).group(1)


def _sent(user_id: int) -> list[OutboxEmail]:
    return list(
        db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.user_id == user_id, OutboxEmail.kind == claims.KIND)
        )
    )


def test_the_desk_sends_an_email_invitation_and_the_patient_claims_his_account(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    visit = make.appointment(patient.user, make.doctor_at(hospital), hospital, NOW + timedelta(days=2))
    login_as(receptionist)
    answer = client.post(f"/staff/desk/patients/{patient.id}/invite", data={"email": "Wanjiku@Example.org"})
    assert answer.status_code == 303
    (mail,) = _sent(patient.user_id)
    assert mail.channel == Channel.email and mail.to == "wanjiku@example.org"
    token = _link(mail)
    claim = db.session.scalar(select(AccountClaim).where(AccountClaim.user_id == patient.user_id))
    assert claim.token_hash == claims.token_hash(token) and token not in claim.token_hash  # hashed at rest
    client.post("/logout")
    users_before = db.session.scalar(select(func.count()).select_from(User))
    assert client.get(f"/claim/{token}").status_code == 303
    page = client.get("/claim")
    assert page.status_code == 200 and b"wanjiku@example.org" in page.data
    assert client.post("/claim", data={"password": "short", "confirm": "short"}).status_code == 422
    done = client.post("/claim", data={"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, patient.user_id)
    assert user.can_log_in and passwords.verify_password(user.password_hash, PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    assert db.session.get(Appointment, visit.id).patient_id == patient.id
    # used: the link answers 410 now
    client.get(f"/claim/{token}")
    assert client.get("/claim").status_code == 410


def test_without_email_the_invitation_goes_by_sms_and_he_gives_his_email(client, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    claims.send_claim_invitation(hospital, patient, receptionist)
    db.session.commit()
    (text,) = _sent(patient.user_id)
    assert text.channel == Channel.sms and text.to == "+254711000333"
    client.get(f"/claim/{_link(text)}")
    page = client.get("/claim")
    assert b'name="email"' in page.data
    assert (
        client.post("/claim", data={"email": "", "password": PASSWORD, "confirm": PASSWORD}).status_code
        == 422
    )
    ok = client.post(
        "/claim", data={"email": "w.mwangi@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert ok.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, patient.user_id).email == "w.mwangi@example.org"


def test_an_expired_link_answers_410(client, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    claims.send_claim_invitation(hospital, patient, receptionist, "late@example.org")
    db.session.commit()
    token = _link(_sent(patient.user_id)[0])
    clock.set_frozen(NOW + timedelta(days=claims.CLAIM_DAYS, minutes=1))
    client.get(f"/claim/{token}")
    assert client.get("/claim").status_code == 410
    assert client.get("/claim/not-a-token").status_code == 303
    assert client.get("/claim").status_code == 404


def test_a_new_link_ends_the_older_one_and_sending_is_rate_limited(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    claims.send_claim_invitation(hospital, patient, receptionist, "a@example.org")
    first = _link(_sent(patient.user_id)[0])
    for _ in range(claims.MAX_CLAIMS_PER_DAY - 1):
        claims.send_claim_invitation(hospital, patient, receptionist)
    db.session.commit()
    with pytest.raises(claims.ClaimLinkGone):
        claims.find_claim(first)
    with pytest.raises(claims.Conflict):
        claims.send_claim_invitation(hospital, patient, receptionist)


def test_an_online_patients_email_is_refused_and_flagged_for_a_merge(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    online = make.patient(email="online@example.org")
    login_as(receptionist)
    client.post(f"/staff/desk/patients/{patient.id}/invite", data={"email": "online@example.org"})
    db.session.expire_all()
    assert patient.duplicate_user_id == online.id and patient.user.email is None
    assert _sent(patient.user_id) == []
    page = client.get(f"/staff/desk/patients/{patient.id}")
    assert b"Possible duplicate" in page.data
    # the same on the claim page when he types that address himself
    other_hospital, other_desk, walk_in = _desk_patient(make, phone="+254711000444")
    claims.send_claim_invitation(other_hospital, walk_in, other_desk)
    db.session.commit()
    client.post("/logout")
    client.get(f"/claim/{_link(_sent(walk_in.user_id)[0])}")
    refused = client.post(
        "/claim", data={"email": "online@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert refused.status_code == 409 and b"registered online" in refused.data
    db.session.expire_all()
    assert walk_in.duplicate_user_id == online.id and walk_in.user.password_hash is None


def test_other_roles_and_hospitals_cannot_send_invitations(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, patient = _desk_patient(make)
    login_as(make.staff(hospital, StaffKind.nurse))
    assert client.post(f"/staff/desk/patients/{patient.id}/invite", data={}).status_code == 403
    login_as(make.staff(make.hospital(), StaffKind.receptionist))
    assert client.post(f"/staff/desk/patients/{patient.id}/invite", data={}).status_code == 404
