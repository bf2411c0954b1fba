"""What a person looks like to staff before the check, and to roles that see masked data."""

from __future__ import annotations


def mask_name(full_name: str) -> str:
    """'Иванов Иван Иванович' -> 'Иванов И. И.'"""
    parts = full_name.split()
    if not parts:
        return ""
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:])])


def mask_msisdn(e164: str) -> str:
    """'+79161234567' -> '+7 916 ***-**-67'"""
    if len(e164) < 6:
        return "***"
    return f"{e164[:2]} {e164[2:5]} ***-**-{e164[-2:]}"
