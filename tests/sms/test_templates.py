"""The Russian SMS texts: account number masked, never a link, the right category."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.channels.smpp import encoding
from abonent.sms import templates
from abonent.sms.templates import LinkInSms, SmsText

NUMBER = "400012345678"
HOTLINE = "8-800-250-08-90"


def every_template() -> list[SmsText]:
    return [
        templates.payment_booked(account_number=NUMBER, amount_minor=50_000, balance_minor=12_050),
        templates.one_time_code(code="4711"),
        templates.account_details(
            account_number=NUMBER, debt_minor=35_000,
            debt_by_service=[("Мобильная связь", 30_000), ("Интернет", 5_000)],
            due_date=dt.date(2026, 11, 25), overdue_minor=5_000, available_minor=0,
            hotline=HOTLINE,
        ),
        templates.account_details(
            account_number=NUMBER, debt_minor=0, debt_by_service=[], due_date=None,
            overdue_minor=0, available_minor=12_050, hotline=HOTLINE,
        ),
        templates.debt_notice(
            account_number=NUMBER, debt_minor=35_000, due_date=dt.date(2026, 11, 25),
            hotline=HOTLINE,
        ),
        templates.service_suspended(
            account_number=NUMBER, service_label="Мобильная связь", hotline=HOTLINE
        ),
        templates.service_restored(account_number=NUMBER, service_label="Мобильная связь"),
        templates.promised_payment_taken(
            account_number=NUMBER, amount_minor=30_000, fee_minor=1_000,
            until=dt.date(2026, 11, 21),
        ),
    ]  # fmt: skip


def test_no_template_carries_a_link_or_the_full_account_number():
    for sms in every_template():
        assert templates.check(sms.text) == sms.text
        assert NUMBER not in sms.text
        if "счёт" in sms.text or "счёту" in sms.text:
            assert "****5678" in sms.text


def test_the_texts_read_as_written():
    booked, code, details, no_debt, notice, suspended, restored, promised = every_template()
    assert booked == SmsText(
        "service", "Платёж 500,00\u00a0₽ зачислен на лицевой счёт ****5678. Баланс: 120,50\u00a0₽."
    )
    assert code.text == "Код подтверждения: 4711. Никому его не сообщайте."
    assert details.text == (
        "Лицевой счёт ****5678: задолженность 350,00\u00a0₽ (Мобильная связь 300,00\u00a0₽; "
        "Интернет 50,00\u00a0₽), оплатить до 25.11.2026, просрочено 50,00\u00a0₽. "
        "Доступно: 0,00\u00a0₽. Справки: 8-800-250-08-90."
    )
    assert no_debt.text.startswith("Лицевой счёт ****5678: задолженности нет.")
    assert notice.text == (
        "По лицевому счёту ****5678 задолженность 350,00\u00a0₽. Оплатите до 25.11.2026, чтобы "
        "услуги не были приостановлены. Справки: 8-800-250-08-90."
    )
    assert "«Мобильная связь»" in suspended.text and "приостановлена" in suspended.text
    assert restored.text.endswith("возобновлена. Спасибо за оплату!")
    assert promised.text == (
        "Обещанный платёж 300,00\u00a0₽ подключён к лицевому счёту ****5678 до 21.11.2026. "
        "Плата за услугу: 10,00\u00a0₽."
    )
    assert [s.category for s in every_template()] == [
        "service", "service", "service", "service", "debt", "debt", "service", "service"
    ]  # fmt: skip
    # The longest still fits in three UCS-2 parts.
    assert max(len(encoding.split(s.text).parts) for s in every_template()) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "Оплатите на https://pay.example",
        "Подробнее: abonent.ru",
        "Личный кабинет: www.abonent",
        "Сайт оператора абонент.рф",
        "Зайдите на lk.operator.online/pay",
    ],
)
def test_a_text_with_a_link_or_domain_is_refused(text: str):
    with pytest.raises(LinkInSms):
        templates.check(text)


def test_amounts_and_dates_are_not_taken_for_domains():
    assert templates.check("Долг 1.500,00 ₽ до 25.11.2026, т.е. до понедельника. Справки: 8-800.")


def test_the_texts_the_domains_send_are_built_here_masked_and_without_a_link() -> None:
    assert (
        templates.payment_confirmation(amount_minor=105_000, currency="RUB", account_number=NUMBER)
        == "Платёж 1 050,00 ₽ зачислен на ЛС ****5678"
    )
    assert (
        templates.promised_taken(
            amount_minor=30_000,
            fee_minor=1_000,
            currency="RUB",
            due_date=dt.date(2026, 12, 15),
            account_number=NUMBER,
        )
        == "Обещанный платёж 300,00 ₽ подключён до 15.12.2026, плата 10,00 ₽. ЛС ****5678"
    )
    details = templates.ussd_details(
        account_number=NUMBER,
        currency="RUB",
        balance_minor=-35_000,
        debt_minor=35_000,
        overdue_minor=5_000,
        next_due_date=dt.date(2026, 11, 25),
        debt_by_service=[
            templates.DebtLine("Связь", "Тариф «Базовый»", 30_000, 5_000),
            templates.DebtLine("Интернет", "100 Мбит/с", 5_000, 0),
        ],
        available_minor=0,
        promised=templates.PromisedInForce(30_000, 31_000, dt.date(2026, 12, 15)),
    )
    assert details == (
        "ЛС ****5678: долг 350,00 ₽, просрочено 50,00 ₽, срок оплаты 25.11.2026. "
        "Связь Тариф «Базовый»: 300,00 ₽ (просрочено 50,00 ₽); Интернет 100 Мбит/с: 50,00 ₽. "
        "Доступно 0,00 ₽. Обещанный платёж 300,00 ₽ до 15.12.2026, к возврату 310,00 ₽."
    )
    assert NUMBER not in details and templates.check(details) == details
