"""The USSD dialogue engine: pure functions, no I/O.

State and input in, screen and next state out. The service (:mod:`.service`) loads the facts a
step needs (the statement, the promised payment's offer) before asking, and carries out the
action a step returns (send the details by SMS, take the promised payment). Every screen is in
Russian and fitted into one USSD screen (:mod:`.screen`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from abonent.kit.money import format_money
from abonent.promised.schemas import Offer
from abonent.sms import templates
from abonent.statement.schemas import Statement
from abonent.ussd.screen import ELLIPSIS, compose, first_fitting, truncate

Dialogue = Literal["balance", "promised", "verify"]

UNAVAILABLE = "Сервис временно недоступен. Попробуйте позже."
UNKNOWN_CODE = "Неизвестная команда. Баланс и долг: *100#"
EXPIRED = "Время ожидания истекло. Наберите команду ещё раз."
REPEATED = "Сеанс уже завершён. Наберите команду ещё раз."
OUT_OF_SYNC = "Сеанс прерван. Наберите команду ещё раз."
CANCELLED = "Отменено."


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    end: bool


@dataclass(frozen=True, slots=True)
class Take:
    amount_minor: int


@dataclass(frozen=True, slots=True)
class SendDetails:
    pass


@dataclass(frozen=True, slots=True)
class Verify:
    """Check a debt notice's code with the account's last 4 digits."""

    code: str
    last4: str


Action = Take | SendDetails | Verify | None


@dataclass(frozen=True, slots=True)
class Step:
    reply: Reply
    state: dict[str, Any] = field(default_factory=dict)
    """What the next input needs (kept in the session row); empty once the dialogue ends."""
    action: Action = None


# --- money and dates as a small screen shows them ---------------------------------------------


def money(minor: int, currency: str = "RUB") -> str:
    return format_money(minor, currency).replace("\u00a0", " ")


def short_money(minor: int, currency: str = "RUB") -> str:
    """Whole roubles without the kopecks ('300 ₽'), kopecks only when there are some."""
    text = money(minor, currency)
    return text.replace(",00 ", " ")


def day(date: dt.date) -> str:
    return f"{date:%d.%m.%Y}"


# --- closing screens --------------------------------------------------------------------------


def unknown_number(hotline: str) -> Step:
    return _end(f"Номер не обслуживается. Справки: {hotline}")


def closed_sim(hotline: str, statement: Statement | None = None) -> Step:
    """A closed SIM; when its account still owes (a closed account keeps its debt), how much."""
    if statement is None or statement.debt_minor <= 0:
        return _end(f"Номер отключён. Справки: {hotline}")
    return _end(
        compose(
            [
                ("Номер отключён", 0),
                (f"Долг по ЛС {statement.account_number}:", 0),
                (money(statement.debt_minor, statement.currency), 0),
                (f"Справки {hotline}", 1),
            ]
        )
    )


def account_closed(statement: Statement, hotline: str) -> Step:
    return _end(_account_state("закрыт", statement, hotline))


def account_suspended(statement: Statement, hotline: str) -> Step:
    return _end(_account_state("приостановлен", statement, hotline))


def _account_state(word: str, st: Statement, hotline: str) -> str:
    debt = f"Долг {money(st.debt_minor, st.currency)}" if st.debt_minor > 0 else ""
    return compose([(f"ЛС {st.account_number} {word}", 0), (debt, 0), (f"Справки {hotline}", 1)])


def _end(text: str) -> Step:
    return Step(Reply(truncate(text), True))


# --- *100#: balance or debt -------------------------------------------------------------------

KIND_SHORT = {"mobile": "Моб.", "internet": "Инт.", "tv": "ТВ", "account": "ЛС"}


def balance(st: Statement, *, details_by_sms: bool) -> Step:
    """Balance or debt, the debt by service when on several, the available limit, the number."""
    cur = st.currency
    if st.debt_minor > 0:
        head = f"Долг {money(st.debt_minor, cur)}"
        overdue = f"Просрочено {money(st.overdue_minor, cur)}" if st.overdue_minor else ""
    else:
        head = f"Баланс {money(st.balance_minor, cur)}"
        overdue = ""
    promised = ""
    if st.promised_payment and st.promised_payment.get("status") == "in_force":
        due = dt.date.fromisoformat(st.promised_payment["due_date"])
        promised = f"Обещ. платёж до {due:%d.%m}"
    parts = _by_service(st) if len(st.debt_by_service) > 1 else []
    text = ""
    # The debt by service must be on screen: the smallest services give way to "…" (the SMS
    # has them all) only once every optional line has.
    for shown in range(len(parts), 0 if parts else -1, -1):
        by_service = "; ".join(parts[:shown]) + ("; …" if shown < len(parts) else "")
        text = compose(
            [
                (head, 0),
                (by_service, 0),
                (overdue, 4),
                (f"Доступно {money(st.available_minor, cur)}", 0),
                (promised, 2),
                (f"ЛС {st.account_number}", 0),
                ("Детали в SMS" if details_by_sms else "", 3),
            ]
        )
        if not text.endswith(ELLIPSIS):
            break
    return Step(Reply(text, True), action=SendDetails() if details_by_sms else None)


def _by_service(st: Statement) -> list[str]:
    seen: dict[str, int] = {}
    parts = []
    for line in st.debt_by_service:
        seen[line.kind] = seen.get(line.kind, 0) + 1
        name = KIND_SHORT.get(line.kind, line.kind_label)
        if seen[line.kind] > 1:
            name += str(seen[line.kind])
        parts.append(f"{name} {short_money(line.debt_minor, st.currency).removesuffix(' ₽')}")
    return parts


def details_sms(st: Statement) -> str:
    """The SMS that follows *100#; its text lives in sms/templates.py with every other SMS."""
    promised = st.promised_payment
    in_force = None
    if promised and promised.get("status") == "in_force":
        in_force = templates.PromisedInForce(
            amount_minor=promised["amount_minor"],
            owed_minor=promised["owed_minor"],
            due_date=dt.date.fromisoformat(promised["due_date"]),
        )
    return templates.ussd_details(
        account_number=st.account_number,
        currency=st.currency,
        balance_minor=st.balance_minor,
        debt_minor=st.debt_minor,
        overdue_minor=st.overdue_minor,
        next_due_date=st.next_due_date,
        debt_by_service=[
            templates.DebtLine(d.kind_label, d.label, d.debt_minor, d.overdue_minor)
            for d in st.debt_by_service
        ],
        available_minor=st.available_minor,
        promised=in_force,
    )


# --- *100*3#: the promised payment ------------------------------------------------------------


def promised_in_force(summary: dict[str, Any]) -> Step:
    cur = summary["currency"]
    due = dt.date.fromisoformat(summary["due_date"])
    head = f"Обещанный платёж {money(summary['amount_minor'], cur)} до {day(due)}"
    owed = f"к возврату {money(summary['owed_minor'], cur)}"
    fee = summary["fee_minor"]
    with_fee = f"Плата {money(fee, cur)}, {owed}" if fee else owed.capitalize()
    return _end(first_fitting(f"{head}\n{with_fee}", f"{head}\n{owed.capitalize()}"))


def refusal(reason: str) -> Step:
    return _end(reason[:1].upper() + reason[1:])


def offer_menu(offer: Offer) -> Step:
    """A menu of amounts; the key of one takes it (the next step)."""
    cur = offer.currency
    header = f"Обещанный платёж до {offer.due_date:%d.%m}:"
    lines = [(header, 0)]
    shown: list[int] = []
    for key, line in enumerate(offer.lines, start=1):
        fee = f"+{short_money(line.fee_minor, cur)}" if line.fee_minor else "без платы"
        lines.append((f"{key} {short_money(line.amount_minor, cur)}, {fee}", key))
        shown.append(line.amount_minor)
    lines.append(("0 Отмена", 0))
    text = compose(lines)
    # Only the keys that made it onto the screen can be chosen.
    visible = [a for key, a in enumerate(shown, start=1) if f"\n{key} " in text]
    return Step(Reply(text, False), state={"stage": "menu", "amounts": visible})


def choose(state: dict[str, Any], key: str) -> Step:
    """The input after the menu: a listed key takes that amount, 0 cancels, anything else is
    refused with the way back. After the notice check's question: the 4 digits."""
    if state.get("stage") == "verify":
        return _verify_digits(str(state.get("code") or ""), key.strip())
    amounts: list[int] = list(state.get("amounts") or [])
    if state.get("stage") != "menu":
        return _end(OUT_OF_SYNC)
    choice = key.strip()
    if choice == "0":
        return _end(CANCELLED)
    if choice.isdecimal() and len(choice) <= 2 and 1 <= int(choice) <= len(amounts):
        return Step(Reply("", True), action=Take(amounts[int(choice) - 1]))
    return _end(f"Нет пункта «{choice[:10]}». Наберите команду ещё раз.")


def taken(amount_minor: int, fee_minor: int, due: dt.date, currency: str) -> Step:
    return _end(
        compose(
            [
                (f"Обещанный платёж {money(amount_minor, currency)} подключён", 0),
                (f"до {day(due)}", 0),
                (f"Плата {money(fee_minor, currency)}" if fee_minor else "", 1),
            ]
        )
    )


# --- *100*7*CODE#: is this debt notice ours? -------------------------------------------------

VERIFY_ASK = "Введите 4 последние цифры лицевого счёта из SMS"
VERIFY_FORMAT = "Наберите *100*7*КОД# или *100*7*КОД*4 цифры счёта#"


def _verify_digits(code: str, last4: str) -> Step:
    if not (code.isdecimal() and len(code) <= 12 and last4.isdecimal() and len(last4) == 4):
        return _end(VERIFY_FORMAT)
    return Step(Reply("", True), action=Verify(code, last4))


def verify_start(body: str) -> Step:
    """``body``: what follows the prefix, '#' removed: 'CODE' (ask the digits) or 'CODE*1234'."""
    parts = body.split("*")
    if len(parts) == 2:
        return _verify_digits(parts[0], parts[1])
    if len(parts) == 1 and parts[0].isdecimal() and len(parts[0]) <= 12:
        return Step(Reply(VERIFY_ASK, False), {"stage": "verify", "code": parts[0]})
    return _end(VERIFY_FORMAT)


def verify_answer(
    genuine: bool, *, sent_on: dt.date | None, amount_minor: int | None, hotline: str
) -> Step:
    if genuine and sent_on is not None and amount_minor is not None:
        return _end(
            compose(
                [
                    ("SMS настоящее:", 0),
                    (f"отправлено {day(sent_on)},", 0),
                    (f"сумма {money(amount_minor)}", 0),
                ]
            )
        )
    return _end(f"Это SMS не от нас. Не платите по ссылкам и на карты. Звоните {hotline}")


VERIFY_LIMIT = "Слишком много проверок. Попробуйте позже."
