"""Page-weight benchmark (run by hand, not part of the tests): every role's main pages in Chromium on Slow 3G.

    .venv/bin/python -m tests.bench.page_weight [--only PATH-PREFIX]

It builds a fresh SQLite database with the demo data plus a busy hospital (tests/busy_hospital.py: 12
doctors, 80 patients, 250 visits, bills, records), serves the app on a free loopback port, and drives
Debian's Chromium through Playwright with Chrome DevTools' "Slow 3G" applied over CDP (2,000 ms round
trip, 400 kbit/s down and up). Each page is opened in a new browser context (cold cache, logged in by
cookie) and reported with the bytes transferred (headers and bodies, as DevTools counts them), the
number of requests, and the time until it is usable (the load event: HTML parsed, CSS applied, htmx and
our script run). The HTMX interactions of the budgets are measured the same way: bytes of the requests
they make and the time from the click until the swapped content is settled. The booking journey (doctor
page → day → slot → booked) is timed from a cold cache.

Budgets: page ≤ 50 KB in ≤ 5 requests, usable within 6 s; fragment ≤ 5 KB; booking journey ≤ 12 s; no
request to any other host. It exits 1 when a budget breaks; the last line sums up the worst page and
fragment."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
PAGE_BYTES, PAGE_REQUESTS, PAGE_SECONDS = 50 * 1024, 5, 6.0
FRAGMENT_BYTES = 5 * 1024
JOURNEY_SECONDS = 12.0
TIMEOUT_MS = 60_000


@dataclass
class Traffic:
    """Requests seen by one page over CDP: url and bytes on the wire (encodedDataLength)."""

    urls: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def attach(self, cdp) -> None:  # type: ignore[no-untyped-def]
        def sent(event: dict) -> None:
            if not event["request"]["url"].startswith("data:"):  # inlined images: no network request
                self.urls[event["requestId"]] = event["request"]["url"]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on(
            "Network.loadingFinished",
            lambda e: self.sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
        )
        cdp.on("Network.loadingFailed", lambda e: self.sizes.__setitem__(e["requestId"], 0))

    def mark(self) -> set[str]:
        return set(self.urls)

    def since(self, mark: set[str]) -> tuple[int, int, list[str]]:
        ids = [i for i in self.urls if i not in mark]
        return sum(self.sizes.get(i, 0) for i in ids), len(ids), [self.urls[i] for i in ids]

    def settle(self, mark: set[str], page, wait_ms: int = 30_000) -> None:  # type: ignore[no-untyped-def]
        """Wait until every request started since `mark` has finished (so its size is known)."""
        deadline = time.monotonic() + wait_ms / 1000
        while time.monotonic() < deadline:
            if all(i in self.sizes for i in self.urls if i not in mark):
                return
            page.wait_for_timeout(50)


@dataclass
class Result:
    role: str
    name: str
    bytes: int
    requests: int
    seconds: float
    fragment: bool = False
    foreign: list[str] = field(default_factory=list)
    journey: bool = False

    @property
    def broken(self) -> list[str]:
        problems = [f"request to another host: {u}" for u in self.foreign]
        if self.journey:
            if self.seconds > JOURNEY_SECONDS:
                problems.append(f"journey {self.seconds:.2f} s > {JOURNEY_SECONDS:.0f} s")
            return problems
        if self.fragment:
            if self.bytes > FRAGMENT_BYTES:
                problems.append(f"fragment {kb(self.bytes)} > {kb(FRAGMENT_BYTES)}")
            return problems
        if self.bytes > PAGE_BYTES:
            problems.append(f"{kb(self.bytes)} > {kb(PAGE_BYTES)}")
        if self.requests > PAGE_REQUESTS:
            problems.append(f"{self.requests} requests > {PAGE_REQUESTS}")
        if self.seconds > PAGE_SECONDS:
            problems.append(f"usable after {self.seconds:.2f} s > {PAGE_SECONDS:.0f} s")
        return problems


def kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_app(database: Path):  # type: ignore[no-untyped-def]
    """The app on a fresh SQLite file with the demo data and a busy hospital."""
    from flask_migrate import upgrade

    from config import DevelopmentConfig
    from hms import create_app
    from hms.cli import _seed_demo
    from hms.extensions import db
    from tests import busy_hospital

    config = type(
        "BenchConfig",
        (DevelopmentConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            # Administrators log in with a password only, as in the browser journeys: with two-factor
            # login required, their pages would all be the set-up page.
            "TOTP_REQUIRED_ROLES": (),
        },
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        _seed_demo()
        db.session.commit()
        with app.test_request_context():
            busy = busy_hospital.build()
            pages = busy_hospital.main_pages(busy)
            ids = {
                "doctor": busy.doctor.doctor.id,
                "hospital": busy.hospital.id,
                "prescription": busy.prescription.id,
                "membership": busy.membership.id,
                "bill": busy.bill.id,
            }
            accounts = {role: user.email for role, user, _path in pages if user is not None}
            pages = [(role, path) for role, _user, path in pages]
    return app, pages, accounts, ids


def cookies_for(browser, base: str, email: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Log in once (on a fast network) and keep the session cookie for the cold-cache contexts."""
    from tests.factories import PASSWORD

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    cookies = context.cookies()
    context.close()
    return cookies


NETWORK = {"conditions": SLOW_3G}


def slow_page(browser, cookies: list[dict] | None, javascript: bool = True):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    traffic = Traffic()
    traffic.attach(cdp)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    if NETWORK["conditions"]:
        cdp.send("Network.emulateNetworkConditions", NETWORK["conditions"])
    return context, page, traffic


def load(page, traffic: Traffic, url: str, base: str, role: str, name: str) -> Result:  # type: ignore[no-untyped-def]
    mark = traffic.mark()
    page.goto(url, wait_until="load")
    # Usable: the load event (HTML parsed, the stylesheet applied, the deferred scripts run), measured
    # by the browser from the start of the navigation.
    usable_ms = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventEnd - n.startTime; }"
    )
    traffic.settle(mark, page)
    size, count, urls = traffic.since(mark)
    foreign = [u for u in urls if not u.startswith(base)]
    return Result(role, name, size, count, usable_ms / 1000, foreign=foreign)


def interact(page, traffic: Traffic, base: str, role: str, name: str, action, done) -> Result:  # type: ignore[no-untyped-def]
    mark = traffic.mark()
    start = time.monotonic()
    action()
    done()
    seconds = time.monotonic() - start
    traffic.settle(mark, page)
    size, count, urls = traffic.since(mark)
    foreign = [u for u in urls if not u.startswith(base)]
    return Result(role, name, size, count, seconds, fragment=True, foreign=foreign)


def settled(page):  # type: ignore[no-untyped-def]
    """A callable that waits for the next htmx:afterSettle (installed before the click)."""
    page.evaluate(
        "() => { window.__settled = new Promise("
        "r => document.body.addEventListener('htmx:afterSettle', r, {once: true})); }"
    )
    return lambda: page.evaluate("() => window.__settled.then(() => true)")


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    logging.disable(logging.WARNING)  # no access log or migration chatter between the figures

    workdir = Path(tempfile.mkdtemp(prefix="hms-bench-"))
    print("seeding a busy hospital …", file=sys.stderr)
    app, pages, accounts, ids = build_app(workdir / "bench.sqlite3")
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    results: list[Result] = []

    def report(result: Result) -> None:
        results.append(result)
        flag = "  BUDGET: " + "; ".join(result.broken) if result.broken else ""
        kind = "  ↳ " if result.fragment else ""
        print(
            f"{result.role:<15} {kind + result.name:<48} {kb(result.bytes):>9} {result.requests:>4} req"
            f" {result.seconds:>6.2f} s{flag}",
            flush=True,
        )

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            cookies = {role: cookies_for(browser, base, email) for role, email in accounts.items()}
            print(f"{'role':<15} {'page / interaction':<48} {'bytes':>9} {'reqs':>8} {'usable':>8}")
            for role, path in pages:
                if args.only and not path.startswith(args.only):
                    continue
                context, page, traffic = slow_page(browser, cookies.get(role))
                report(load(page, traffic, base + path, base, role, path))
                interactions(page, traffic, base, role, path, ids, report)
                context.close()
            if not args.only or args.journey:
                report(booking_journey(browser, cookies["patient"], base, ids))
            browser.close()
    finally:
        server.shutdown()
    return summary(results)


def interactions(page, traffic: Traffic, base: str, role: str, path: str, ids: dict, report) -> None:  # type: ignore[no-untyped-def]
    """The HTMX interactions of the budgets, on the page where they happen."""
    if path == f"/patient/doctors/{ids['doctor']}/at/{ids['hospital']}":
        day = page.locator(".day-strip .day").nth(4)
        done = settled(page)
        report(interact(page, traffic, base, role, "slot picker: another day", day.click, done))
        page.locator("#slots input[name=slot]").first.check()
        page.fill("textarea[name=reason]", "Cough for a week")
        button = page.get_by_role("button", name="Book this time")
        report(
            interact(
                page,
                traffic,
                base,
                role,
                "booking (→ confirmation page)",
                button.click,
                lambda: page.get_by_text("Your appointment is booked.").wait_for(),
            )
        )
    elif path == f"/doctor/prescriptions/{ids['prescription']}":
        row = page.locator("table.items tbody tr").nth(1)
        done = settled(page)
        edit = row.get_by_role("button", name="Edit")
        report(interact(page, traffic, base, role, "prescription: edit a medicine", edit.click, done))
        page.fill("input[name=edit-strength]", "1 g")
        done = settled(page)
        save = page.get_by_role("button", name="Save medicine")
        report(interact(page, traffic, base, role, "prescription: save the medicine", save.click, done))
    elif path == "/hospital/doctors":
        switch = page.locator(f"#switch-{ids['membership']}")
        done = settled(page)
        report(interact(page, traffic, base, role, "membership toggle", switch.click, done))
    elif path == f"/staff/bills/{ids['bill']}":
        page.fill("#desk-payment input[name=amount]", "1000")
        done = settled(page)
        button = page.get_by_role("button", name="Record payment")
        report(interact(page, traffic, base, role, "paying a bill", button.click, done))


def booking_journey(browser, cookies: list[dict], base: str, ids: dict) -> Result:  # type: ignore[no-untyped-def]
    """Doctor page → a day → a time → booked, from a cold cache on Slow 3G."""
    context, page, traffic = slow_page(browser, cookies)
    mark = traffic.mark()
    start = time.monotonic()
    steps = []
    page.goto(f"{base}/patient/doctors/{ids['doctor']}/at/{ids['hospital']}", wait_until="load")
    steps.append(("doctor page", time.monotonic()))
    done = settled(page)
    page.locator(".day-strip .day").nth(6).click()
    done()
    steps.append(("day", time.monotonic()))
    page.locator("#slots input[name=slot]").first.check()
    page.fill("textarea[name=reason]", "Pain in the knee")
    steps.append(("slot and reason", time.monotonic()))
    page.get_by_role("button", name="Book this time").click()
    page.get_by_text("Your appointment is booked.").wait_for()
    steps.append(("booked", time.monotonic()))
    seconds = time.monotonic() - start
    previous = start
    for name, at in steps:
        print(f"  journey step {name:<16} {at - previous:5.2f} s", file=sys.stderr)
        previous = at
    page.wait_for_load_state("load")
    traffic.settle(mark, page)
    size, count, urls = traffic.since(mark)
    context.close()
    foreign = [u for u in urls if not u.startswith(base)]
    name = "booking journey (doctor → day → slot → booked)"
    return Result("patient", name, size, count, seconds, foreign=foreign, journey=True)


def summary(results: list[Result]) -> int:
    pages = [r for r in results if not r.fragment and not r.journey]
    fragments = [r for r in results if r.fragment]
    journey = next((r for r in results if r.journey), None)
    broken = [r for r in results if r.broken]
    worst_fragment = max(fragments, key=lambda r: r.bytes) if fragments else None
    print()
    if broken:
        print(f"{len(broken)} over budget: " + ", ".join(f"{r.role} {r.name}" for r in broken))
    line = ""
    if pages:
        heaviest = max(pages, key=lambda r: r.bytes)
        slowest = max(pages, key=lambda r: r.seconds)
        most = max(pages, key=lambda r: r.requests)
        line += (
            f"worst page {kb(heaviest.bytes)} ({heaviest.name}) / {most.requests} requests / "
            f"{slowest.seconds:.2f} s usable ({slowest.name}); "
        )
    if worst_fragment:
        line += f"worst fragment {kb(worst_fragment.bytes)} ({worst_fragment.name}); "
    if journey:
        line += f"booking journey {journey.seconds:.1f} s; "
    line += "FAIL" if broken else "all within budget"
    print(line)
    return 1 if broken else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only pages whose path starts with this (no journey)")
    parser.add_argument("--journey", action="store_true", help="with --only: run the booking journey too")
    parser.add_argument(
        "--fast", action="store_true", help="no Slow 3G: a quick check that every page and step still runs"
    )
    args = parser.parse_args()
    if args.fast:
        NETWORK["conditions"] = None
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
