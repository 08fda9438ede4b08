"""The README's screenshots (scripts/screens.py, `make screens`) cannot rot: the script imports, covers
every kind of demo account (or says why not), the README shows every picture it makes, and, with the
browser tests, it makes one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.e2e
def test_the_screens_script_makes_a_screenshot(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            "-m",
            "scripts.screens",
            "--roles",
            "patient",
            "--widths",
            "390",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    picture = tmp_path / "patient-390.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(picture).width == 390
