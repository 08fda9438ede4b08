"""Words that pages show from stored values (`{{ _(appointment.status.value) }}`), marked here so that
`make translations` extracts them. tests/test_i18n.py fails when an enum of hms.models gains a value
that is not listed."""

from __future__ import annotations

from hms.i18n import N_

ENUM_VALUES = [
    # statuses
    N_("booked"), N_("arrived"), N_("fulfilled"), N_("cancelled"), N_("noshow"),
    N_("draft"), N_("issued"), N_("paid"), N_("refunded"), N_("pending"), N_("succeeded"), N_("failed"),
    N_("active"), N_("inactive"), N_("suspended"), N_("requested"), N_("superseded"),
    N_("accepted"), N_("expired"), N_("revoked"), N_("sent"),
    # kinds
    N_("mild"), N_("moderate"), N_("severe"),
    N_("condition"), N_("allergy"), N_("medication"), N_("procedure"), N_("family-history"),
    N_("consultation"), N_("medicine"), N_("room"), N_("other"),
    N_("online"), N_("cash"), N_("card"), N_("stripe"), N_("desk"), N_("email"), N_("sms"),
    N_("patient"), N_("practitioner"), N_("doctor"), N_("hospital_admin"), N_("super_admin"), N_("staff"),
    N_("female"), N_("male"), N_("unknown"),
    N_("nurse"), N_("receptionist"), N_("pharmacist"), N_("lab_technician"),
    N_("supply"), N_("receive"), N_("dispense"), N_("adjust"), N_("transfer_out"),
    N_("api"), N_("calendar"), N_("display"),
    # how hms.templating.state_word says some of them
    N_("done"), N_("no-show"),
    # the patient flow (hms.models.flow): states and priorities
    N_("waiting"), N_("triage"), N_("ready"), N_("left"), N_("normal"), N_("urgent"), N_("emergency"),
    # the laboratory (hms.models.lab): specimens, result kinds, priorities, states, flags, bill lines
    N_("blood"), N_("serum"), N_("plasma"), N_("urine"), N_("stool"), N_("swab"), N_("sputum"), N_("csf"),
    N_("numeric"), N_("choice"), N_("text"), N_("routine"), N_("stat"),
    N_("ordered"), N_("collected"), N_("resulted"), N_("verified"),
    N_("registered"), N_("preliminary"), N_("final"), N_("amended"),
    N_("L"), N_("H"), N_("LL"), N_("HH"), N_("lab"),
    # inpatient care (hms.models.inpatient): ward kinds, bed and admission states, note kinds
    N_("general"), N_("surgical"), N_("icu"), N_("maternity"), N_("paediatric"), N_("isolation"),
    N_("free"), N_("occupied"), N_("cleaning"), N_("out_of_service"),
    N_("admitted"), N_("discharge_ordered"), N_("discharged"), N_("progress"), N_("nursing"),
]  # fmt: skip

# The same words as some pages print them (`value.capitalize()`, `label.capitalize()`).
CAPITALIZED = [
    N_("Female"), N_("Male"), N_("Other"), N_("Unknown"),
    N_("Consultation"), N_("Procedure"), N_("Medicine"), N_("Room"), N_("Lab"),
    N_("Draft"), N_("Pending"), N_("Paid"), N_("Cancelled"), N_("Refunded"),
    N_("Nurse"), N_("Receptionist"), N_("Pharmacist"), N_("Lab technician"),
]  # fmt: skip

# Audit actions and outcomes on the patient's "Record access" page.
AUDIT_WORDS = [
    N_("view"), N_("create"), N_("update"), N_("delete"), N_("download"), N_("accept"), N_("activate"),
    N_("request"), N_("withdraw"), N_("success"), N_("denied"), N_("failure"), N_("received"),
]  # fmt: skip
