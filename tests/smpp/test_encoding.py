"""Splitting texts into short messages: by characters, never through an escape or a surrogate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abonent.channels.smpp import encoding


def _bodies(text: str) -> tuple[int, list[bytes]]:
    encoded = encoding.split(text)
    if len(encoded.parts) == 1:
        return encoded.data_coding, list(encoded.parts)
    return encoded.data_coding, [p[6:] for p in encoded.parts]


@pytest.mark.parametrize(
    ("text", "coding", "parts"),
    [
        ("a" * 160, 0, 1),
        ("a" * 161, 0, 2),
        ("ж" * 70, 8, 1),
        ("ж" * 71, 8, 2),
        ("ж" * 134, 8, 2),
        ("ж" * 135, 8, 3),
        ("`", 8, 1),  # not in GSM-7, although smpplib's table pads with it
    ],
)
def test_single_and_concatenated_limits(text: str, coding: int, parts: int):
    encoded = encoding.split(text)
    assert (encoded.data_coding, len(encoded.parts)) == (coding, parts)
    assert encoded.esm_class == (0x40 if parts > 1 else 0)


def test_a_gsm7_escape_pair_stays_in_one_part():
    text = "a" * 152 + "€" + "b" * 10  # '€' is ESC + 0x65: it would straddle octets 153/154
    coding, bodies = _bodies(text)
    assert coding == 0 and [len(b) for b in bodies] == [152, 12]
    assert "".join(encoding.decode(b, 0) for b in bodies) == text


def test_a_surrogate_pair_stays_in_one_part():
    text = "ж" * 66 + "😀" + "ж" * 10
    coding, bodies = _bodies(text)
    assert coding == 8 and [len(b) for b in bodies] == [132, 24]
    assert b"".join(bodies).decode("utf-16-be") == text


def test_parts_carry_one_reference_and_their_numbers():
    encoded = encoding.split("ж" * 200)
    headers = [p[:6] for p in encoded.parts]
    assert [h[:3] for h in headers] == [b"\x05\x00\x03"] * 3
    assert len({h[3] for h in headers}) == 1
    assert [(h[4], h[5]) for h in headers] == [(3, 1), (3, 2), (3, 3)]


def test_too_long_is_refused():
    with pytest.raises(ValueError, match="at most 255"):
        encoding.split("ж" * (67 * 255 + 1))


def test_decode_reads_gsm7_escapes_and_ucs2():
    assert encoding.decode(b"\x1b\x65 5", 0) == "€ 5"
    assert encoding.decode("Привет".encode("utf-16-be"), 8) == "Привет"


def test_the_gsm7_table_encodes_as_smpplib_does():
    from smpplib import gsm

    chars = [c for c in gsm.GSM_CHARACTER_TABLE if c != "`"]
    assert len(set(chars)) > 120
    for char in chars:
        assert encoding.encode_text(char) == (encoding.DATA_CODING_GSM7, gsm.gsm_encode(char))
    assert not encoding.fits_gsm7("`") and not encoding.fits_gsm7("Ж")


def test_one_part_texts_are_the_whole_text_encoded():
    assert encoding.split("Привет, мир").parts == ("Привет, мир".encode("utf-16-be"),)
    assert encoding.split("x" * 160).parts == (b"x" * 160,)
    assert len(encoding.split("x" * 161).parts) == 2
    assert len(encoding.split("Ж" * 70).parts) == 1 and len(encoding.split("Ж" * 71).parts) == 2


@given(st.text(st.sampled_from(sorted(encoding._GSM7)) | st.characters(), max_size=80))
def test_gsm7_is_exactly_the_table(text: str) -> None:
    # Each character is looked up in the table the encoder itself uses.
    assert encoding.fits_gsm7(text) == all(ch in encoding._GSM7 for ch in text)
