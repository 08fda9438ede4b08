"""Domain events (blinker signals, as Indico does). Services send them inside the transaction of the
change; subscribers (billing, notifications, email outbox) add their rows to that same transaction.
Subscribers connect in their module's `connect_subscribers()`, called from create_app."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the Appointment; kwargs: actor (User)
appointment_booked = _signals.signal("appointment-booked")
# sender: the Appointment; kwargs: actor (User), reason (str)
appointment_cancelled = _signals.signal("appointment-cancelled")
# sender: the new Appointment; kwargs: old (Appointment), actor (User)
appointment_rescheduled = _signals.signal("appointment-rescheduled")
# sender: the Appointment; kwargs: actor (User), status (AppointmentStatus)
appointment_status_changed = _signals.signal("appointment-status-changed")
# sender: the Hospital; kwargs: actor (User), status (HospitalStatus)
hospital_status_changed = _signals.signal("hospital-status-changed")
