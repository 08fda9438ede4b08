"""Named domain errors that services raise and views turn into messages."""

from __future__ import annotations

from hms.i18n import N_


class DomainError(Exception):
    """A rule refused the operation; `message` is shown to the user, `field` names the input."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class EmailTaken(Invalid):
    def __init__(self) -> None:
        super().__init__(N_("An account with this email already exists."), field="email")


class LoginRefused(DomainError):
    """A login step refused; `retry_after` seconds when the throttle holds this client back."""

    status = 422

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
