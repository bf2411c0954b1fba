"""The debt notice text: what the subscriber reads, checked for links before and after filling.

A template (the built-in :data:`DEFAULT_TEMPLATE` or one saved with ``abonent notices template
save``) is checked by :func:`check_template_text` whenever a :class:`NoticeTemplate` is made: when
it is saved and again whenever it is read to render a notice.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import text_fault
from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number
from abonent.notices.links import ensure_no_link

DEFAULT_TEMPLATE = (
    "Долг по л/с {account} (лицевой счёт — номер договора, не номер телефона): {amount}, "
    "оплатить до {due_date}. Услуги: {services}. Код проверки {code}. "
    "Проверить: *100*7*{code}# или {hotline}."
)
_FIELDS = ("account", "amount", "due_date", "services", "code", "hotline")
FIELD_NAMES = {
    "account": "номер лицевого счёта (маскированный)",
    "amount": "сумма долга",
    "due_date": "срок оплаты",
    "services": "услуги",
    "code": "код проверки",
    "hotline": "телефон горячей линии",
}
# The subscriber must be told the account number is not their phone number (the fraud this
# notice is told apart from asks to "pay to this number"); the words are required as they stand.
EXPLANATION = "лицевой счёт — номер договора, не номер телефона"
MAX_LENGTH = 1000  # contact_messages.text, and far more than an SMS of 6 parts holds
_DASHES = re.compile(r"\s*[-‐‑‒–—―]+\s*")


def _plain(text: str) -> str:
    # Case, ё/е, the kind of dash and spacing do not change what the sentence says.
    lowered = " ".join(text.casefold().replace("ё", "е").split())
    return _DASHES.sub(" — ", lowered)


def check_template_text(text: str) -> str:
    """``text`` as a debt notice template, or InvalidInput with a stable code and a Russian
    message: no link (``notice_template_link``), every field once at least and no other
    (``notice_template_field``), the account explanation (``notice_template_explanation``),
    plain text of 1 to 1000 characters (``notice_template_text``)."""
    body = (text or "").strip()
    if not body or len(body) > MAX_LENGTH:
        raise InvalidInput(
            f"Шаблон уведомления: от 1 до {MAX_LENGTH} символов", code="notice_template_text"
        )
    fault = text_fault(body, multiline=True)
    if fault:
        raise InvalidInput(
            f"Шаблон уведомления содержит недопустимый символ ({fault})",
            code="notice_template_text",
        )
    ensure_no_link(body)
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise InvalidInput(
            "В шаблоне непарная фигурная скобка: поле пишется как {amount}",
            code="notice_template_field",
        ) from exc
    used = set()
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field in _FIELDS and (spec or conversion):
            raise InvalidInput(
                f"Поле {{{field}}} пишется без формата и преобразования",
                code="notice_template_field",
            )
        if field not in _FIELDS:
            raise InvalidInput(
                f"В шаблоне неизвестное поле {{{field}}}; допустимы: "
                + ", ".join("{" + f + "}" for f in _FIELDS),
                code="notice_template_field",
            )
        used.add(field)
    for field in _FIELDS:
        if field not in used:
            raise InvalidInput(
                f"В шаблоне нет поля {{{field}}} ({FIELD_NAMES[field]})",
                code="notice_template_field",
                field=field,
            )
    if _plain(EXPLANATION) not in _plain(body):
        raise InvalidInput(
            f"В шаблоне нет пояснения «{EXPLANATION}»", code="notice_template_explanation"
        )
    return body


@dataclass(frozen=True)
class NoticeTemplate:
    sender: str
    text: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        if not self.sender or len(self.sender) > 11:
            raise InvalidInput("Имя отправителя: от 1 до 11 символов", code="notice_sender")
        ensure_no_link(self.sender)
        check_template_text(self.text)


def render(
    template: NoticeTemplate,
    *,
    account_number: str,
    amount_minor: int,
    due_date: dt.date,
    services: Sequence[str],
    code: str,
    hotline: str,
) -> str:
    values = {
        "account": mask_account_number(account_number),
        "amount": format_money(amount_minor),
        "due_date": f"{due_date:%d.%m.%Y}",
        "services": ", ".join(services),
        "code": code,
        "hotline": hotline,
    }
    try:
        body = template.text.format(**{k: values[k] for k in _FIELDS})
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInput(
            "Шаблон содержит неизвестное поле", code="notice_template_field"
        ) from exc
    # A service name comes from the catalogue, not the template: it is checked here as well.
    ensure_no_link(body)
    return body


def handover_text(
    *, account_number: str, amount_minor: int, agency: str, agency_inn: str, hotline: str
) -> str:
    """The debtor's notice of the hand-over to an agency (230-FZ art. 9), naming the agency."""
    body = (
        f"Долг по л/с {mask_account_number(account_number)} (лицевой счёт — номер договора, "
        f"не номер телефона) {format_money(amount_minor)} передан для взыскания агентству "
        f"{agency}, ИНН {agency_inn}. Справки: {hotline}."
    )
    ensure_no_link(body)
    return body
