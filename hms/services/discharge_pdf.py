"""The printable discharge summary: an A4 PDF of an admission (the hospital, the patient, the stay's
dates and beds, the summary's sections, the attending doctor) in the reader's language (see hms/pdf.py
for fonts and right-to-left layout)."""

from __future__ import annotations

from flask_babel import gettext

from hms.models import Admission
from hms.pdf import Document
from hms.templating import local_date, local_time, zoned_time

DAY = "%d %B %Y"


def discharge_pdf(admission: Admission) -> bytes:
    """The summary of an admission whose discharge is ordered (or done)."""
    doc = Document("A4", margin=18)
    with doc.language():
        _draw(doc, admission)
    return bytes(doc.output())


def _header(doc: Document, admission: Admission) -> None:
    hospital = admission.hospital
    doc.write_line(hospital.name, size=15, bold=True, height=7)
    doc.write_line(", ".join(p for p in (hospital.address, hospital.city) if p), size=9)
    if hospital.phone:
        doc.write_line(gettext("Tel. %(phone)s", phone=hospital.phone), size=9)
    doc.ln(4)
    doc.write_line(gettext("Discharge summary"), size=13, bold=True, height=7)
    tz = hospital.tz
    admitted = zoned_time(admission.admitted_at, tz, DAY) if admission.admitted_at else ""
    doc.write_line(gettext("Admitted: %(when)s", when=admitted))
    if admission.discharged_at:
        doc.write_line(gettext("Discharged: %(when)s", when=zoned_time(admission.discharged_at, tz, DAY)))
    else:
        ordered = zoned_time(admission.discharge_ordered_at, tz, DAY)
        doc.write_line(gettext("Discharge ordered: %(when)s", when=ordered))
    doc.ln(3)


def _people(doc: Document, admission: Admission) -> None:
    patient, doctor = admission.patient, admission.attending_doctor
    half = doc.width / 2
    doc.row(
        [(half, gettext("Patient"), "start"), (half, gettext("Attending doctor"), "start")], 5.5, bold=True
    )
    born = gettext(
        "Born %(date)s · %(sex)s",
        date=local_date(patient.date_of_birth, DAY),
        sex=gettext(patient.sex.value),
    )
    lines = [
        (patient.name, gettext("Dr %(name)s", name=doctor.name)),
        (gettext("MRN %(mrn)s", mrn=patient.mrn), doctor.specialty or ""),
        (born, ""),
    ]
    for left, right in lines:
        doc.row([(half, left, "start"), (half, right, "start")], 5.5)
    doc.ln(4)


def _beds(doc: Document, admission: Admission) -> None:
    doc.write_line(gettext("Wards and beds"), size=11, bold=True, height=6)
    tz = admission.hospital.tz
    for stay in admission.stays:
        until = local_time(stay.ended_at, tz, DAY) if stay.ended_at else ""
        doc.write_line(
            gettext(
                "%(ward)s, bed %(bed)s: %(start)s – %(end)s",
                ward=stay.ward.name,
                bed=stay.bed.label,
                start=local_time(stay.started_at, tz, DAY),
                end=until,
            ),
            size=9.5,
        )
    doc.ln(3)


def _sections(doc: Document, admission: Admission) -> None:
    sections = (
        (gettext("Reason for admission"), admission.reason),
        (gettext("Diagnoses on discharge"), admission.discharge_diagnoses),
        (gettext("Procedures"), admission.discharge_procedures),
        (gettext("Medicines on discharge"), admission.discharge_medicines),
        (gettext("Follow-up advice"), admission.discharge_advice),
    )
    for title, text in sections:
        if not text:
            continue
        doc.write_line(title, size=11, bold=True, height=6)
        doc.write_line(text, size=10)
        doc.ln(2)
    visit = admission.follow_up_appointment
    if visit is not None:
        doc.write_line(gettext("Follow-up visit"), size=11, bold=True, height=6)
        doc.write_line(
            gettext(
                "%(when)s with Dr %(name)s",
                when=zoned_time(visit.start_at, admission.hospital.tz),
                name=visit.doctor.name,
            )
        )


def _draw(doc: Document, admission: Admission) -> None:
    doc.footer_text = gettext("Page %(page)d · issued electronically with HMS")
    doc.set_title(doc.text_of(gettext("Discharge summary of %(name)s", name=admission.patient.name)))
    doc.set_author(doc.text_of(admission.hospital.name))
    doc.add_page()
    _header(doc, admission)
    _people(doc, admission)
    _beds(doc, admission)
    _sections(doc, admission)
    doc.ln(6)
    doc.write_line(gettext("Dr %(name)s", name=admission.attending_doctor.name), bold=True)
