"""Account numbers (12 digits, Luhn check digit), MSISDNs (E.164 via phonenumbers), masking."""

from __future__ import annotations

import random
import re
import secrets

import phonenumbers

from abonent.kit.errors import InvalidInput

_DIGITS = re.compile(r"^[0-9]+$")


def luhn_check_digit(payload: str) -> str:
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return bool(_DIGITS.match(number)) and luhn_check_digit(number[:-1]) == number[-1]


def generate_account_number(rng: random.Random | None = None, length: int = 12) -> str:
    """A fresh number: first digit 1-9 so it never loses a leading zero in a spreadsheet."""
    if rng is None:
        body = str(secrets.randbelow(9) + 1) + "".join(
            str(secrets.randbelow(10)) for _ in range(length - 2)
        )
    else:
        body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 2))
    return body + luhn_check_digit(body)


def clean_account_number(raw: str) -> str:
    """Strip the spaces and dashes people type; keep only what could be a number."""
    return re.sub(r"[\s\-]", "", raw or "")


def validate_account_number(
    raw: str, *, length: int = 12, legacy_pattern: str | None = None
) -> str:
    """Return the normalised number, or raise: a mistyped number is told apart from an unknown one.

    ``account_number_format``: not the right shape at all; ``account_number_check_digit``: the
    right shape but the check digit does not match (a typo).
    """
    if legacy_pattern and re.fullmatch(legacy_pattern, (raw or "").strip()):
        return (raw or "").strip()
    number = clean_account_number(raw)
    if legacy_pattern and re.fullmatch(legacy_pattern, number):
        return number
    if not _DIGITS.match(number) or len(number) != length:
        raise InvalidInput(f"account number must be {length} digits", code="account_number_format")
    if not luhn_valid(number):
        raise InvalidInput(
            "account number check digit does not match (mistyped?)",
            code="account_number_check_digit",
        )
    return number


def mask_account_number(number: str) -> str:
    return "****" + number[-4:]


def normalize_msisdn(raw: str, *, regions: tuple[str, ...] = ("RU",)) -> str:
    """Parse a phone number typed any usual way (8 916…, +7 (916)…, 7916…) into E.164."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidInput("phone number is empty or too long", code="msisdn_malformed")
    try:
        parsed = phonenumbers.parse(text, regions[0])
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", code="msisdn_malformed") from exc
    region = phonenumbers.region_code_for_number(parsed)
    if not phonenumbers.is_valid_number(parsed) or region not in regions:
        raise InvalidInput(
            f"not a valid number in {', '.join(regions)}: {raw!r}", code="msisdn_invalid"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_msisdn(msisdn: str) -> str:
    """+79161234567 -> +7 916 ***-**-67"""
    if len(msisdn) == 12 and msisdn.startswith("+7"):
        return f"+7 {msisdn[2:5]} ***-**-{msisdn[-2:]}"
    return msisdn[:4] + "*" * max(len(msisdn) - 6, 0) + msisdn[-2:]


def mask_name(full_name: str) -> str:
    """'Иванов Иван Иванович' -> 'И***** И. И.': what an agent may show the payer."""
    parts = full_name.split()
    if not parts:
        return ""
    return " ".join([parts[0][0] + "*" * (len(parts[0]) - 1)] + [p[0] + "." for p in parts[1:]])
