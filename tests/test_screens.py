"""The README's screenshots (scripts/screens.py, `make screens`) cannot rot: the script imports, covers
every kind of demo account (or says why not), the README shows every picture it makes, and, with the
browser tests, it makes one."""

from __future__ import annotations

from pathlib import Path

from hms.demo import DEMO_ACCOUNTS
from scripts import screens

ROOT = Path(__file__).resolve().parents[1]


def test_the_screens_cover_every_kind_of_demo_account():
    kind_of = {email: kind for kind, email, _name in DEMO_ACCOUNTS}
    shown = [email for _name, email, _path in screens.ROLES]
    assert set(shown) | set(screens.LEFT_OUT) <= set(kind_of), "a screen of an account the demo lacks"
    assert not set(shown) & set(screens.LEFT_OUT)
    assert {kind_of[email] for email in [*shown, *screens.LEFT_OUT]} == set(kind_of.values())
    names = [name for name, _email, _path in screens.ROLES]
    assert len(set(names)) == len(names)


def test_the_readme_shows_every_screen_and_the_pictures_are_committed():
    readme = (ROOT / "README.md").read_text()
    for name, _email, _path in screens.ROLES:
        for width in screens.WIDTHS:
            picture = f"docs/screens/{name}-{width}.png"
            assert f'src="{picture}"' in readme, picture
            assert (ROOT / picture).exists(), f"{picture} missing: run `make screens`"
