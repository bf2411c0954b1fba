"""One USSD screen: 182 GSM-7 characters or 80 UCS-2 ones, and Cyrillic forces UCS-2."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from abonent.ussd.screen import BASIC, EXTENSION, budget, compose, first_fitting, fits, truncate

# Characters of every kind a screen can hold: GSM 03.38's basic table and its extension
# table, Cyrillic, other BMP letters, characters outside the BMP, line breaks.
_MIXED = st.text(
    st.sampled_from(sorted(BASIC))
    | st.sampled_from(sorted(EXTENSION))
    | st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)
    | st.sampled_from(["€", "…", "№", "😀", "\n", "ё", "ç"]),
    max_size=200,
)


def test_encoding_and_limit_follow_the_text() -> None:
    assert budget("Balance 12.50 RUB") == budget("Balance 12.50 RUB")
    latin = budget("A" * 182)
    assert (latin.encoding, latin.used, latin.limit, latin.fits) == ("gsm7", 182, 182, True)
    assert not fits("A" * 183)
    # The extension table's characters take two septets.
    assert budget("€" * 91).used == 182 and not fits("€" * 92)
    cyrillic = budget("Д" * 80)
    assert (cyrillic.encoding, cyrillic.used, cyrillic.limit, cyrillic.fits) == (
        "ucs2",
        80,
        80,
        True,
    )
    # One Cyrillic letter turns a long Latin screen into a too long UCS-2 one.
    assert not fits("A" * 80 + "Д")
    # Outside the BMP a character is two UTF-16 code units.
    assert budget("😀" * 40).used == 80 and not fits("😀" * 41)


def test_compose_drops_the_least_important_lines_first() -> None:
    required = "Д" * 30
    text = compose([(required, 0), ("Ж" * 20, 2), ("З" * 20, 1), ("И" * 20, 3)])
    assert text == f"{required}\n{'Ж' * 20}\n{'З' * 20}"
    assert len(text) == 72


def test_a_screen_is_never_longer_than_one() -> None:
    text = truncate("Ы" * 200)
    assert len(text) == 80 and text.endswith("…")
    assert first_fitting("Ы" * 81, "short") == "short"
    assert compose([("Ы" * 100, 0)]) == "Ы" * 79 + "…"


def test_the_alphabet_is_the_codecs() -> None:
    import gsm0338  # noqa: F401

    for text in ("Hello {world} [1] ~ € ^ | \\", "Ñandú Øre ÆØÅ £5 §", "`tick`", "Долг", "A" * 3):
        try:
            septets: int | None = len(text.encode("gsm03.38"))
        except UnicodeEncodeError:
            septets = None
        got = budget(text)
        assert (got.used if got.encoding == "gsm7" else None) == septets, text


@given(_MIXED)
def test_the_measure_is_the_codecs_own(text: str) -> None:
    # The reference is the gsm0338 codec itself (one septet per unpacked octet) or UTF-16.
    try:
        expected = ("gsm7", len(text.encode("gsm03.38")), 182)
    except UnicodeEncodeError:
        expected = ("ucs2", len(text.encode("utf-16-le")) // 2, 80)
    measured = budget(text)
    assert (measured.encoding, measured.used, measured.limit) == expected
    assert fits(text) == (expected[1] <= expected[2])
