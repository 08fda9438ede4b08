"""Text messages through Twilio's REST API (plain `requests`, no SDK), and each hospital's settings."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import requests
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from hms.extensions import db
from hms.i18n import N_
from hms.models import Hospital, User
from hms.services.audit import record_event
from hms.services.errors import Invalid

MAX_SMS_LENGTH = 320  # two segments; longer notices are cut (the email carries the full text)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str
    from_number: str


class SmsError(Exception):
    """Sending failed; `permanent` says whether trying again could help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


# ---------------------------------------------------------------- secrets at rest


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hms sms credentials").derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    """Encrypt a provider token for the database (key derived from SECRET_KEY)."""
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The token, or None when it cannot be read (e.g. SECRET_KEY was changed since)."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


# ---------------------------------------------------------------- settings


def e164(phone: str | None) -> str | None:
    """A phone number in E.164 form (+254700000001), or None when it is not in international form."""
    if not phone:
        return None
    digits = re.sub(r"[ ()\-.]", "", phone.strip())
    return digits if _E164.match(digits) else None


def user_phone(user: User) -> str | None:
    """Where to text this user: the patient's phone in international form (others have none yet)."""
    return e164(user.patient.phone) if user.patient is not None else None


def credentials_for(hospital_id: int | None) -> Credentials | None:
    """The hospital's own Twilio account when it has one, else the platform's (config), else None."""
    if hospital_id is not None:
        hospital = db.session.get(Hospital, hospital_id)
        if hospital is not None and hospital.sms_account_sid and hospital.sms_auth_token_sealed:
            token = unseal(hospital.sms_auth_token_sealed)
            if token and hospital.sms_from_number:
                return Credentials(hospital.sms_account_sid, token, hospital.sms_from_number)
    cfg = current_app.config
    if cfg.get("TWILIO_ACCOUNT_SID") and cfg.get("TWILIO_AUTH_TOKEN") and cfg.get("TWILIO_FROM_NUMBER"):
        return Credentials(cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"], cfg["TWILIO_FROM_NUMBER"])
    return None


def configure_hospital_sms(
    hospital: Hospital, *, account_sid: str, auth_token: str, from_number: str, actor: User
) -> Hospital:
    """Set the hospital's Twilio account; an empty token keeps the one already saved."""
    account_sid = account_sid.strip()
    if not _ACCOUNT_SID.match(account_sid):
        raise Invalid(N_("An account SID is AC followed by 32 hexadecimal characters."), field="account_sid")
    number = e164(from_number)
    if number is None:
        raise Invalid(N_("Give the sending number in international form, e.g. +254700000000."), "from_number")
    token = auth_token.strip()
    if not token and not hospital.sms_auth_token_sealed:
        raise Invalid(N_("Enter the auth token."), field="auth_token")
    if token:
        if not re.fullmatch(r"[0-9A-Za-z]{16,64}", token):
            raise Invalid(N_("An auth token is 32 letters and digits."), field="auth_token")
        hospital.sms_auth_token_sealed = seal(token)
    hospital.sms_account_sid = account_sid
    hospital.sms_from_number = number
    db.session.flush()
    record_event("update", "hospital_sms", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    return hospital


def disable_hospital_sms(hospital: Hospital, actor: User) -> Hospital:
    hospital.sms_account_sid = hospital.sms_auth_token_sealed = hospital.sms_from_number = None
    db.session.flush()
    record_event("delete", "hospital_sms", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    return hospital


# ---------------------------------------------------------------- sending


def send_text(credentials: Credentials, to: str, body: str) -> str:
    """Send one text message; returns Twilio's message SID or raises SmsError."""
    cfg = current_app.config
    url = f"{cfg['TWILIO_API_BASE']}/2010-04-01/Accounts/{credentials.account_sid}/Messages.json"
    try:
        response = requests.post(
            url,
            data={"To": to, "From": credentials.from_number, "Body": body[:MAX_SMS_LENGTH]},
            auth=(credentials.account_sid, credentials.auth_token),
            timeout=cfg["SMS_TIMEOUT_SECONDS"],
        )
    except requests.RequestException as error:
        raise SmsError(f"SMS provider unreachable: {error.__class__.__name__}", permanent=False) from error
    if response.status_code in (200, 201):
        try:
            return str(response.json().get("sid", ""))[:64]
        except ValueError:
            return ""
    try:
        detail = response.json()
        reason = f"{detail.get('code', '')} {detail.get('message', '')}".strip()
    except ValueError:
        reason = response.text[:200]
    # 4xx other than rate limiting and authentication is about this message (a bad number): final.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (401, 403, 408, 429)
    raise SmsError(f"SMS provider answered {response.status_code}: {reason}"[:500], permanent=permanent)
