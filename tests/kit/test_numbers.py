from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import (
    generate_account_number,
    luhn_valid,
    mask_account_number,
    mask_msisdn,
    mask_name,
    normalize_msisdn,
    validate_account_number,
)
from abonent.kit.pii import PiiCipher, mask_passport, normalize_passport


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_numbers_are_valid_and_every_single_typo_is_caught(seed: int) -> None:
    number = generate_account_number(random.Random(seed))
    assert len(number) == 12 and number[0] != "0" and luhn_valid(number)
    position = seed % 12
    typo = str((int(number[position]) + 1 + seed % 9) % 10)
    mistyped = number[:position] + typo + number[position + 1 :]
    assert mistyped == number or not luhn_valid(mistyped)


def test_validate_tells_format_from_check_digit() -> None:
    good = generate_account_number(random.Random(1))
    assert validate_account_number(f" {good[:4]} {good[4:8]}-{good[8:]} ") == good
    bad_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(InvalidInput) as err:
        validate_account_number(bad_digit)
    assert err.value.code == "account_number_check_digit"
    for raw in ("12345", "abcdefghijkl", "", good + "0"):
        with pytest.raises(InvalidInput) as err:
            validate_account_number(raw)
        assert err.value.code == "account_number_format"


def test_legacy_pattern_accepts_other_numbers() -> None:
    assert validate_account_number("LS-0042", legacy_pattern=r"LS-\d{4}") == "LS-0042"


@pytest.mark.parametrize(
    "raw", ["8 916 123-45-67", "+7 (916) 123 45 67", "79161234567", "+79161234567"]
)
def test_msisdn_normalised(raw: str) -> None:
    assert normalize_msisdn(raw) == "+79161234567"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("12", "msisdn_invalid"),
        ("hello", "msisdn_malformed"),
        ("+1 202 555 0101", "msisdn_invalid"),
        ("", "msisdn_malformed"),
    ],
)
def test_msisdn_refused(raw: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize_msisdn(raw)
    assert err.value.code == code


def test_masks() -> None:
    assert mask_account_number("401234567890") == "****7890"
    assert mask_msisdn("+79161234567") == "+7 916 ***-**-67"
    assert mask_name("Иванов Иван Иванович") == "И***** И. И."
    assert mask_passport("4510123456") == "45** ***456"


def test_passport_encrypted_and_hashed_with_keys() -> None:
    cipher = PiiCipher(b"k" * 32, b"h" * 32)
    normalized = normalize_passport("45 10 123456")
    blob = cipher.encrypt(normalized)
    assert normalized.encode() not in blob
    assert cipher.decrypt(blob) == "4510123456"
    assert cipher.encrypt(normalized) != blob  # a fresh nonce every time
    assert cipher.lookup_hash(normalized) == cipher.lookup_hash("4510123456")
    assert PiiCipher(b"k" * 32, b"x" * 32).lookup_hash(normalized) != cipher.lookup_hash(normalized)
    with pytest.raises(InvalidInput):
        normalize_passport("45 10 12345")


def test_only_ascii_digits_make_account_numbers_and_passports() -> None:
    with pytest.raises(InvalidInput):
        validate_account_number("١٢٣٤٥٦٧٨٩٠١٢")
    with pytest.raises(InvalidInput):
        normalize_passport("４５１０１２３４５６")
