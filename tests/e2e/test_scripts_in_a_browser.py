"""Two scripts that drive Chromium, run with the browser tests: the README's screenshots
(scripts/screens.py, see tests/test_screens.py) and the page-weight benchmark (tests/bench/page_weight.py,
see tests/test_benchmarks.py). Every test that drives a browser lives under tests/e2e, so that the
test run keeps them on one worker (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.test_benchmarks import FINISHED, run_benchmark
from tests.test_screens import ROOT


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


def test_the_page_weight_benchmark_visits_every_page_and_step():
    result = run_benchmark("page_weight", timeout=600)
    # Budgets are not asserted here (tests/test_performance.py does); a crash or a missing step is.
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert FINISHED["page_weight"] in last, result.stdout[-2000:]
    for step in ("slot picker: another day", "membership toggle", "paying a bill", "prescription: save"):
        assert step in result.stdout, f"{step!r} missing:\n{result.stdout[-2000:]}"
