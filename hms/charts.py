"""Server-rendered SVG charts (pygal), cleaned so that they sit inline under our strict CSP.

pygal embeds a <script> (its tooltip config) and <style> blocks; the CSP forbids both, and the page
needs neither: the colours come from static/css/app.css (`.chart ...`). What remains is plain SVG."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pygal
from markupsafe import Markup, escape

_DROP = [
    re.compile(r"<script\b.*?</script>", re.S),
    re.compile(r"<style\b.*?</style>", re.S),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r'\sstyle="[^"]*"'),
    re.compile(r'<g [^>]*class="plot tooltip-overlay">.*?</g></g>', re.S),
    re.compile(r"<desc\b[^>]*>.*?</desc>", re.S),
    re.compile(r"<title>[^<]*</title>"),
    re.compile(r' class=""'),
]
_SLIM = [
    (re.compile(r'<g class="bar"><rect [^>]*height="0" [^>]*/></g>'), ""),
    (re.compile(r'<g class="bar">(<rect [^>]*/>)</g>'), r"\1"),
    (re.compile(r' rx="0" ry="0"'), ""),
    (re.compile(r" reactive tooltip-trigger"), ""),
    (re.compile(r' class="legend reactive activate-serie"'), ' class="legend"'),
    (re.compile(r' id="activate-serie-\d+"'), ""),
    (re.compile(r'<g [^>]*class="plot (?:text-)?overlay">(?:<g class="series[^"]*" />)*</g>'), ""),
]
_LONG_NUMBER = re.compile(r"(\d+)\.\d+")
_GEOMETRY = re.compile(r'\s(?:x|y|width|height|d|transform)="[^"]*"')


def bar_chart(
    labels: Sequence[str], values: Sequence[int], *, label: str, width: int = 640, height: int = 220
) -> Markup:
    """A bar chart of counts as inline SVG markup, with `label` as its accessible name."""
    chart = pygal.Bar(
        js=[],
        css=[],
        disable_xml_declaration=True,
        show_legend=False,
        width=width,
        height=height,
        explicit_size=False,
        no_prefix=True,
        print_values=False,
        x_label_rotation=0,
        show_minor_x_labels=True,
        margin=12,
        classes=["chart"],
    )
    chart.x_labels = list(labels)
    # Counts: whole-number gridlines, about five of them.
    top = max(values, default=0)
    step = max(1, math.ceil(top / 5))
    chart.y_labels = list(range(0, top + step + 1, step))
    chart.add(label, list(values))
    return _clean(chart, label)


def _inline(series: object, width: int, height: int, *, legend_columns: int) -> dict:
    """pygal's options shared by every chart: inline SVG without scripts or styles (the CSP), a
    legend below only when there is more than one series, sized by the viewBox."""
    return dict(
        js=[],
        css=[],
        disable_xml_declaration=True,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(len(series), legend_columns) or 1,
        width=width,
        height=height,
        explicit_size=False,
        no_prefix=True,
        print_values=False,
    )


def series_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int]]],
    *,
    label: str,
    stacked: bool = False,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Bars of one or more named series over `labels` (a legend when more than one), inline SVG."""
    kind = pygal.StackedBar if stacked else pygal.Bar
    many = len(labels) > 16
    chart = kind(
        **_inline(series, width, height, legend_columns=5),
        x_label_rotation=30 if many else 0,
        show_minor_x_labels=not many,
        x_labels_major_every=max(1, len(labels) // 12) if many else None,
        truncate_label=12,
        margin=12,
        classes=["chart"],
        min_scale=3,
        max_scale=6,
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    svg = str(_clean(chart, label))
    # Many bars: leave out the empty ones and what only pygal's script would use.
    for pattern, replacement in _SLIM:
        svg = pattern.sub(replacement, svg)
    return Markup(svg)  # noqa: S704  (cleaned above)


def _clean(chart: pygal.graph.graph.Graph, label: str) -> Markup:
    svg = chart.render(is_unicode=True)
    for pattern in _DROP:
        svg = pattern.sub("", svg)
    # Whole pixels are precise enough and halve the size; only geometry attributes, never text.
    svg = _GEOMETRY.sub(lambda m: _LONG_NUMBER.sub(r"\1", m.group(0)), svg)
    svg = svg.replace('id=""', "", 1).replace("<defs></defs>", f"<title>{escape(label)}</title>", 1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(svg)  # noqa: S704  (pygal's own markup, labels escaped by pygal, scripts and styles removed)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    label: str,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Lines of one or more named series over `labels` (a value over time, with its limits), inline SVG;
    a None leaves a gap."""
    chart = pygal.Line(
        **_inline(series, width, height, legend_columns=3),
        x_label_rotation=0,
        truncate_label=12,
        margin=12,
        dots_size=3,
        allow_interruptions=True,
        classes=["chart", "line-chart"],
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _clean(chart, label)
