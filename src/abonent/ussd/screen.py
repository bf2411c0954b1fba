"""How much fits on one USSD screen, counted in the encoding the text actually needs.

A USSD string carries at most 160 octets (DESIGN §4): 182 characters when every character is
in the GSM 03.38 alphabet (7 bits each; the extension table's characters, such as ``€`` or
``{``, take two), else UCS-2 at 2 octets per UTF-16 code unit, 80 characters. Cyrillic is not in
GSM 03.38, so a Russian screen always has 80. The codec is the ``gsm0338`` package's.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401 - registers the 'gsm03.38' codec

OCTETS = 160
GSM7_LIMIT = OCTETS * 8 // 7  # 182 septets
UCS2_LIMIT = OCTETS // 2  # 80 code units
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Budget:
    encoding: Literal["gsm7", "ucs2"]
    used: int
    """Septets (gsm7) or UTF-16 code units (ucs2)."""
    limit: int

    @property
    def fits(self) -> bool:
        return self.used <= self.limit


def _alphabet() -> tuple[frozenset[str], frozenset[str]]:
    """GSM 03.38's basic and extension characters, read once from the codec's own table
    (asking the codec to encode every screen measured 0.2 ms per *100# screen)."""
    basic: set[str] = set()
    extension: set[str] = set()
    for septet in range(128):
        if septet == 0x1B:
            continue
        with contextlib.suppress(UnicodeDecodeError):
            basic.update(bytes([septet]).decode("gsm03.38"))
        with contextlib.suppress(UnicodeDecodeError):
            extension.update(bytes([0x1B, septet]).decode("gsm03.38"))
    return frozenset(basic), frozenset(extension - basic)


BASIC, EXTENSION = _alphabet()
_GSM7 = BASIC | EXTENSION
# The same alphabet as character classes: a screen is measured several times while it is
# composed, and a set built from each candidate (then a Budget for each) was ~9 % of the server
# CPU of a *100# request (py-spy, one worker under wrk); a regex search is done in C.
_NOT_GSM7 = re.compile("[^" + "".join(re.escape(ch) for ch in sorted(_GSM7)) + "]")
_EXTENDED = re.compile("[" + "".join(re.escape(ch) for ch in sorted(EXTENSION)) + "]")


def _units(text: str) -> tuple[bool, int]:
    """(all GSM 03.38?, septets if so, else UTF-16 code units)."""
    if _NOT_GSM7.search(text) is None:
        return True, len(text) + len(_EXTENDED.findall(text))
    return False, len(text.encode("utf-16-le")) // 2


def budget(text: str) -> Budget:
    gsm7, used = _units(text)
    if gsm7:
        return Budget("gsm7", used, GSM7_LIMIT)
    return Budget("ucs2", used, UCS2_LIMIT)


def fits(text: str) -> bool:
    gsm7, used = _units(text)
    return used <= (GSM7_LIMIT if gsm7 else UCS2_LIMIT)


def compose(parts: list[tuple[str, int]]) -> str:
    """Lines with a priority each (0: must stay), in screen order.

    While the screen is too long, the line of the highest priority number goes first (the
    lowest on screen among equals). If the required lines alone are too long, the screen is
    cut with an ellipsis: a screen is never refused for its length.
    """
    kept = [(i, line, rank) for i, (line, rank) in enumerate(parts) if line]
    while not fits("\n".join(line for _i, line, _r in kept)):
        droppable = [k for k in kept if k[2] > 0]
        if not droppable:
            break
        victim = max(droppable, key=lambda k: (k[2], k[0]))
        kept.remove(victim)
    return truncate("\n".join(line for _i, line, _r in kept))


def first_fitting(*candidates: str) -> str:
    """The first candidate screen that fits (the last one, cut, if none does)."""
    for text in candidates:
        if fits(text):
            return text
    return truncate(candidates[-1])


def truncate(text: str) -> str:
    if fits(text):
        return text
    cut = text
    while cut and not fits(cut + ELLIPSIS):
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS
