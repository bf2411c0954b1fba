"""The shared input rules (``kit.inputs``) for the CLI's text options and arguments.

A name or a code typed at a shell may carry what a paste brought along (a NUL, an escape
sequence, a stray newline); refused here, it is a usage error (exit 2) naming the option, before
anything connects to the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import typer

from abonent.kit.inputs import check_text


def text(max_length: int) -> Callable[[str | None], str | None]:
    """A Typer ``callback=`` for a one-line text of at most ``max_length`` characters."""

    def validate(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_text(value, max_length=max_length)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return validate


def day(value: str | None) -> dt.date | None:
    """A Typer ``callback=`` for a date typed as YYYY-MM-DD (None when the option is not given)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected YYYY-MM-DD") from None
