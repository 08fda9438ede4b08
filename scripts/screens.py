"""Screenshots of each role's first page for the README (`make screens`): 390 px (a phone) and 1,280 px.

Seeds the demo data (hms/demo.py) into a fresh SQLite database in a temporary folder, serves the app on
a free local port, logs in as each demo account in Debian's Chromium and saves what the role sees after
logging in as docs/screens/<role>-<width>.png: the full page, cut at --max-height, with 256 colours.
Administrators log in with a password only (two-factor login is switched off for this app), as in the
browser tests. `python -m scripts.screens --roles patient --widths 390 --out /tmp/x` makes one."""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (file name, demo account, page): one for each kind of account of hms/demo.py, on the page it lands on
# after logging in, except the staff, shown on the screen they work on (flow board, triage, inventory,
# the lab's work list).
ROLES = [
    ("patient", "amina@example.org", None),
    ("doctor", "dr.okafor@example.org", None),
    ("hospital-admin", "hospital.admin@example.org", None),
    ("platform-admin", "admin@example.org", None),
    ("receptionist", "reception@example.org", "/staff/flow"),
    ("nurse", "nurse@example.org", "/staff/triage"),
    ("pharmacist", "pharmacy@example.org", "/staff/inventory"),
    ("lab-technician", "lab@example.org", "/staff/lab"),
]
# Demo accounts left out, and why.
LEFT_OUT = {
    "clinic.admin@example.org": "a pending hospital's pages are closed until the platform approves it",
}
WIDTHS = (390, 1280)
VIEWPORT_HEIGHT = {390: 844, 1280: 800}


def build_app(database: Path):  # type: ignore[no-untyped-def]
    """The app on a fresh SQLite file holding the demo data."""
    from flask_migrate import upgrade

    from config import DevelopmentConfig
    from hms import create_app, demo
    from hms.extensions import db

    config = type(
        "ScreensConfig",
        (DevelopmentConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "TOTP_REQUIRED_ROLES": (),  # administrators' first page, not the two-factor set-up
        },
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        demo.seed()
        db.session.commit()
    return app


def shrink(png: bytes) -> bytes:
    """The screenshot with at most 256 colours (Pillow comes with fpdf2), a third of the size or less."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def capture(
    browser, base: str, email: str, path: str | None, width: int, max_height: int
) -> tuple[bytes, bool]:  # type: ignore[no-untyped-def]
    """Log in as `email` at `width` and return the screenshot of the first page (or of `path`) and
    whether it scrolls sideways (wider than the window)."""
    from hms.demo import DEMO_PASSWORD

    context = browser.new_context(
        viewport={"width": width, "height": VIEWPORT_HEIGHT.get(width, 800)},
        device_scale_factor=1,
        locale="en-GB",
        timezone_id="Africa/Nairobi",
    )
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    if path:
        page.goto(base + path)
    page.wait_for_load_state("networkidle")
    status = page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")
    if status != 200:
        raise RuntimeError(f"{email} at {width} px: {page.url} answered {status}, not a page to show")
    overflows = page.evaluate("document.documentElement.scrollWidth > innerWidth")
    # The page's own height (not the window's, when it is shorter), cut at max_height.
    height = min(page.evaluate("Math.ceil(document.body.getBoundingClientRect().bottom)"), max_height)
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    context.close()
    return png, overflows


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.disable(logging.WARNING)  # no access log or migration chatter
    wanted = [role for role in ROLES if not args.roles or role[0] in args.roles]
    if not wanted:
        print(f"no such role; choose from {', '.join(role[0] for role in ROLES)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hms-screens-") as workdir:
        print("seeding the demo data …", file=sys.stderr)
        app = build_app(Path(workdir) / "demo.sqlite3")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True
                )
                for name, email, page_path in wanted:
                    for width in args.widths:
                        png, overflows = capture(browser, base, email, page_path, width, args.max_height)
                        path = out / f"{name}-{width}.png"
                        path.write_bytes(shrink(png))
                        note = "  (wider than the window: scrolls sideways)" if overflows else ""
                        print(f"{path}  {path.stat().st_size / 1024:.0f} KB{note}")
                browser.close()
        finally:
            server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screens"), help="folder for the PNG files")
    parser.add_argument("--roles", nargs="*", help="only these (file names of ROLES)")
    parser.add_argument("--widths", nargs="*", type=int, default=list(WIDTHS), help="window widths in px")
    parser.add_argument("--max-height", type=int, default=2000, help="cut longer pages at this height")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium to drive")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
