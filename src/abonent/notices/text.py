"""The debt notice text: what the subscriber reads, checked for links before and after filling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from abonent.kit.errors import InvalidInput
from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number
from abonent.notices.links import ensure_no_link

DEFAULT_TEMPLATE = (
    "Долг по л/с {account} (лицевой счёт — номер договора, не номер телефона): {amount}, "
    "оплатить до {due_date}. Услуги: {services}. Код проверки {code}. "
    "Проверить: *100*7*{code}# или {hotline}."
)
_FIELDS = ("account", "amount", "due_date", "services", "code", "hotline")


@dataclass(frozen=True)
class NoticeTemplate:
    sender: str
    text: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        if not self.sender or len(self.sender) > 11:
            raise InvalidInput("Имя отправителя: от 1 до 11 символов", code="notice_sender")
        ensure_no_link(self.sender)
        ensure_no_link(self.text)
        for field in ("account", "amount", "code"):
            if "{" + field + "}" not in self.text:
                raise InvalidInput(f"В шаблоне нет поля {{{field}}}", code="notice_template_field")


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
