"""The cabinet's Jinja2 environment: the house filters plus gettext in the request's language."""

from __future__ import annotations

import datetime as dt

import jinja2
from fastapi.templating import Jinja2Templates

from abonent.kit.money import format_money
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
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
