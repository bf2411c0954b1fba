"""The console's Jinja2 environment: the house money format, dates in the operator's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jinja2
from fastapi.templating import Jinja2Templates

from abonent.config import get_settings
from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number
from abonent.web.templating import TEMPLATES_DIR


def _date(day: object) -> str:
    if isinstance(day, dt.datetime):
        day = day.astimezone(ZoneInfo(get_settings().timezone)).date()
    return f"{day:%d.%m.%Y}" if isinstance(day, dt.date) else ""


def _moment(at: object) -> str:
    """An instant as the desk reads it: '18.11.2026 15:00' in the operator's time zone."""
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            return ""
    if not isinstance(at, dt.datetime):
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return f"{at.astimezone(ZoneInfo(get_settings().timezone)):%d.%m.%Y %H:%M}"


templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
)
templates.env.filters["money"] = format_money
templates.env.filters["masked_account"] = mask_account_number
templates.env.filters["date"] = _date
templates.env.filters["moment"] = _moment
