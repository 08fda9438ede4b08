"""The security suite: walks every URL rule of the app with every method, as every role, and tries
missing and forged CSRF tokens, other users' ids (IDOR), HTML and script in every text field of every
form it finds, oversized bodies and uploads, and SQL metacharacters in query parameters. None may
answer 500, show another user's data or send script back unescaped.

Each test builds the access matrix's world once and loops over the URLs (fast on every database),
collecting every problem so that one run lists them all."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from werkzeug.routing import Rule

from hms.extensions import db
from hms.services import sessions
from hms.services.notifications import notify
from tests.test_access_matrix import MATRIX

ROLES = ["patient", "doctor", "hospital_admin", "staff", "super_admin"]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Public on purpose: Stripe signs its webhook instead (tests/test_billing_stripe.py).
CSRF_EXEMPT = {"payments.stripe_webhook"}
# The read-only FHIR API takes Bearer tokens only and ignores cookies, so a forged request has no
# credential to ride on (tests/test_fhir_api.py); it refuses writes without reading their bodies.
BEARER_ONLY = "fhir."
# Ids that are not anyone's private data: a doctor's public booking page, a hospital to ask to join.
PUBLIC_IDS = {
    "patient.doctor_page",
    "patient.book",
    "doctor.join_hospital",
    "public.doctor_page",
    "public.continue_booking",
}
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
SQL = ["' OR 1=1 --", "%", "_", "\\", '" OR ""="']
QUERY_NAMES = [
    "q",
    "name",
    "status",
    "doctor",
    "department",
    "date",
    "day",
    "week",
    "start",
    "from",
    "to",
    "page",
    "born",
    "hospital",
    "of",
    "city",
    "specialty",
    "after",
    "before",
    "patient",
    "kind",
]


def _rules(app) -> list[Rule]:  # type: ignore[no-untyped-def]
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _other_ids(make, ids: dict[str, int], users) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """For each URL argument, the id of an object that belongs to someone else."""
    stranger = make.patient()
    other_session, _ = sessions.start_session(stranger, ip=None, user_agent=None)
    other_notice = notify(stranger, "test", "Not yours")
    db.session.commit()
    return {
        "appointment_id": ids["other_appointment"],
        "bill_id": ids["other_bill"],
        "prescription_id": ids["other_prescription"],
        "item_id": ids["other_item"],
        "hospital_id": ids["other_hospital"],
        "encounter_id": ids["other_encounter"],
        "entry_id": ids["other_patient_entry"],
        "patient_id": ids["other_patient_record"],
        "membership_id": ids["other_membership"],
        "rule_id": ids["other_rule"],
        "payment_id": ids["other_payment"],
        "refund_id": ids["other_refund"],
        "department_id": ids["other_department"],
        "notification_id": other_notice.id,
        "session_id": other_session.id,
        "diagnosis_id": ids["other_diagnosis"],
        "invitation_id": ids["other_invitation"],
        "staff_id": ids["other_staff"],
        "admin_id": ids["other_admin"],
        "lab_order_id": ids["other_doctor_lab_order"],
        "test_id": ids["other_lab_test"],
        "range_id": ids["other_lab_range"],
        "panel_id": ids["other_lab_panel"],
    }


def _path(rule: Rule, values: dict[str, int], fallback: int = 999999) -> str | None:
    """The rule's path with its int arguments filled in; None for string arguments (tokens)."""
    path = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        kind = converter.__class__.__name__
        if "Any" in kind:  # <any(a, b):name>: the first choice
            choice = sorted(converter.items)[0] if hasattr(converter, "items") else None
            if choice is None:
                return None
            path = re.sub(r"<any\([^)]*\):" + name + ">", choice, path)
        elif "Int" in kind:
            path = re.sub(r"<int:" + name + ">", str(values.get(name, fallback)), path)
        else:
            return None
    return path


def test_every_state_change_refuses_missing_and_forged_csrf_tokens(app, client, login_as, world):
    problems, tried = [], 0
    for who in ["anonymous", "patient", "hospital_admin"]:
        if who != "anonymous":
            login_as(world["users"][who])
        for rule in _rules(app):
            path = _path(rule, {}) or rule.rule.replace("<token>", "x")
            for method in UNSAFE & set(_methods(rule)):
                for headers in ({}, {"X-CSRFToken": "forged.token.value"}):
                    response = client.open(path, method=method, data={"a": "b"}, headers=headers, csrf=False)
                    tried += 1
                    expected = (
                        response.status_code != 500
                        if rule.endpoint in CSRF_EXEMPT
                        else response.status_code in (401, 405)
                        if rule.endpoint.startswith(BEARER_ONLY)
                        else response.status_code == 400
                    )
                    if not expected:
                        problems.append(f"{who} {method} {path} {headers}: {response.status_code}")
    assert tried >= 3 * 2 * 90  # three kinds of visitor, two kinds of bad token, every unsafe rule
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["patient", "doctor", "hospital_admin", "staff", "super_admin"])
def test_other_peoples_ids_are_404_for_every_url(app, client, login_as, make, world, role):
    others = _other_ids(make, world["ids"], world["users"])
    if role == "patient":
        del others["notification_id"]  # made below for someone else
    login_as(world["users"][role])
    problems, tried = [], 0
    for rule in _rules(app):
        if not any(a.endswith("_id") for a in rule.arguments) or rule.endpoint in PUBLIC_IDS:
            continue
        if role == "super_admin" and rule.endpoint.startswith("super_admin."):
            continue  # the platform's operator sees every hospital, doctor and patient by design
        path = _path(rule, others)
        if path is None:
            continue
        for method in _methods(rule):
            response = client.open(path, method=method, data={"action": "approve", "appointments": "keep"})
            tried += 1
            if response.status_code not in (403, 404):
                problems.append(f"{method} {path} ({rule.endpoint}): {response.status_code}")
    assert tried > 50
    assert not problems, "\n".join(problems)


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields (name → default value; text fields marked)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append({"action": a.get("action") or "", "fields": {}, "text": set()})
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a and name in form["fields"]:
                return
            form["fields"][name] = a.get("value") or ""
            if kind in ("text", "search", "email", "tel", "url"):
                form["text"].add(name)
        elif tag == "textarea" and name:
            form["fields"][name] = ""
            form["text"].add(name)
        elif tag == "select" and name:
            self._select = name
            form["fields"][name] = ""
        elif tag == "option" and self._select and not form["fields"].get(self._select):
            form["fields"][self._select] = a.get("value") or ""

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "select":
            self._select = None


SKIP_FORMS = ("/logout", "/account/sessions/", "/login")


def _pages(role: str, ids: dict[str, int]) -> list[str]:
    pages = ["/account/security", "/notifications/preferences"]
    for method, url, expected, *_ in MATRIX:
        if method == "GET" and expected.get(role, expected.get("*")) == 200 and "{token}" not in url:
            pages.append(url.format(**ids))
    return [p for p in dict.fromkeys(pages) if not p.endswith(".pdf") and not p.endswith(".csv")]


@pytest.mark.parametrize("role", ROLES)
def test_html_and_script_in_every_text_field_come_back_escaped(client, login_as, world, role):
    login_as(world["users"][role])
    problems, posted = [], 0
    for page in _pages(role, world["ids"]):
        response = client.get(page)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        parser = _Forms()
        parser.feed(response.data.decode())
        for form in parser.forms:
            if not form["text"] or form["action"].startswith(SKIP_FORMS):
                continue
            for payload in (SCRIPT, ATTRIBUTE):
                data = dict(form["fields"]) | {name: payload for name in form["text"]}
                data.pop("csrf_token", None)
                answer = client.post(form["action"] or page, data=data)
                posted += 1
                shown = client.get(page)
                for body, what in ((answer, "answer"), (shown, "page after")):
                    if body.status_code >= 500 or b"<script>alert" in body.data or b"<img src=x" in body.data:
                        problems.append(f"{form['action']} from {page}: {what} {body.status_code}")
    assert posted > 0
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("who", ["anonymous", "patient", "hospital_admin"])
def test_oversized_bodies_and_uploads_are_413(app, client, login_as, monkeypatch, world, who):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    if who != "anonymous":
        login_as(world["users"][who])
    problems = []
    for rule in _rules(app):
        path = _path(rule, world["ids"], fallback=1) or rule.rule.replace("<token>", "x")
        for method in UNSAFE & set(_methods(rule)):
            form = client.open(path, method=method, data={"text": "x" * 10_000})
            upload = client.open(
                path,
                method=method,
                data={"file": (io.BytesIO(b"x" * 10_000), "big.pdf")},
                content_type="multipart/form-data",
            )
            allowed = {413, 401, 405} if rule.endpoint.startswith(BEARER_ONLY) else {413}
            for kind, response in (("form", form), ("upload", upload)):
                if response.status_code not in allowed:
                    problems.append(f"{who} {method} {path} {kind}: {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_sql_metacharacters_in_query_parameters_never_break_a_page(app, client, login_as, world, role):
    if role != "anonymous":
        login_as(world["users"][role])
    problems = []
    # The lists and searches: every GET rule without ids (pages of one object take no query).
    paths = [r.rule for r in _rules(app) if not r.arguments and "GET" in r.methods]
    miss = {name: "zzzz-no-such-thing" for name in QUERY_NAMES}
    for path in dict.fromkeys(paths):
        baseline = client.get(path, query_string=miss)
        if baseline.status_code >= 500:
            problems.append(f"{path} baseline: {baseline.status_code}")
        if baseline.status_code in (302, 403, 404):
            continue  # not this role's page: refused before any query runs
        for value in SQL:
            response = client.get(path, query_string={name: value for name in QUERY_NAMES})
            if response.status_code >= 500:
                problems.append(f"{path} {value!r}: {response.status_code}")
            elif response.data.count(b"<tr") > baseline.data.count(b"<tr"):
                # A pattern taken literally matches nothing, like the plain miss: no more rows.
                problems.append(f"{path} {value!r}: more rows than a miss")
    assert not problems, "\n".join(problems)
