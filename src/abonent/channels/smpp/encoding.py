"""Short-message text on the wire: GSM-7 when it fits, UCS-2 otherwise, split with a UDH.

smpplib's own ``gsm.make_parts`` cuts the encoded bytes at fixed offsets, which can split a GSM-7
escape pair or a UTF-16 surrogate pair between two parts; this splits by characters instead and
only borrows smpplib's GSM-7 table.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from smpplib import gsm

DATA_CODING_GSM7 = 0
DATA_CODING_UCS2 = 8
ESM_CLASS_UDHI = 0x40

# One SMS carries 140 octets: 160 GSM-7 septets (sent unpacked, one octet each, as SMSCs expect
# over SMPP) or 70 UCS-2 characters; a 6-octet concatenation UDH leaves 153 and 67 per part.
_SINGLE = {DATA_CODING_GSM7: 160, DATA_CODING_UCS2: 140}
_PART = {DATA_CODING_GSM7: 153, DATA_CODING_UCS2: 134}
MAX_PARTS = 255

_references = itertools.cycle(range(256))


@dataclass(frozen=True, slots=True)
class Encoded:
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]
    """Each part's ``short_message`` (UDH included when there are several)."""


def _gsm7_table() -> dict[str, bytes]:
    # smpplib's table pads unused positions with a backtick, which GSM-7 itself does not have;
    # past 0x80 a position is an escape pair (0x1B, position - 0x80).
    table: dict[str, bytes] = {}
    for index, char in enumerate(gsm.GSM_CHARACTER_TABLE):
        if char == "`" or char in table:
            continue
        table[char] = bytes((index,)) if index < 0x80 else bytes((0x1B, index - 0x80))
    return table


_GSM7: dict[str, bytes] = _gsm7_table()
# Asked of every SMS the relay sends: a regex search runs in C where a generator over the text
# was ~3 % of the relay's CPU per SMS (py-spy over bench/bench_sms.py).
_NOT_GSM7 = re.compile("[^" + "".join(re.escape(ch) for ch in sorted(_GSM7)) + "]")


def _gsm7(char: str) -> bytes | None:
    return _GSM7.get(char)


def _ucs2(char: str) -> bytes:
    return char.encode("utf-16-be")


def fits_gsm7(text: str) -> bool:
    return _NOT_GSM7.search(text) is None


def encode_text(text: str) -> tuple[int, bytes]:
    """The text as one short message body: (data_coding, octets)."""
    if fits_gsm7(text):
        return DATA_CODING_GSM7, b"".join(_GSM7[c] for c in text)
    return DATA_CODING_UCS2, text.encode("utf-16-be")


def split(text: str) -> Encoded:
    """Encode ``text`` for SMS: one part if it fits, else concatenated parts with a UDH."""
    coding, whole = encode_text(text)
    if len(whole) <= _SINGLE[coding]:
        # Most messages: one part, encoded in one call (no per-character work).
        return Encoded(coding, 0, (whole,))
    encode = _GSM7.__getitem__ if coding == DATA_CODING_GSM7 else _ucs2
    chunks: list[bytes] = []
    current = b""
    for octets in map(encode, text):
        if len(current) + len(octets) > _PART[coding]:
            chunks.append(current)
            current = b""
        current += octets
    chunks.append(current)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(chunks)} parts; at most {MAX_PARTS} can be joined")
    ref = next(_references)
    total = len(chunks)
    parts = tuple(bytes((5, 0, 3, ref, total, n)) + chunk for n, chunk in enumerate(chunks, 1))
    return Encoded(coding, ESM_CLASS_UDHI, parts)


def decode(octets: bytes, data_coding: int) -> str:
    """A received short message as text (UCS-2, GSM-7 unpacked, else Latin-1)."""
    if data_coding == DATA_CODING_UCS2:
        return octets.decode("utf-16-be", errors="replace")
    if data_coding in (DATA_CODING_GSM7, 0x0F):
        table = gsm.GSM_CHARACTER_TABLE
        out: list[str] = []
        escape = False
        for byte in octets:
            if escape:
                out.append(table[byte + 0x80] if byte + 0x80 < len(table) else "?")
                escape = False
            elif byte == 0x1B:
                escape = True
            else:
                out.append(table[byte] if byte < 0x80 else "?")
        return "".join(out)
    return octets.decode("latin-1")


def udh_parts(short_message: bytes) -> tuple[int, int, int, bytes] | None:
    """(reference, total, number, body) of a concatenated part, or None for a whole message."""
    if len(short_message) < 6 or short_message[0] != 5 or short_message[1] != 0:
        return None
    return short_message[3], short_message[4], short_message[5], short_message[6:]
