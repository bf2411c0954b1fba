"""The one check that keeps links out of debt notice templates.

A debt SMS never carries a link (DESIGN §9): the fraud it must be told apart from always does, so
a template that looks like it holds a URL, a domain or a short link is refused when it is saved
(``notices.templates.save``) and again whenever it is read to render a notice
(``notices.templates.in_use``, through ``notices.text.check_template_text``); so are the sender
name and every filled debt text before it is queued (``contact.service``).  The check errs on
refusing: a sentence must be separated from the next by a space after its full stop
("договора. Сумма"), because "договора.Сумма" is indistinguishable from a domain.
"""

from __future__ import annotations

import re
import unicodedata

from abonent.kit.errors import InvalidInput

# TLDs a tricked-out spelling ("example . com", "mts [.] ru") is matched against; an unspaced
# "word.word" is refused whatever its ending.
_TLDS = (
    "ru|su|rf|рф|com|net|org|info|biz|pro|online|site|store|shop|club|xyz|top|link|click|app|"
    "io|me|ly|co|cc|tk|ml|ga|gq|cf|to|gl|gd|ws|tv|us|uk|de|kz|by|ua|eu|moscow|москва|рус|онлайн|сайт"
)
_SCHEME = re.compile(r"(?i)\b(?:https?|ftp|hxxps?)\s*:\s*/\s*/|\bwww\s*\.")
_UNSPACED = re.compile(r"(?i)[^\W_][\w-]*\.(?:xn--[\w-]+|[^\W\d_]{2,})\b")
_DOT = r"(?:\s*\.\s*|\s*[\[(]\s*(?:\.|dot|точка)\s*[\])]\s*|\s+(?:dot|точка)\s+)"
_SPACED = re.compile(rf"(?i)[^\W_][\w-]*{_DOT}(?:{_TLDS}|xn--[\w-]+)(?![^\W_])")
_PUNYCODE = re.compile(r"(?i)\bxn--")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _normalise(text: str) -> str:
    # Full-width and other compatibility forms ("ｗｗｗ．", "。") fold to ASCII; the ideographic and
    # other full stops a phone renders as a dot are read as one.
    folded = unicodedata.normalize("NFKC", text)
    folded = folded.replace("。", ".").replace("｡", ".").replace("․", ".")
    folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _PLACEHOLDER.sub(" ", folded)


def find_link(text: str) -> str | None:
    """The first thing in ``text`` that reads as a URL, domain or short link, else None."""
    norm = _normalise(text)
    for pattern in (_SCHEME, _PUNYCODE, _UNSPACED, _SPACED):
        found = pattern.search(norm)
        if found:
            return found.group(0)
    return None


def ensure_no_link(text: str) -> None:
    """Refuse text holding a link: a template (saved or read), a sender name, a filled text."""
    found = find_link(text)
    if found is not None:
        raise InvalidInput(
            f"Шаблон уведомления о долге не может содержать ссылку или домен: «{found.strip()}»",
            code="notice_template_link",
        )
