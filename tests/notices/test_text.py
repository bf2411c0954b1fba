"""The filled debt notice: exact Russian text, masked account, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.kit.errors import InvalidInput
from abonent.notices.text import DEFAULT_TEMPLATE, NoticeTemplate, check_template_text, render


def test_default_notice_text_is_exact() -> None:
    body = render(
        NoticeTemplate(sender="Abonent"),
        account_number="100200301234",
        amount_minor=105000,
        due_date=dt.date(2026, 12, 15),
        services=["Интернет", "ТВ"],
        code="K7Q2",
        hotline="8-800-555-35-35",
    )
    assert body == (
        "Долг по л/с ****1234 (лицевой счёт — номер договора, не номер телефона): "
        "1\u00a0050,00\u00a0₽, "
        "оплатить до 15.12.2026. Услуги: Интернет, ТВ. Код проверки K7Q2. "
        "Проверить: *100*7*K7Q2# или 8-800-555-35-35."
    )


@pytest.mark.parametrize("sender", ["", "AbonentTelecom", "pay.ru"])
def test_bad_sender_refused(sender: str) -> None:
    with pytest.raises(InvalidInput):
        NoticeTemplate(sender=sender)


def test_template_without_code_or_with_link_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        NoticeTemplate(sender="Abonent", text="Долг {account} {amount}")
    assert caught.value.code == "notice_template_field"
    with pytest.raises(InvalidInput) as caught:
        NoticeTemplate(sender="Abonent", text=DEFAULT_TEMPLATE + " bit.ly/x")
    assert caught.value.code == "notice_template_link"


def test_unknown_field_refused_and_link_in_service_name_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        NoticeTemplate(sender="Abonent", text=DEFAULT_TEMPLATE + " {secret}")
    assert caught.value.code == "notice_template_field"
    kwargs = dict(
        account_number="100200301234",
        amount_minor=100,
        due_date=dt.date(2026, 12, 15),
        services=["tv.example.com"],
        code="K7Q2",
        hotline="8-800",
    )
    with pytest.raises(InvalidInput) as caught:
        render(NoticeTemplate(sender="Abonent"), **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "notice_template_link"


@pytest.mark.parametrize(
    "variant",
    [
        DEFAULT_TEMPLATE.replace("лицевой счёт — номер", "Лицевой счет - номер"),
        DEFAULT_TEMPLATE.replace("номер договора, не", "номер   договора,\nне"),
    ],
)
def test_the_explanation_may_differ_in_case_yo_dash_and_spacing(variant: str) -> None:
    assert check_template_text(variant) == variant.strip()


def test_a_field_with_a_format_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template_text(DEFAULT_TEMPLATE.replace("{amount}", "{amount:>20}"))
    assert caught.value.code == "notice_template_field"
