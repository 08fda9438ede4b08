"""Page weight without a browser: compression, fingerprinted static files with long cache lifetimes,
3 requests per page, every page within 50 KB and every HTMX fragment within 5 KB on a busy hospital.

The browser measurements on Slow 3G (time until usable, the booking journey) are in
tests/bench/page_weight.py, run by hand; the figures are in the README."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import brotli
import pytest

from hms import clock
from hms.assets import LONG_CACHE
from hms.extensions import db
from hms.models import Bill, Membership, Notification, Prescription, PrescriptionStatus
from hms.services import billing
from tests import busy_hospital

PAGE_BUDGET = 50 * 1024
FRAGMENT_BUDGET = 5 * 1024
HX = {"HX-Request": "true"}
BR = {"Accept-Encoding": "br, gzip"}
ASSET = re.compile(r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src|img[^>]*src)="([^"]+)"')


def decoded(response) -> bytes:  # type: ignore[no-untyped-def]
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(response.data)
    if encoding == "gzip":
        return gzip.decompress(response.data)
    return response.data


def assets_of(html: str) -> list[str]:
    return ASSET.findall(html)


@pytest.fixture
def busy(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        return busy_hospital.build()


# ---------------------------------------------------------------- compression


@pytest.mark.parametrize(
    ("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip"), ("gzip, br;q=0", "gzip")]
)
def test_pages_are_compressed_as_the_browser_accepts(client, accept, encoding):
    response = client.get("/login", headers={"Accept-Encoding": accept})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    html = decoded(response)
    assert b"<html" in html and len(response.data) < len(html) / 2


def test_a_browser_that_accepts_no_encoding_gets_plain_html(client):
    response = client.get("/login", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert b"<html" in response.data and "Accept-Encoding" in response.headers["Vary"]


def test_htmx_fragments_are_compressed_too(client, make, login_as):
    admin = make.hospital_admin()
    for n in range(8):
        make.doctor_at(admin.hospital_admin.hospital, name=f"Doctor Number {n}")
    login_as(admin)
    response = client.get("/hospital/doctors?fragment=table", headers=HX | BR)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert b"<html" not in decoded(response) and b"Doctor Number 7" in decoded(response)


def test_pdfs_and_tiny_answers_are_left_alone(client, make, login_as):
    encounter = make.encounter()
    prescription = make.prescription(encounter, status=PrescriptionStatus.active)
    login_as(encounter.doctor.user)
    pdf = client.get(f"/doctor/prescriptions/{prescription.id}.pdf", headers=BR)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "Content-Encoding" not in pdf.headers
    bell = client.get("/notifications/bell", headers=HX | BR)
    assert bell.status_code == 200 and "Content-Encoding" not in bell.headers


# ---------------------------------------------------------------- static files


def test_every_page_loads_one_fingerprinted_stylesheet_and_one_script_from_its_own_host(client):
    html = client.get("/login").data.decode()
    assets = assets_of(html)
    assert [a.split("?")[0] for a in assets] == ["/static/bundle/app.css", "/static/bundle/app.js"]
    assert all(re.search(r"\?v=[0-9a-f]{16}$", a) for a in assets)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "no request to another host"
    assert 'hx-trigger="load' not in html


@pytest.mark.parametrize(
    ("path", "pieces"),
    [
        ("bundle/app.css", [b"Pico CSS", b".skip-link", b"data:image/svg+xml;base64,"]),
        ("bundle/app.js", [b"htmx", b"htmx:afterSwap", b"aria-busy"]),
    ],
)
def test_the_bundles_hold_the_library_and_our_own_code(client, path, pieces):
    url = assets_of(client.get("/login").data.decode())[0 if path.endswith("css") else 1]
    response = client.get(url, headers=BR)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == LONG_CACHE
    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = decoded(response)
    assert all(piece in body for piece in pieces)
    assert b"../img/bell.svg" not in body  # the bell travels inside the CSS: no extra request


def test_the_whole_css_and_js_weigh_under_35_kb_with_brotli(client):
    total = sum(
        len(client.get(url, headers=BR).data) for url in assets_of(client.get("/login").data.decode())
    )
    assert total < 35 * 1024


def test_a_static_url_without_the_current_fingerprint_must_be_revalidated(client):
    url = assets_of(client.get("/login").data.decode())[0]
    bare, stale = url.split("?")[0], url.split("?")[0] + "?v=0000000000000000"
    for candidate in (bare, stale):
        response = client.get(candidate, headers=BR)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
        again = client.get(candidate, headers=BR | {"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_gzip_only_browsers_get_the_gzip_copy_and_others_the_plain_file(client):
    url = assets_of(client.get("/login").data.decode())[1]
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.py",
        "/static/%2e%2e/config.py",
        "/static/bundle/app.css.br",
        "/static/nothing.css",
    ],
)
def test_static_files_outside_the_folder_or_the_raw_compressed_copies_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_other_static_files_are_fingerprinted_as_well(client, make, login_as, app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="js/video.js")
    assert re.search(r"^/static/js/video\.js\?v=[0-9a-f]{16}$", url)
    response = client.get(url, headers=BR)
    assert response.headers["Cache-Control"] == LONG_CACHE and response.headers["Content-Encoding"] == "br"


# ---------------------------------------------------------------- the bell


def test_the_bell_count_comes_with_the_page_and_is_only_polled_later(client, make, login_as):
    patient = make.patient()
    db.session.add_all(
        [Notification(user_id=patient.id, kind="appointment_booked", text=f"Notice {n}") for n in range(3)]
    )
    db.session.commit()
    login_as(patient)
    html = client.get("/patient/").data.decode()
    bell = re.search(r'<a [^>]*id="bell".*?</a>', html, re.S).group(0)
    assert 'data-unread="3"' in bell
    assert re.search(r'hx-trigger="every 60s, notificationsChanged from:body"', bell)


# ---------------------------------------------------------------- page and fragment weight


def test_every_main_page_of_every_role_is_within_50_kb_in_at_most_5_requests(client, busy, login_as, app):
    with app.test_request_context():
        pages = busy_hospital.main_pages(busy)
    assert len(pages) >= 30
    asset_bytes: dict[str, int] = {}
    for role, user, path in pages:
        browser = app.test_client() if user is None else login_as(user)
        response = browser.get(path, headers=BR)
        assert response.status_code == 200, (role, path)
        html = decoded(response).decode()
        assets = assets_of(html)
        assert len(assets) + 1 <= 5, (role, path, assets)
        for url in assets:
            if url not in asset_bytes:
                asset_bytes[url] = len(client.get(url, headers=BR).data)
        total = len(response.data) + sum(asset_bytes[url] for url in assets)
        assert total <= PAGE_BUDGET, (role, path, total)
        assert 'style="' not in html and "<script>" not in html, (role, path)
        # Nothing fetches more on load (the bell's count comes with the page), and every explicit
        # loading indicator names an element that exists.
        assert not re.search(r'hx-trigger="[^"]*\bload\b', html), (role, path)
        for indicator in re.findall(r'hx-indicator="#([\w-]+)"', html):
            assert f'id="{indicator}"' in html, (role, path, indicator)


def fragment_sizes(client, busy, login_as) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(status, bytes on the wire with brotli) of each HTMX interaction of the budgets."""
    sizes: dict[str, tuple[int, int]] = {}

    def measure(name, response):  # type: ignore[no-untyped-def]
        sizes[name] = (response.status_code, len(response.data))
        return response

    hospital, doctor = busy.hospital, busy.doctor.doctor
    login_as(busy.patient)
    base = f"/patient/doctors/{doctor.id}/at/{hospital.id}"
    day = (clock.now().astimezone(hospital.tz) + timedelta(days=5)).date().isoformat()
    measure("slot picker day", client.get(f"{base}?day={day}", headers=HX | BR))
    page = client.get(f"{base}?day={day}").data.decode()
    slot = re.search(r'name="slot"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="slot"', page)
    key = slot.group(1) or slot.group(2)
    booked = measure(
        "booking",
        client.post(
            f"{base}/book",
            data={"slot": key, "reason": "Cough for a week", "key": billing.new_key()},
            headers=HX | BR,
        ),
    )
    assert booked.headers.get("HX-Push-Url"), booked.data
    login_as(busy.doctor)
    rx = f"/doctor/prescriptions/{busy.prescription.id}"
    item = db.session.get(Prescription, busy.prescription.id).items[1]
    measure("prescription edit form", client.get(f"{rx}/items/{item.id}/edit", headers=HX | BR))
    fields = {
        "drug": item.drug,
        "strength": "1 g",
        "form": item.form,
        "dose": item.dose,
        "route": item.route,
        "frequency": item.frequency,
        "duration": item.duration,
        "quantity": "10",
        "instructions": "",
    }
    measure(
        "prescription edit save",
        client.post(
            f"{rx}/items/{item.id}",
            data={f"edit-{k}": v for k, v in fields.items()} | {"edit-version": str(item.version)},
            headers=HX | BR,
        ),
    )
    login_as(busy.admin)
    membership = db.session.get(Membership, busy.membership.id)
    measure(
        "membership toggle",
        client.post(
            f"/hospital/memberships/{membership.id}/status", data={"action": "deactivate"}, headers=HX | BR
        ),
    )
    login_as(busy.receptionist)
    bill = db.session.get(Bill, busy.bill.id)
    measure(
        "paying a bill",
        client.post(
            f"/staff/bills/{bill.id}/payments",
            data={"amount": "1000", "method": "cash", "key": billing.new_key()},
            headers=HX | BR,
        ),
    )
    login_as(busy.lab_technician)
    measure("lab work list filter", client.get("/staff/lab?fragment=table&priority=stat", headers=HX | BR))
    row = f"/staff/lab/orders/{busy.lab_order.id}/items/{busy.lab_item.id}"
    measure("lab result row edit form", client.get(f"{row}/edit", headers=HX | BR))
    saved = measure(
        "lab result row save",
        client.post(row, data={"value": "139", "version": str(busy.lab_item.version)}, headers=HX | BR),
    )
    assert b"139" in decoded(saved), decoded(saved)
    return sizes


def test_every_htmx_interaction_answers_with_a_fragment_under_5_kb(client, busy, login_as):
    sizes = fragment_sizes(client, busy, login_as)
    assert set(sizes) == {
        "slot picker day",
        "booking",
        "prescription edit form",
        "prescription edit save",
        "membership toggle",
        "paying a bill",
        "lab work list filter",
        "lab result row edit form",
        "lab result row save",
    }
    for name, (status, size) in sizes.items():
        assert status in (200, 204), (name, status)
        assert size <= FRAGMENT_BUDGET, (name, size)


def test_the_build_writes_both_bundles_with_compressed_copies_and_only_when_a_source_changed(tmp_path):
    from hms import assets

    for name, text in {
        "vendor/pico.min.css": "/* Pico */ body{margin:0}",
        "css/app.css": ".bell{mask:url(../img/bell.svg)} .big{background:url(../img/huge.png)}",
        "img/bell.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "img/huge.png": "x" * (assets.INLINE_LIMIT + 1),
        "vendor/htmx.min.js": "var htmx={};",
        "js/app.js": "document.title;",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    written = assets.build(tmp_path)
    assert len(written) == 6
    css = (tmp_path / "bundle/app.css").read_bytes()
    assert css.startswith(b"/* Pico */") and b"data:image/svg+xml;base64," in css
    assert b"url(../img/huge.png)" in css  # too big to inline: stays a request of its own
    assert brotli.decompress((tmp_path / "bundle/app.css.br").read_bytes()) == css
    assert gzip.decompress((tmp_path / "bundle/app.js.gz").read_bytes()) == b"var htmx={};\ndocument.title;\n"
    assert assets.build(tmp_path) == []
    (tmp_path / "js/app.js").write_text("document.title = 'x';")
    assert {p.name for p in assets.build(tmp_path)} == {"app.js", "app.js.br", "app.js.gz"}
