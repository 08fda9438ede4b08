"""Fuzz: no input answers 5xx, ever.

For every role, every GET rule of `app.url_map` (its ids filled from the world, where the role's own
objects are) and every POST form found on those pages, with a valid session and CSRF token, typed nasty
values are sent: integer overflows, whitespace, far and impossible dates, bad enums, long and odd
unicode, NUL, missing and repeated fields. The query names are those the views read (recorded through
hms/query.py while the pages are discovered) and those of the pages' GET forms; the POST fields are
the forms'. Nothing here is a hand-kept list of URLs or fields.

Two passes per role: a fixed sweep (every page × every name, every form × every field, each with a
nasty value, plus each form with its fields missing and repeated) and a Hypothesis search over
combinations within a fixed budget of examples (HMS_FUZZ_EXAMPLES, default 120 per role and kind;
derandomized, so CI runs the same examples every time). Every POST runs in a savepoint that is rolled
back, so each starts from the same world. A 5xx fails with the requests that caused it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from hms import query
from tests.conftest import _Binding

ROLES = ["patient", "doctor", "hospital_admin", "staff", "super_admin"]
EXAMPLES = int(os.environ.get("HMS_FUZZ_EXAMPLES", "120"))
NASTY = [
    "2147483648",
    "-2147483649",
    "99999999999999999999",
    "9223372036854775808",
    "-1",
    "0",
    " ",
    "\t\n ",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "2026-13-01",
    "24:61",
    "banana",
    "+",
    "%",
    "' OR 1=1 --",
    "١٢٣",
    "NaN",
    "Infinity",
    "1e400",
    "x" * 5000,
    "\u202eمرحبا\u200f",
    "😀" * 40,
    "a\x00b",
    "",
]
# One of each class, sent in every field of every form and every name of every page at once.
CLASSES = [
    " ",
    "2147483648",
    "-99999999999999999999",
    "9999-12-31",
    "2026-02-30",
    "banana",
    "1e400",
    "\u202eمرحبا😀" * 300,
    "a\x00b",
    "",
]
# Which of the world's objects fills an id of a URL: the role's own (a stranger's is the access matrix's).
OWN = {
    "appointment_id": ["appointment", "fresh_appointment"],
    "bill_id": ["own_bill", "own_draft"],
    "encounter_id": ["encounter"],
    "diagnosis_id": ["diagnosis"],
    "prescription_id": ["draft", "issued"],
    "entry_id": ["doctor_entry", "patient_entry"],
    "hospital_id": ["hospital"],
    "doctor_id": ["doctor"],
    "membership_id": ["membership"],
    "notification_id": ["patient_notice"],
    "patient_id": ["patient_record"],
    "payment_id": ["own_payment"],
    "refund_id": ["own_refund"],
    "report_id": ["own_report", "platform_report"],
    "rule_id": ["own_rule"],
    "department_id": ["department"],
    "invitation_id": ["invitation"],
    "staff_id": ["staff"],
    "admin_id": ["second_admin"],
    "lab_order_id": ["doctor_lab_order", "verified_lab_order"],
    "lab_item_id": ["doctor_lab_item"],
    "lab_result_id": ["doctor_lab_result"],
    "test_id": ["lab_test"],
    "range_id": ["lab_range"],
    "panel_id": ["lab_panel"],
    "result_id": ["doctor_lab_result"],
}


def _paths(rule: Rule, ids: dict) -> list[str]:
    """The rule's path(s) with the world's own objects in it (ids it has no object for: 1)."""
    paths = []
    for pick in (0, 1):
        path = rule.rule
        for name in rule.arguments:
            converter = rule._converters[name]  # noqa: SLF001
            if "Any" in type(converter).__name__:
                value = sorted(converter.items)[0] if hasattr(converter, "items") else "x"
            elif name == "token":
                value = ids["registration_token"] if "register" in rule.rule else ids["token"]
            elif name == "item_id":
                value = ids["stock_item"] if "inventory" in rule.rule else ids["item"]
            else:
                keys = OWN.get(name, [])
                value = ids[keys[min(pick, len(keys) - 1)]] if keys else 1
            path = re.sub(r"<(?:[^<>]*:)?" + name + ">", str(value), path)
        paths.append(path)
    return list(dict.fromkeys(paths))


class _Forms(HTMLParser):
    """A page's forms: method, action and fields (name → the value the page sets)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").lower()
            action = a.get("action") or a.get("hx-post") or a.get("hx-get") or ""
            self.forms.append({"method": method, "action": action, "fields": {}})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a and name in fields:
                return
            fields[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
            fields[name] = ""
        elif tag == "option" and self._select and not fields.get(self._select):
            fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "select":
            self._select = None


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever happens inside is undone (a savepoint of the test's transaction)."""
    savepoint = _Binding.connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


class Fuzzer:
    """One role's pages, the names they read and their forms, and the problems found."""

    def __init__(self, app, client, login_as, world, role, monkeypatch):  # type: ignore[no-untyped-def]
        self.client, self.role = client, role
        self.user = world["users"][role]
        self.login = lambda: login_as(self.user)
        self.problems: list[str] = []
        self.tried = 0
        self.pages: dict[str, set[str]] = {}  # path → query names
        self.forms: list[tuple[str, dict]] = []  # (action, fields) of POST forms
        read: set[str] = set()
        real_raw = query._raw  # noqa: SLF001

        def recording_raw(name: str) -> str | None:
            read.add(name)
            return real_raw(name)

        monkeypatch.setattr(query, "_raw", recording_raw)
        for key in ("LOGIN_RATE_LIMIT", "BOOKING_RATE_LIMIT", "PAYMENT_RATE_LIMIT"):
            monkeypatch.setitem(app.config, key, "100000 per minute")
        self.login()
        rules = [
            r
            for r in app.url_map.iter_rules()
            if "GET" in r.methods and r.endpoint != "static" and not r.endpoint.startswith("fhir.")
        ]
        for rule in rules:
            for path in _paths(rule, world["ids"]):
                read.clear()
                response = self.client.get(path)
                self._check("GET", path, {}, response)
                if response.status_code != 200:
                    continue
                names = set(read)
                if response.mimetype == "text/html":
                    parser = _Forms()
                    parser.feed(response.get_data(as_text=True))
                    for form in parser.forms:
                        if form["method"] == "get":
                            names |= set(form["fields"])
                        elif not form["action"].startswith("/logout"):
                            self.forms.append((form["action"] or path, form["fields"]))
                self.pages[path] = names
        self.forms = list({(a, tuple(sorted(f))): (a, f) for a, f in self.forms}.values())

    def _check(self, method: str, path: str, data, response) -> None:  # type: ignore[no-untyped-def]
        self.tried += 1
        if response.status_code >= 500:
            shown = data if isinstance(data, dict) else list(data.items(multi=True))
            self.problems.append(f"{self.role} {method} {path} {shown!r:.300}: {response.status_code}")

    def get(self, path: str, params: list[tuple[str, str]]) -> None:
        self._check("GET", path, dict(params), self.client.get(path, query_string=params))

    def post(self, action: str, data: MultiDict) -> None:
        with rolled_back():
            self.login()
            data.pop("csrf_token", None)
            self._check("POST", action, data, self.client.post(action, data=data))


def _value(i: int) -> str:
    return NASTY[i % len(NASTY)]


@pytest.fixture
def fuzzer(app, client, login_as, world, monkeypatch, request):  # type: ignore[no-untyped-def]
    return Fuzzer(app, client, login_as, world, request.param, monkeypatch)


@pytest.mark.parametrize("fuzzer", ROLES, indirect=True)
def test_every_query_value_of_every_page_answers_without_a_5xx(fuzzer):
    assert len(fuzzer.pages) > 5 and any(fuzzer.pages.values())
    pages = sorted(fuzzer.pages.items())
    for n, (path, names) in enumerate(pages):
        for value in CLASSES if names else ():
            fuzzer.get(path, [(name, value) for name in sorted(names)])
        for k, name in enumerate(sorted(names)):
            fuzzer.get(path, [(name, _value(n + k))])
            fuzzer.get(path, [(name, _value(n + k + 7)), (name, _value(n + k + 13))])  # repeated
    searchable = [(p, sorted(ns)) for p, ns in pages if ns]
    nasty = st.one_of(
        st.sampled_from(NASTY),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
        st.text(max_size=120),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def combinations(data):  # type: ignore[no-untyped-def]
        path, names = data.draw(st.sampled_from(searchable))
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
        fuzzer.get(path, [(name, data.draw(nasty)) for name in chosen])

    combinations()
    print(f"{fuzzer.role}: {fuzzer.tried} requests, {len(fuzzer.pages)} pages, {len(fuzzer.forms)} forms")
    assert not fuzzer.problems, "\n".join(fuzzer.problems)


@pytest.mark.parametrize("fuzzer", ROLES, indirect=True)
def test_every_field_of_every_form_answers_without_a_5xx(fuzzer):
    assert fuzzer.forms
    for n, (action, fields) in enumerate(fuzzer.forms):
        names = [k for k in fields if k != "csrf_token"]
        for value in CLASSES if names else ():
            fuzzer.post(action, MultiDict(dict.fromkeys(names, value)))
        for k, name in enumerate(names):
            fuzzer.post(action, MultiDict(fields | {name: _value(n + k)}))
        fuzzer.post(action, MultiDict())  # every field missing
        fuzzer.post(action, MultiDict([(k, v) for k, v in fields.items()] * 2))  # every field twice
    nasty = st.one_of(st.sampled_from(NASTY), st.text(max_size=200), st.integers().map(str))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def combinations(data):  # type: ignore[no-untyped-def]
        action, fields = data.draw(st.sampled_from(fuzzer.forms))
        names = [k for k in fields if k != "csrf_token"] or ["x"]
        changed = data.draw(st.dictionaries(st.sampled_from(names), nasty, max_size=4))
        dropped = data.draw(st.sets(st.sampled_from(names), max_size=2))
        fuzzer.post(action, MultiDict({k: v for k, v in (fields | changed).items() if k not in dropped}))

    combinations()
    print(f"{fuzzer.role}: {fuzzer.tried} requests, {len(fuzzer.pages)} pages, {len(fuzzer.forms)} forms")
    assert not fuzzer.problems, "\n".join(fuzzer.problems)
