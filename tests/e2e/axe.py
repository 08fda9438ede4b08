"""axe-core (the npm devDependency) run inside the page: a list of the serious and critical violations.

The app's Content-Security-Policy forbids inline and injected <script> elements, so axe is evaluated
through the DevTools protocol (`page.evaluate`), which the page's CSP does not govern."""

from __future__ import annotations

import os
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, plus axe's best practices (landmarks, heading order, one main, ...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# What fails a test; HMS_AXE_IMPACTS=minor,moderate,serious,critical shows the lesser findings too.
BLOCKING = set(os.environ.get("HMS_AXE_IMPACTS", "serious,critical").split(","))

_source: str | None = None


def _axe_source() -> str:
    global _source
    if _source is None:
        if not AXE.exists():
            raise RuntimeError(f"{AXE} is missing: run `make setup` (npm ci installs axe-core)")
        _source = AXE.read_text(encoding="utf-8")
    return _source


def violations(page, impacts: set[str] = BLOCKING) -> list[str]:  # type: ignore[no-untyped-def]
    """Run axe on the current page; one readable line per offending element at one of `impacts`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {_axe_source()}\n }}")  # defines window.axe
    results = page.evaluate(
        """async (tags) => {
            const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
            const r = await axe.run(document, options);
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
        }""",
        TAGS,
    )
    lines = []
    for v in results:
        if v["impact"] not in impacts:
            continue
        for node in v["nodes"]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"[{v['impact']}] {v['id']} ({v['help']}) at {node['target']}: {summary}")
    return lines


def check(page, where: str, found: dict[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """Collect the blocking violations of the page now shown under the name `where`."""
    lines = violations(page)
    if lines:
        found[where] = lines


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in found.items())
