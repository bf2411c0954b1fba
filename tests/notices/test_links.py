"""Debt notice templates refuse anything that reads as a link."""

from __future__ import annotations

import pytest

from abonent.kit.errors import InvalidInput
from abonent.notices.links import ensure_no_link, find_link

LINKY = [
    "Оплатите по ссылке http://pay.example/x",
    "Оплатите https ://pay",
    "Смотрите www.abonent-pay",
    "Кратко: bit.ly/x3f",
    "Сайт mts.ru",
    "Госуслуги: госуслуги.рф",
    "Пишите на example . com",
    "Пишите на example [.] com",
    "Пишите на example (dot) ru",
    "Пишите на example точка рф",
    "Домен xn--80ak6aa92e.com",
    "Punycode xn--p1ai",
    "Полноширинный ｗｗｗ．ｅｘａｍｐｌｅ",
    "Идеограф pay。ru",
    "Скрытый мягкий перенос pay\u00ad.ru",
    "hxxps://evil",
]

CLEAN = [
    "Лицевой счёт ***1234 — номер договора, не номер телефона. Долг {amount} до {due_date}.",
    "Долг 1 050,00 ₽ до 15.12.2026. Код проверки {code}. Горячая линия 8-800-555-35-35.",
    "Услуги: интернет, ТВ. Оплатите в офисе или в приложении банка.",
]


@pytest.mark.parametrize("text", LINKY)
def test_link_forms_are_found_and_refused(text: str) -> None:
    assert find_link(text) is not None
    with pytest.raises(InvalidInput) as caught:
        ensure_no_link(text)
    assert caught.value.code == "notice_template_link"


@pytest.mark.parametrize("text", CLEAN)
def test_plain_notice_text_passes(text: str) -> None:
    assert find_link(text) is None
    ensure_no_link(text)


def test_the_found_part_is_named() -> None:
    assert find_link("Сайт mts.ru сегодня") == "mts.ru"
    assert find_link("Пишите на example . com") == "example . com"
