"""Printable documents (fpdf2) in the reader's language: prescriptions and receipts.

Text is set in the TrueType font of `PDF_FONT` (Debian's DejaVu Sans by default, with its bold
sibling), so any name prints as written; Arabic is shaped and laid out right to left by HarfBuzz
(uharfbuzz). Without that font the document falls back to the core Helvetica font, in English,
with text transliterated to Latin-1 (García stays García, Łódź becomes Lodz)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from fpdf import FPDF

from hms.i18n import text_direction
from hms.templating import locale_code

# Letters that do not decompose into a Latin letter and an accent, and typographic marks.
_FALLBACK = str.maketrans(
    {
        "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE", "œ": "oe",
        "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "€": "EUR",
        "×": "x", "·": "-",
    }
)  # fmt: skip


def latin1(char: str) -> str:
    """The character itself when the core fonts have it, else its closest Latin-1 spelling."""
    if ord(char) < 256:
        return char
    mapped = char.translate(_FALLBACK)
    if mapped != char:
        return mapped
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


class Document(FPDF):
    """A page in the reader's language and direction. Build its texts inside `with doc.language():`
    (English when the font cannot show the reader's script)."""

    def __init__(self, page_format: str | tuple[float, float], margin: float) -> None:
        super().__init__(format=page_format)
        regular = Path(current_app.config["PDF_FONT"])
        bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
        self.unicode = regular.is_file()
        if self.unicode:
            self.add_font("Body", "", str(regular))
            self.add_font("Body", "B", str(bold if bold.is_file() else regular))
            self.family = "Body"
            self.locale = locale_code()
        else:
            self.family = "Helvetica"
            self.locale = "en"  # the core font has Latin-1 only: no Arabic, so English throughout
        self.rtl = text_direction(self.locale) == "rtl"
        if self.rtl:
            # Each paragraph takes its direction from its first letter (Unicode's bidi rules): Arabic
            # text runs right to left, a drug's Latin name ("5 days") stays as written.
            self.set_text_shaping(use_shaping_engine=True)
        self.start = "R" if self.rtl else "L"  # where lines begin
        self.end = "L" if self.rtl else "R"  # where figures line up
        self.set_auto_page_break(auto=True, margin=margin + 4)
        self.set_margins(margin, margin, margin)
        self.footer_text = ""  # a translated text with %(page)d in it

    def language(self) -> AbstractContextManager[None]:
        return force_locale(self.locale)

    def text_of(self, value: object) -> str:
        text = "" if value is None else str(value)
        if self.unicode:
            return text
        return "".join(latin1(c) for c in text)

    @property
    def width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def write_line(self, text: object, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, height, self.text_of(text), align=self.start, new_x="LMARGIN", new_y="NEXT")

    def row(
        self, cells: Sequence[tuple[float, object, str]], height: float, size: float = 10, bold: bool = False
    ) -> None:
        """One line of (width, text, "start" | "end") cells in reading order; width 0 takes the rest."""
        self.set_font(self.family, "B" if bold else "", size)
        ordered = list(reversed(cells)) if self.rtl else list(cells)
        rest = self.width - sum(w for w, _, _ in cells)
        for width, text, side in ordered:
            align = self.start if side == "start" else self.end
            self.cell(width or rest, height, self.text_of(text), align=align)
        self.ln(height)

    def columns(self, values: Sequence[object]) -> list[object]:
        """Table cells (or their widths, alignments) in the order they are drawn, left to right."""
        return list(reversed(values)) if self.rtl else list(values)

    def footer(self) -> None:
        if not self.footer_text:
            return
        self.set_y(-13)
        self.set_font(self.family, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, self.text_of(self.footer_text % {"page": self.page_no()}), align="C")
        self.set_text_color(0)
