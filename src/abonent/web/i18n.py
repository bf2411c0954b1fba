"""Page languages: Russian by default, English on request, through Babel catalogues.

The .po files under ``web/locale`` are the source; they are compiled in memory at import
(babel.messages.mofile), which takes milliseconds and means no build step and no committed .mo
that could drift from its .po. The language is chosen per request: the ``lang`` cookie set by the
switch link, else the best of Accept-Language, else Russian. Templates call ``_()`` (or
``{% trans %}``); the callables read the request's language from a context variable, so one
Jinja2 environment serves every language. Money and dates are not translated: kit/money.py
formats them the one way.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ru", "en")
DEFAULT = "ru"
COOKIE = "lang"


def _load(language: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_CATALOGUES = {language: _load(language) for language in LANGUAGES}
_current: ContextVar[str] = ContextVar("page_language", default=DEFAULT)


def choose(request: Request) -> str:
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    weighted: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            weighted.append((q, primary))
    return max(weighted, key=lambda w: w[0])[1] if weighted else DEFAULT


def activate(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    return _CATALOGUES[_current.get()].gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return _CATALOGUES[_current.get()].ngettext(singular, plural, n)
