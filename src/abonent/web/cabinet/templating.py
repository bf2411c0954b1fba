"""The cabinet's Jinja2 environment: the house filters plus gettext in the request's language."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import jinja2
from fastapi.templating import Jinja2Templates

from abonent.config import get_settings
from abonent.kit.money import format_amount, format_money
from abonent.kit.numbers import mask_account_number
from abonent.web import i18n
from abonent.web.templating import TEMPLATES_DIR

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)
templates.env.filters["money"] = format_money
templates.env.filters["masked_account"] = mask_account_number
templates.env.filters["date"] = lambda day: f"{day:%d.%m.%Y}" if isinstance(day, dt.date) else ""


def _local_datetime(moment: object) -> str:
    """A moment as the subscriber reads it: dd.mm.yyyy hh:mm in the operator's time zone."""
    if not isinstance(moment, dt.datetime):
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return f"{aware.astimezone(ZoneInfo(get_settings().timezone)):%d.%m.%Y %H:%M}"


templates.env.filters["datetime"] = _local_datetime
templates.env.filters["amount"] = format_amount
# One Idempotency-Key per rendered payment form: a double submit or a retry of the same form
# starts one card payment, a new visit of the page a new one.
templates.env.globals["form_key"] = lambda: uuid.uuid4().hex
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
