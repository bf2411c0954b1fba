"""Every SMS text Abonent sends, in Russian, in one place.

Rules the texts follow: the account number is always masked (the last four digits), an SMS
never carries a link or a domain (a subscriber is taught that a link in an SMS is a fraud), and
each text says which category it is (``service`` or ``debt``: debt notices get their own rules).
``render`` refuses a text that breaks the link rule whatever produced it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number

Category = Literal["service", "debt"]

# A scheme, "www.", or something.tld (Latin or Cyrillic TLD) is a link to a phone's SMS app.
_LINK = re.compile(
    r"(?i)([a-z][a-z0-9+.-]*://|www\.|[\w-]+\.(ru|рф|su|com|net|org|info|online|site|me|io|app)\b)"
)


class LinkInSms(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SmsText:
    category: Category
    text: str


def check(text: str) -> str:
    if _LINK.search(text):
        raise LinkInSms("an SMS must not carry a link or a domain")
    return text


def _sms(category: Category, text: str) -> SmsText:
    return SmsText(category, check(text))


def payment_booked(
    *, account_number: str, amount_minor: int, balance_minor: int, currency: str = "RUB"
) -> SmsText:
    return _sms(
        "service",
        f"Платёж {format_money(amount_minor, currency)} зачислен на лицевой счёт "
        f"{mask_account_number(account_number)}. Баланс: {format_money(balance_minor, currency)}.",
    )


def one_time_code(*, code: str) -> SmsText:
    return _sms("service", f"Код подтверждения: {code}. Никому его не сообщайте.")


def account_details(
    *,
    account_number: str,
    debt_minor: int,
    debt_by_service: Sequence[tuple[str, int]],
    due_date: dt.date | None,
    overdue_minor: int,
    available_minor: int,
    hotline: str,
    currency: str = "RUB",
) -> SmsText:
    """What ``*100#`` sends after its screen: the details that do not fit in one."""
    masked = mask_account_number(account_number)
    if debt_minor <= 0:
        body = f"Лицевой счёт {masked}: задолженности нет."
    else:
        by_service = "; ".join(
            f"{label} {format_money(m, currency)}" for label, m in debt_by_service
        )
        body = f"Лицевой счёт {masked}: задолженность {format_money(debt_minor, currency)}"
        body += f" ({by_service})" if by_service else ""
        if due_date is not None:
            body += f", оплатить до {due_date:%d.%m.%Y}"
        if overdue_minor:
            body += f", просрочено {format_money(overdue_minor, currency)}"
        body += "."
    body += f" Доступно: {format_money(available_minor, currency)}. Справки: {hotline}."
    return _sms("service", body)


def debt_notice(
    *, account_number: str, debt_minor: int, due_date: dt.date, hotline: str, currency: str = "RUB"
) -> SmsText:
    return _sms(
        "debt",
        f"По лицевому счёту {mask_account_number(account_number)} задолженность "
        f"{format_money(debt_minor, currency)}. Оплатите до {due_date:%d.%m.%Y}, чтобы услуги "
        f"не были приостановлены. Справки: {hotline}.",
    )


def service_suspended(*, account_number: str, service_label: str, hotline: str) -> SmsText:
    return _sms(
        "debt",
        f"Услуга «{service_label}» по лицевому счёту {mask_account_number(account_number)} "
        f"приостановлена из-за задолженности. После оплаты она возобновится. Справки: {hotline}.",
    )


def service_restored(*, account_number: str, service_label: str) -> SmsText:
    return _sms(
        "service",
        f"Услуга «{service_label}» по лицевому счёту {mask_account_number(account_number)} "
        "возобновлена. Спасибо за оплату!",
    )


def promised_payment_taken(
    *,
    account_number: str,
    amount_minor: int,
    fee_minor: int,
    until: dt.date,
    currency: str = "RUB",
) -> SmsText:
    return _sms(
        "service",
        f"Обещанный платёж {format_money(amount_minor, currency)} подключён к лицевому счёту "
        f"{mask_account_number(account_number)} до {until:%d.%m.%Y}. "
        f"Плата за услугу: {format_money(fee_minor, currency)}.",
    )


def dispute_resolved(
    *,
    account_number: str,
    dispute_id: int,
    outcome: str,
    credited_minor: int,
    currency: str = "RUB",
) -> SmsText:
    """The answer to a claim: accepted (with the sum credited) or rejected (the letter explains)."""
    account = mask_account_number(account_number)
    if outcome == "rejected":
        body = f"Претензия №{dispute_id} по лицевому счёту {account} рассмотрена и отклонена."
    else:
        body = (
            f"Претензия №{dispute_id} по лицевому счёту {account} удовлетворена"
            f"{'' if outcome == 'accepted' else ' частично'}: "
            f"зачислено {format_money(credited_minor, currency)}."
        )
    return _sms("service", f"{body} Ответ направлен вам письменно.")


def request_answered(*, account_number: str, request_id: int) -> SmsText:
    return _sms(
        "service",
        f"Ответ на вашу заявку №{request_id} по лицевому счёту "
        f"{mask_account_number(account_number)} готов: он в личном кабинете "
        "(раздел «Мои обращения») и в офисе.",
    )


def login_code(*, code: str, minutes: int) -> SmsText:
    return _sms(
        "service",
        f"Код для входа в личный кабинет: {code}. Действует {minutes} мин. "
        "Никому не сообщайте этот код.",
    )


# --- the texts the domains send today, kept word for word (tests assert them exactly) ---------
# These return plain text: the callers put it in their sms.send payload with their category.
# They take no `check`: a tariff's label is staff input, and a booking or a USSD session must
# not fail over it; the number is masked and no link is composed here.
# Money here uses an ordinary space: a no-break space costs nothing in UCS-2 but some phones
# show it as a box.


def _money(minor: int, currency: str = "RUB") -> str:
    return format_money(minor, currency).replace("\u00a0", " ")


def payment_confirmation(*, amount_minor: int, currency: str, account_number: str) -> str:
    return (
        f"Платёж {_money(amount_minor, currency)} зачислен на ЛС "
        f"{mask_account_number(account_number)}"
    )


def promised_taken(
    *, amount_minor: int, fee_minor: int, currency: str, due_date: dt.date, account_number: str
) -> str:
    fee = f", плата {_money(fee_minor)}" if fee_minor else ""
    return (
        f"Обещанный платёж {_money(amount_minor, currency)} подключён "
        f"до {due_date:%d.%m.%Y}{fee}. ЛС {mask_account_number(account_number)}"
    )


@dataclass(frozen=True, slots=True)
class DebtLine:
    kind_label: str
    label: str
    debt_minor: int
    overdue_minor: int


@dataclass(frozen=True, slots=True)
class PromisedInForce:
    amount_minor: int
    owed_minor: int
    due_date: dt.date


def ussd_details(
    *,
    account_number: str,
    currency: str,
    balance_minor: int,
    debt_minor: int,
    overdue_minor: int,
    next_due_date: dt.date | None,
    debt_by_service: Sequence[DebtLine],
    available_minor: int,
    promised: PromisedInForce | None,
) -> str:
    """The SMS that follows *100#: everything the screen had no room for."""
    cur = currency
    number = mask_account_number(account_number)
    if debt_minor <= 0:
        text = f"ЛС {number}: баланс {_money(balance_minor, cur)}, долга нет."
    else:
        text = f"ЛС {number}: долг {_money(debt_minor, cur)}"
        if overdue_minor:
            text += f", просрочено {_money(overdue_minor, cur)}"
        if next_due_date:
            text += f", срок оплаты {next_due_date:%d.%m.%Y}"
        text += ". " + "; ".join(
            f"{d.kind_label} {d.label}: {_money(d.debt_minor, cur)}"
            + (f" (просрочено {_money(d.overdue_minor, cur)})" if d.overdue_minor else "")
            for d in debt_by_service
        )
        text += "."
    text += f" Доступно {_money(available_minor, cur)}."
    if promised is not None:
        text += (
            f" Обещанный платёж {_money(promised.amount_minor, cur)} до "
            f"{promised.due_date:%d.%m.%Y}, к возврату {_money(promised.owed_minor, cur)}."
        )
    return text
