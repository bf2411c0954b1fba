"""The Jinja2 environment every HTML page renders with (autoescaped; Russian money format)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["money"] = format_money
templates.env.filters["masked_account"] = mask_account_number
