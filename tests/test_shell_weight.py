"""The app shell (header, navigation drawn as a bar and as a phone menu, bell, account menu) costs at
most 2 KB compressed on any role's page: measured as what the page loses, gzipped, without it."""

from __future__ import annotations

import gzip
import re

import pytest

from hms.models import StaffKind

BUDGET = 2048  # bytes, gzip -9 (what a slow network carries)
SHELL = re.compile(r'<header class="shell".*?</header>', re.S)


def _gzipped(text: str) -> int:
    return len(gzip.compress(text.encode(), compresslevel=9))


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("anonymous", "/"),
        ("patient", "/patient/"),
        ("doctor", "/doctor/"),
        ("hospital_admin", "/hospital/"),
        ("receptionist", "/staff/"),
        ("pharmacist", "/staff/"),
        ("lab_technician", "/staff/lab"),
        ("super_admin", "/admin/"),
    ],
)
def test_the_shell_adds_at_most_2_kb_compressed(client, make, login_as, role, path):
    hospital = make.hospital()
    users = {
        "patient": lambda: make.patient(),
        "doctor": lambda: make.doctor_at(hospital),
        "hospital_admin": lambda: make.hospital_admin(hospital),
        "receptionist": lambda: make.staff(hospital, StaffKind.receptionist),
        "pharmacist": lambda: make.staff(hospital, StaffKind.pharmacist),
        "lab_technician": lambda: make.lab_technician(hospital),
        "super_admin": lambda: make.super_admin(),
    }
    if role != "anonymous":
        login_as(users[role]())
    page = client.get(path)
    assert page.status_code == 200
    html = page.data.decode()
    shell = SHELL.search(html)
    assert shell, "the page has no app shell"
    assert "<nav" in shell.group(0)  # the measure is of the real navigation, not an empty header
    added = _gzipped(html) - _gzipped(SHELL.sub("", html))
    assert 0 < added <= BUDGET, f"{role}: the shell adds {added} bytes compressed (budget {BUDGET})"
