"""Inline SVG charts: plain, well-formed SVG that our CSP allows (no script, no style), labels escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hms.charts import bar_chart


def test_bar_chart_is_plain_accessible_svg():
    svg = str(bar_chart(["w1", "<w2>", "w3"], [1, 7, 0], label="Bookings <per> week"))
    root = ET.fromstring(svg)  # noqa: S314  (our own output)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Bookings <per> week"
    for forbidden in ("<script", "<style", " style=", "<!--", "javascript:"):
        assert forbidden not in svg
    assert "&lt;w2&gt;" in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"0", "2", "4", "6", "8"} <= set(texts)  # whole-number gridlines
    assert svg.count('class="rect') == 3
