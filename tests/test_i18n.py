"""Languages: every text translatable and translated, the switcher, and dates and money per locale."""

from __future__ import annotations

import ast
import enum
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from jinja2 import Environment, nodes
from sqlalchemy import select

from hms import events, models
from hms.enum_words import AUDIT_WORDS, CAPITALIZED, ENUM_VALUES
from hms.errors import MESSAGES
from hms.extensions import db
from hms.i18n import LANGUAGES
from hms.models import Notification, User
from hms.models.scheduling import WEEKDAYS
from hms.navigation import ACCOUNT, NAVIGATION, Group, links_for
from hms.redirects import local_target
from hms.services.notifications import KINDS
from hms.templating import local_date, local_time, money

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "translations"
RUN_MAKE = "Run `make translations`, translate the new entries in translations/*/LC_MESSAGES/messages.po"


# ---------------------------------------------------------------- (a) no literal text in templates

PLACEHOLDER = "\ue000{}\ue001"
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
JINJA_REF = re.compile("\ue000(\\d+)\ue001")
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label", "hx-confirm", "hx-prompt"}
BUTTON_INPUTS = {"submit", "button", "reset"}
ALLOWED_WORDS = {"HMS"}  # the brand
TRANSLATORS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
_jinja = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only parses


def _printed_constants(node: nodes.Node):  # type: ignore[no-untyped-def]
    """String constants an expression prints as they are (not through `_()`)."""
    if isinstance(node, nodes.Const):
        if isinstance(node.value, str):
            yield node.value
    elif isinstance(node, nodes.CondExpr):
        yield from _printed_constants(node.expr1)
        if node.expr2 is not None:
            yield from _printed_constants(node.expr2)
    elif isinstance(node, nodes.Concat):
        for part in node.nodes:
            yield from _printed_constants(part)
    elif isinstance(node, (nodes.Add, nodes.Or, nodes.And)):
        yield from _printed_constants(node.left)
        yield from _printed_constants(node.right)
    elif isinstance(node, nodes.Filter) and node.node is not None:
        if node.name in ("e", "escape", "safe", "upper", "lower", "capitalize", "title", "trim"):
            yield from _printed_constants(node.node)
        elif node.name in ("default", "d"):
            yield from _printed_constants(node.node)
            for arg in node.args:
                yield from _printed_constants(arg)


def _has_words(text: str) -> bool:
    for word in ALLOWED_WORDS:
        text = re.sub(rf"\b{word}\b", " ", text)
    return any(c.isalpha() for c in text)


class _LiteralFinder(HTMLParser):
    """Finds user-visible text that does not come from `{{ ... }}` in a template whose Jinja tags
    were replaced by numbered placeholders."""

    def __init__(self, tags: list[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags = tags
        self.found: list[tuple[int, str]] = []
        self.raw_text = 0

    def _check(self, text: str) -> None:
        literal = JINJA_REF.sub(" ", text)
        if _has_words(literal):
            self.found.append((self.getpos()[0], JINJA_REF.sub("{{…}}", text).strip()))
        for number in JINJA_REF.findall(text):
            tag = self.tags[int(number)]
            if not tag.startswith("{{"):
                continue
            for node in _jinja.parse(tag).find_all(nodes.Output):
                for expression in node.nodes:
                    for constant in _printed_constants(expression):
                        if _has_words(constant):
                            self.found.append((self.getpos()[0], f"{tag} prints {constant!r}"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.raw_text += 1
        kind = (dict(attrs).get("type") or "").lower()
        for name, value in attrs:
            if value is None:
                continue
            if name in VISIBLE_ATTRIBUTES or (name == "value" and tag == "input" and kind in BUTTON_INPUTS):
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.raw_text:
            self.raw_text -= 1

    def handle_data(self, data: str) -> None:
        if not self.raw_text:
            self._check(data)


def untranslated_literals(source: str) -> list[tuple[int, str]]:
    tags: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        # Keep the line numbers: a multi-line tag leaves its newlines behind.
        return PLACEHOLDER.format(len(tags) - 1) + "\n" * match.group(0).count("\n")

    finder = _LiteralFinder(tags)
    finder.feed(JINJA_TAG.sub(placeholder, source))
    finder.close()
    return finder.found


def test_the_literal_finder_catches_text_attributes_and_printed_strings():
    found = untranslated_literals(
        '<h1>Welcome</h1><input placeholder="Search" type="search"><button title="{{ x }} more">'
        '{{ _("ok") }}</button><input type="submit" value="Send"><p>{{ "Hello" if x else _("Bye") }}</p>'
        "<p>{{ name }} · 42 — HMS</p><script>var a = 'text';</script>"
    )
    texts = [text for _, text in found]
    assert texts == [
        "Welcome",
        "Search",
        "{{…}} more",
        "Send",
        '{{ "Hello" if x else _("Bye") }} prints \'Hello\'',
    ]


def test_no_template_holds_untranslated_text():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for line, text in untranslated_literals(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {text}")
    assert not problems, 'Wrap user-visible text in {{ _("...") }}:\n' + "\n".join(problems)


# ---------------------------------------------------------------- (b), (c) catalogs complete and current


def _catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def _ids(catalog) -> set:  # type: ignore[no-untyped-def,type-arg]
    return {message.id for message in catalog if message.id}


PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sdifr]|%[sdif]")


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER_RE.findall(text)) | ({"%s"} if re.search(r"(?<!%)%s", text) else set())


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_message_is_translated_with_the_same_placeholders(language):
    template = _catalog(TRANSLATIONS / "messages.pot")
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    missing = sorted(str(i) for i in _ids(template) - _ids(catalog))
    assert not missing, f"{language}: not in the catalog ({RUN_MAKE}):\n" + "\n".join(missing)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if isinstance(message.id, tuple):  # plural forms may spell out "one" or "two" without the number
            wanted = _placeholders(message.id[0]) | _placeholders(message.id[1])
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(forms):
                problems.append(f"untranslated: {message.id!r}")
            for form in forms:
                if not _placeholders(form) <= wanted:
                    problems.append(f"unknown placeholder in {form!r} for {message.id!r}")
        elif not message.string:
            problems.append(f"untranslated: {message.id!r}")
        elif _placeholders(message.string) != _placeholders(message.id):
            problems.append(f"placeholders differ: {message.id!r} → {message.string!r}")
    assert not problems, f"{language}:\n" + "\n".join(problems)


def test_catalogs_are_up_to_date_with_the_source(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 (our own tool and arguments)
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    in_source, in_catalog = _ids(_catalog(fresh)), _ids(_catalog(TRANSLATIONS / "messages.pot"))
    new = sorted(str(i) for i in in_source - in_catalog)
    gone = sorted(str(i) for i in in_catalog - in_source)
    assert not new and not gone, (
        f"{RUN_MAKE}.\nNew strings:\n" + "\n".join(new) + "\nStrings no longer used:\n" + "\n".join(gone)
    )


def test_texts_shown_from_python_values_are_in_the_catalog():
    """Pages translate these at run time (`_(label)`), so extraction must find them where defined."""
    catalog = _ids(_catalog(TRANSLATIONS / "messages.pot"))
    shown = {link.label for role in NAVIGATION for link in links_for(role)} | {a.label for a in ACCOUNT}
    shown |= {item.label for items in NAVIGATION.values() for item in items if isinstance(item, Group)}
    shown |= {kind.label for kind in KINDS.values()} | set(WEEKDAYS)
    shown |= {text for pair in MESSAGES.values() for text in pair}
    shown |= {models.Role(r).label for r in models.Role} | {k.label for k in models.StaffKind}
    shown |= {k.label for k in models.HistoryKind} | {k.singular for k in models.HistoryKind}
    shown |= {m.label for m in models.PaymentMethod}
    for name in dir(models):
        value = getattr(models, name)
        if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__.startswith("hms."):
            if issubclass(value, int):  # a number stored (e.g. a triage level) is shown by its label
                shown |= {member.label for member in value}
            else:
                shown |= {member.value for member in value}
    missing = sorted(shown - catalog)
    hint = "Mark these with N_() where they are defined (or list them in hms/enum_words.py):\n"
    assert not missing, hint + "\n".join(missing)
    assert set(ENUM_VALUES) | set(CAPITALIZED) | set(AUDIT_WORDS) <= catalog


def _untranslatable_python_texts(source: str, filename: str) -> list[str]:
    """Literal texts handed straight to a reader: flash("..."), SomeField("label"), x.errors = ["..."].
    Those must be N_("...") (or gettext) so extraction finds them; an f-string can never be found."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            literal = isinstance(first, ast.JoinedStr) or (
                isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.strip()
            )
            if literal and (name == "flash" or name.endswith("Field")):
                found.append(f"{filename}:{node.lineno}: {name}({ast.unparse(first)})")
            if name == "flash" and isinstance(first, ast.IfExp):
                found.append(f"{filename}:{node.lineno}: flash({ast.unparse(first)})")
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg in {"message", "description", "label"} and (
                    isinstance(value, ast.JoinedStr)
                    or (isinstance(value, ast.Constant) and isinstance(value.value, str))
                ):
                    found.append(f"{filename}:{node.lineno}: {keyword.arg}={ast.unparse(value)}")
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            target = node.targets[0]
            if getattr(target, "attr", "") == "errors":
                for item in node.value.elts:
                    if isinstance(item, ast.Constant | ast.JoinedStr):
                        found.append(f"{filename}:{node.lineno}: errors = [{ast.unparse(item)}]")
    return found


def test_the_python_literal_finder_catches_flashes_labels_and_errors():
    source = (
        'flash("Saved.")\nflash(f"{n} ended.")\nflash("a" if x else "b")\n'
        'x = StringField("Amount", validators=[Length(message="Too long.")])\nform.code.errors = ["Wrong."]\n'
        'flash(N_("Fine."))\ny = StringField(N_("Fine"))\nform.a.errors = [N_("Fine.")]\n'
    )
    assert len(_untranslatable_python_texts(source, "x.py")) == 6


def test_no_python_code_hands_a_reader_untranslatable_text():
    found = []
    for path in sorted((ROOT / "hms").rglob("*.py")):
        found += _untranslatable_python_texts(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "Mark these with N_() (plurals: ngettext):\n" + "\n".join(found)


# ---------------------------------------------------------------- (d) the switcher and the remembered choice


def test_every_page_offers_the_language_switcher(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'action="/language"' in html
    assert 'name="csrf_token"' in html.split('action="/language"')[1].split("</form>")[0]
    assert '<option value="ar" lang="ar">العربية</option>' in html
    assert '<input type="hidden" name="next" value="/login">' in html


def test_choosing_a_language_sets_a_long_lived_cookie_and_goes_back(client):
    response = client.post("/language", data={"language": "es", "next": "/login?x=1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?x=1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("locale=es;")
    assert "Max-Age=34560000" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html
    assert "Iniciar sesión" in html and '<option value="es" lang="es" selected>' in html


def test_arabic_pages_are_right_to_left(client):
    client.post("/language", data={"language": "ar", "next": "/login"})
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الدخول" in html


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "", "x"]
)
def test_the_switcher_goes_back_only_to_a_page_of_ours(client, target):
    response = client.post("/language", data={"language": "es", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert local_target(target) is None


def test_the_switcher_refuses_unknown_languages_and_missing_tokens(client):
    assert client.post("/language", data={"language": "xx", "next": "/"}).status_code == 400
    assert client.post("/language", data={"language": "ar\x00", "next": "/"}).status_code == 400
    assert client.post("/language", data={"language": "es", "next": "/"}, csrf=False).status_code == 400
    assert "Set-Cookie" not in client.post("/language", data={"language": "xx"}).headers


def test_a_logged_in_users_choice_is_saved_and_follows_him(client, make, login_as, app):
    patient = make.patient()
    login_as(patient)
    client.post("/language", data={"language": "ar", "next": "/patient/"})
    assert db.session.get(User, patient.id).locale == "ar"
    other_browser = login_as(patient, on=app.test_client())
    other_browser.set_cookie("locale", "es")  # the saved choice beats this browser's cookie
    html = other_browser.get("/patient/", follow_redirects=True).get_data(as_text=True)
    assert 'dir="rtl"' in html and "لوحة التحكم" in html


def test_without_a_choice_the_browsers_language_is_used(client):
    html = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="es"' in html
    html = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en"' in html


def test_messages_errors_and_error_pages_come_in_the_chosen_language(client, make, login_as):
    client.set_cookie("locale", "es")
    page = client.post("/login", data={"email": "nobody@example.org", "password": "x" * 12})
    assert page.status_code == 422
    assert "Correo electrónico o contraseña incorrectos." in page.get_data(as_text=True)
    assert "No encontrado" in client.get("/no/such/page").get_data(as_text=True)
    login_as(make.patient())
    client.post("/logout", follow_redirects=False)
    assert "Has cerrado la sesión." in client.get("/login").get_data(as_text=True)


def test_a_flashed_message_with_user_text_stays_escaped(client, make, login_as):
    """Run-time messages are translated without being marked safe (`| translate`, not `_()`)."""
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    name = "<b>50% off</b>"
    response = client.post("/hospital/departments", data={"name": name}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&lt;b&gt;50% off&lt;/b&gt;" in html and "<b>50% off</b>" not in html


def test_notices_are_written_in_the_recipients_language(make):
    patient = make.patient()
    patient.locale = "es"
    hospital = make.hospital(timezone="Europe/Madrid")
    doctor = make.doctor_at(hospital)
    doctor.locale = "ar"
    db.session.commit()
    start = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)
    appointment = make.appointment(patient, doctor, hospital, start_at=start)
    events.appointment_booked.send(appointment, actor=db.session.get(User, make.super_admin().id))
    texts = {n.user_id: n.text for n in db.session.scalars(select(Notification))}
    assert texts[patient.id].startswith("Tu cita con el Dr.")
    assert "mar 04 mar 2031 a las 10:30 CET" in texts[patient.id]
    assert texts[doctor.id].startswith("موعد جديد")


# ---------------------------------------------------------------- (e) dates, times and money per locale

WHEN = datetime(2026, 11, 25, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Wed 25 Nov 2026, 09:05 EAT"),
        ("es", "mié 25 nov 2026, 09:05 EAT"),
        ("ar", "الأربعاء 25 نوفمبر 2026, 09:05 EAT"),
    ],
)
def test_times_are_shown_in_the_hospitals_zone_with_names_in_the_readers_language(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert local_time(WHEN, "Africa/Nairobi", "%a %d %b %Y, %H:%M %Z") == expected


def test_the_zone_abbreviation_is_the_zones_own_not_an_offset(app):
    with app.test_request_context(), force_locale("en"):
        assert local_time(WHEN, "Asia/Kolkata", "%H:%M %Z") == "11:35 IST"
        assert local_time(datetime(2026, 7, 1, 12, tzinfo=UTC), "Europe/Berlin", "%H:%M %Z") == "14:00 CEST"
        assert local_time(WHEN, "Asia/Kolkata") == "Wed 25 Nov 2026, 11:35 IST"  # a page names the clock
        assert local_time(None, "Asia/Kolkata") == ""


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Friday 01 May 2026"), ("es", "viernes 01 mayo 2026"), ("ar", "الجمعة 01 مايو 2026")],
)
def test_days_are_written_in_the_readers_language(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert local_date(date(2026, 5, 1), "%A %d %B %Y") == expected


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", 150050, "INR", "₹1,500.50"),
        ("es", 150050, "INR", "1.500,50\xa0INR"),
        ("es", 1234567, "EUR", "12.345,67\xa0€"),
        ("ar", 150050, "USD", "\u200f1,500.50\xa0US$"),
        ("en", 1500, "JPY", "¥1,500"),
        ("es", 1500, "KES", "15,00\xa0KES"),
    ],
)
def test_money_is_written_the_readers_way_in_the_bills_currency(app, language, amount, currency, expected):
    with app.test_request_context(), force_locale(language):
        assert money(amount, currency) == expected


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_spoken_slot_times_read_exactly_as_babel_writes_them(app, language):
    """The slot picker's screen-reader labels are made without one Babel call per time; they must be
    word for word what Babel's full pattern gives, in every language, on days that change the clock."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    from hms.templating import spoken_time

    moments = []
    for zone in ("Africa/Nairobi", "Europe/Berlin", "America/New_York", "Asia/Kolkata"):
        for day in (date(2026, 3, 29), date(2026, 10, 25), date(2026, 12, 31), date(2027, 1, 1)):
            for hour, minute in ((0, 0), (1, 30), (2, 45), (9, 5), (12, 0), (23, 59)):
                moments.append(datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)))
    with app.test_request_context(), force_locale(language):
        for moment in moments:
            local = moment.astimezone(moment.tzinfo)
            expected = format_datetime(local, "EEEE d MMMM y, HH:mm", tzinfo=local.tzinfo, locale=language)
            assert spoken_time(local) == expected


@pytest.mark.parametrize(("language", "expected"), [("en", "Mon"), ("es", "lun"), ("ar", "الاثنين")])
def test_short_weekday_names_are_the_languages_own_not_a_cut(app, language, expected):
    from hms.templating import weekday_short

    with app.test_request_context(), force_locale(language):
        assert weekday_short(0) == expected  # "الاثنين"[:3] would be a broken word
