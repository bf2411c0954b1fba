"""The promised payment's rules as pure functions of configuration and facts (no I/O).

The service gathers the facts (account, debt, history) under the account's lock and asks here
whether and how much; every refusal is a code and a reason the subscriber can read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from abonent.config import PromisedPaymentSettings
from abonent.kit.money import format_money
from abonent.promised.errors import PromisedAmountInvalid, PromisedRefused


@dataclass(frozen=True, slots=True)
class Facts:
    account_status: str
    account_opened_at: dt.datetime
    now: dt.datetime
    debt_minor: int
    overdue_minor: int
    taken_this_month: int
    """Promised payments taken since the first of this month (any status)."""
    monthly_charges_minor: int
    """Sum of the charges of the history window (the last full calendar months)."""
    in_force_until: dt.date | None
    currency: str = "RUB"


def money(minor: int, currency: str = "RUB") -> str:
    return format_money(minor, currency).replace("\u00a0", " ")


def day(date: dt.date) -> str:
    return f"{date:%d.%m.%Y}"


def fee_for(amount_minor: int, rules: PromisedPaymentSettings) -> int:
    """The fee of the first band (ascending ``up_to_minor``) the amount fits in."""
    for band in sorted(rules.fee_bands, key=lambda b: b.up_to_minor):
        if amount_minor <= band.up_to_minor:
            return band.fee_minor
    # Above every band: the last band's fee (the cap should keep amounts inside the table).
    return max(rules.fee_bands, key=lambda b: b.up_to_minor).fee_minor if rules.fee_bands else 0


def max_amount(monthly_charges_minor: int, rules: PromisedPaymentSettings) -> int:
    """The average monthly charge times the share, capped; whole roubles."""
    average = monthly_charges_minor // rules.history_months
    by_history = average * rules.share_percent // 100
    return min(rules.cap_minor, by_history // 100 * 100)


def menu(maximum: int, need_minor: int, rules: PromisedPaymentSettings) -> list[int]:
    """The amounts to offer: the configured steps up to ``maximum``, and no more steps beyond
    the first that covers what is overdue (more would only cost a higher fee)."""
    steps = sorted({a for a in rules.menu_minor if rules.min_amount_minor <= a <= maximum})
    if not steps and maximum >= rules.min_amount_minor:
        steps = [maximum]
    offered: list[int] = []
    for amount in steps:
        offered.append(amount)
        if amount >= need_minor:
            break
    return offered


def check(facts: Facts, rules: PromisedPaymentSettings) -> int:
    """Raise ``PromisedRefused`` if not eligible; else return the maximum amount."""
    if not rules.enabled:
        raise PromisedRefused(
            "обещанный платёж сейчас не предоставляется", code="promised_disabled"
        )
    if facts.account_status == "closed":
        raise PromisedRefused("не подключён: лицевой счёт закрыт", code="promised_account_closed")
    if facts.account_status != "active":
        raise PromisedRefused(
            "не подключён: лицевой счёт приостановлен", code="promised_account_suspended"
        )
    if facts.in_force_until is not None:
        raise PromisedRefused(
            f"не подключён: на счёте уже действует обещанный платёж до {day(facts.in_force_until)}",
            code="promised_in_force",
        )
    age_days = (facts.now - facts.account_opened_at).days
    if age_days < rules.min_account_age_days:
        raise PromisedRefused(
            f"не подключён: счёт открыт менее {rules.min_account_age_days} дней назад",
            code="promised_account_too_young",
        )
    if facts.debt_minor > rules.max_debt_minor:
        raise PromisedRefused(
            f"не подключён: долг {money(facts.debt_minor, facts.currency)} больше допустимых "
            f"{money(rules.max_debt_minor, facts.currency)}",
            code="promised_debt_too_large",
        )
    if facts.taken_this_month >= rules.max_per_month:
        raise PromisedRefused(
            f"не подключён: в этом месяце он уже был {facts.taken_this_month} раз(а), "
            f"можно не больше {rules.max_per_month}",
            code="promised_monthly_limit",
        )
    if facts.overdue_minor <= 0:
        raise PromisedRefused("не нужен: просроченного долга нет", code="promised_not_needed")
    maximum = max_amount(facts.monthly_charges_minor, rules)
    if maximum < rules.min_amount_minor:
        raise PromisedRefused(
            f"не подключён: начислений за {rules.history_months} мес. слишком мало",
            code="promised_too_little_history",
        )
    return maximum


def check_amount(amount_minor: int, offered: list[int], currency: str) -> None:
    """A chosen amount must be one of the offered ones (a menu's key, or typed at the desk)."""
    if amount_minor not in offered:
        choices = ", ".join(money(a, currency) for a in offered)
        raise PromisedAmountInvalid(
            f"сумма {money(amount_minor, currency)} не предлагается; можно: {choices}"
        )
