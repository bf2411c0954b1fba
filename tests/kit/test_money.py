from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abonent.kit.errors import InvalidInput
from abonent.kit.money import Money, format_amount, format_money, format_plain, parse_amount


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("500", 50_000),
        ("500.5", 50_050),
        ("500,50", 50_050),
        ("0.01", 1),
        (" 12.30 ", 1_230),
        ("0", 0),
        ("15000.00", 1_500_000),
    ],
)
def test_parse_amount(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("10.005", "amount_precision"),
        ("1.999", "amount_precision"),
        ("abc", "amount_malformed"),
        ("", "amount_malformed"),
        ("1e3", "amount_malformed"),
        ("-5", "amount_negative"),
        ("1 000", "amount_malformed"),
        ("NaN", "amount_malformed"),
        ("1.2.3", "amount_malformed"),
    ],
)
def test_parse_amount_refuses(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_amount(text)
    assert err.value.code == code


def test_negative_allowed_only_when_asked() -> None:
    assert parse_amount("-1.50", allow_negative=True) == -150


@given(st.integers(min_value=0, max_value=10**15))
def test_plain_format_round_trips(minor: int) -> None:
    assert parse_amount(format_plain(minor)) == minor


def test_formatting() -> None:
    assert format_money(123_456_78) == "123\u00a0456,78\u00a0₽"
    assert format_plain(-5) == "-0.05"
    assert str(Money(50_000)) == "500,00\u00a0₽"


def test_money_refuses_floats_and_mixed_currency() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency"):
        Money(1, "RUB") + Money(1, "USD")
    assert (Money(300) - Money(100)).minor == 200


@pytest.mark.parametrize("text", ["١٠", "１０", "10.٥", "²"])
def test_only_ascii_digits_are_amounts(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_amounts_group_by_thousands_with_no_break_spaces(minor: int) -> None:
    major, rest = divmod(abs(minor), 100)
    expected = ("-" if minor < 0 else "") + f"{major:,}".replace(",", "\u00a0") + f",{rest:02d}"
    assert format_amount(minor) == expected
    assert format_amount(99_999) == "999,99" and format_amount(100_000) == "1\u00a0000,00"
