"""Form pieces shared by every blueprint: validators and the bare CSRF form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from babel.numbers import get_currency_name, list_currencies
from flask_wtf import FlaskForm
from wtforms import ValidationError

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.services.errors import DomainError
from hms.services.passwords import password_problem

T = TypeVar("T")


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state."""


def valid_timezone(form: FlaskForm, field) -> None:  # type: ignore[no-untyped-def]
    value = (field.data or "").strip()
    if value not in available_timezones():
        raise ValidationError(
            N_("Unknown time zone. Use an IANA name such as Asia/Kolkata or Europe/Berlin.")
        )
    ZoneInfo(value)
    field.data = value


def valid_currency(form: FlaskForm, field) -> None:  # type: ignore[no-untyped-def]
    value = (field.data or "").strip().upper()
    if len(value) != 3 or value not in list_currencies():
        raise ValidationError(N_("Unknown currency. Use a three-letter ISO 4217 code such as USD or INR."))
    get_currency_name(value)
    field.data = value


def not_in_future(form: FlaskForm, field) -> None:  # type: ignore[no-untyped-def]
    if field.data and field.data > clock.now().date():
        raise ValidationError(N_("The date cannot be in the future."))


def plausible_birth_date(form: FlaskForm, field) -> None:  # type: ignore[no-untyped-def]
    not_in_future(form, field)
    if field.data and field.data.year < 1890:
        raise ValidationError(N_("Enter a real date of birth."))


def strong_password(email_field: str = "email"):  # type: ignore[no-untyped-def]
    def check(form: FlaskForm, field) -> None:  # type: ignore[no-untyped-def]
        email = getattr(form, email_field).data or ""
        problem = password_problem(field.data or "", email)
        if problem:
            raise ValidationError(problem)

    return check


def attach_error(form: FlaskForm, error) -> None:  # type: ignore[no-untyped-def]
    """Show a DomainError on the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


@dataclass(frozen=True)
class Submitted(Generic[T]):
    """What `submit` did: `done` with the action's `value`, or refused with the HTTP `status`."""

    done: bool
    value: T | None = None
    status: int = 200


def submit(form: FlaskForm, action: Callable[[], T]) -> Submitted[T]:
    """The form flow every state change shares: validate `form`, run `action`, commit. A refusal of
    the rules (DomainError) is rolled back and shown on the form with its status (422 for bad input)."""
    if not form.validate_on_submit():
        return Submitted(False, status=422)
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return Submitted(False, status=error.status)
    db.session.commit()
    return Submitted(True, value)
