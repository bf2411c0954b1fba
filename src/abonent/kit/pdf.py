"""PDF documents (statements, statements of debt, court drafts) built with fpdf2.

One place chooses the font, so that every document renders Cyrillic: fpdf2's built-in fonts are
Latin-1 only, and DejaVu Sans (Debian's ``fonts-dejavu-core``, installed by ``make venv`` when
missing) covers Russian and the rouble sign. The builder is deliberately small: a title, lines of
text and tables of left/right-aligned columns are all our documents need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/local/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)
FAMILY = "DejaVu"


class FontMissing(RuntimeError):
    """No DejaVu Sans on this machine (``apt-get install fonts-dejavu-core``)."""


def _font(name: str) -> Path:
    for directory in FONT_DIRS:
        path = directory / name
        if path.is_file():
            return path
    raise FontMissing(f"{name} not found in {', '.join(map(str, FONT_DIRS))}")


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: float
    """Millimetres."""
    align: str = "L"
    """'L' for text, 'R' for amounts."""


class Document:
    """An A4 portrait document with the house font; ``bytes()`` gives the finished file."""

    def __init__(self, title: str, *, author: str = "Abonent") -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.add_font(FAMILY, "", str(_font("DejaVuSans.ttf")))
        pdf.add_font(FAMILY, "B", str(_font("DejaVuSans-Bold.ttf")))
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_creator("Abonent")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        self._pdf = pdf
        self.heading(title, size=14)

    @property
    def width(self) -> float:
        """Printable width in millimetres."""
        return float(self._pdf.epw)

    def heading(self, text: str, *, size: float = 12) -> None:
        self._pdf.set_font(FAMILY, "B", size)
        self._pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(2)

    def line(self, text: str, *, bold: bool = False, size: float = 10) -> None:
        self._pdf.set_font(FAMILY, "B" if bold else "", size)
        self._pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, mm: float = 3) -> None:
        self._pdf.ln(mm)

    def table(
        self, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, size: float = 9
    ) -> None:
        """A ruled table; the header row repeats on every page the table spans."""
        pdf = self._pdf
        height = size * 0.6

        def header() -> None:
            pdf.set_font(FAMILY, "B", size)
            for column in columns:
                pdf.cell(column.width, height, column.title, border=1, align="C")
            pdf.ln(height)
            pdf.set_font(FAMILY, "", size)

        header()
        for row in rows:
            if pdf.will_page_break(height):
                pdf.add_page()
                header()
            for column, value in zip(columns, row, strict=True):
                pdf.cell(column.width, height, value, border=1, align=column.align)
            pdf.ln(height)
        pdf.ln(2)

    def bytes(self) -> bytes:
        return bytes(self._pdf.output())
