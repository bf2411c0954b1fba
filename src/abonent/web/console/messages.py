"""Russian words for the refusals a console page can meet, by stable code (shown too)."""

from __future__ import annotations

from abonent.config import get_settings
from abonent.kit.errors import AbonentError

MESSAGES = {
    "people.search_ambiguous": (
        "Заполните одно поле поиска (для смарт-карты — номер карты и ID чипа)."
    ),
    "people.search_by_name": "Для поиска по фамилии нужны фамилия и дата рождения.",
    "people.not_found": "Такого абонента нет.",
    "people.check_required": (
        "Сначала проверьте документ абонента: без проверки данные не открываются."
    ),
    "people.document_type": "Выберите тип документа.",
    "people.channel": "Выберите, где идёт обращение: в офисе или по телефону.",
    "people.purpose_required": "Укажите цель обращения (до 255 символов).",
    "people.account_not_theirs": "Этот лицевой счёт не принадлежит абоненту.",
    "people.no_phone": "У абонента нет номера телефона для SMS.",
    "reason_required": "Укажите причину (до 512 символов).",
    "staff.role_forbidden": "Это действие недоступно для вашей роли.",
    "account_number_check_digit": "В номере лицевого счёта ошибка: не сходится контрольная цифра.",
    "account.not_found": "Лицевой счёт не найден.",
    "msisdn_malformed": "Номер телефона не распознан: введите +7 и 10 цифр.",
    "passport_malformed": "Серия и номер паспорта — 10 цифр.",
    "amount_malformed": "Сумма не распознана: например, 1050 или 1050,50.",
    "amount_precision": "В сумме не больше двух знаков после запятой.",
    "amount_negative": "Сумма должна быть больше нуля.",
    "amount_not_positive": "Сумма должна быть больше нуля.",
    "lookup_smart_card_needs_chip": "Для поиска по смарт-карте нужен и ID чипа.",
    "lookup_ambiguous": "Заполните одно поле поиска.",
    "promised_in_force": "Обещанный платёж на этом счёте уже действует.",
    "promised_not_needed": "Обещанный платёж не нужен: на счёте достаточно средств.",
    "payment_exceeds_closed_debt": "Счёт закрыт: платёж не может быть больше долга.",
    "console.form_key": "Форма повреждена: откройте страницу заново.",
    "console.birth_date": "Дата рождения не распознана: ДД.ММ.ГГГГ.",
    "console.date": "Дата не распознана: ДД.ММ.ГГГГ.",
    "court_needs_agency_stage": "Долг ещё не передавался агентству: сначала передайте его.",
    "court_agency_stage_active": (
        "Долг ещё у агентства: отзовите его, прежде чем готовить заявление в суд."
    ),
    "court_nothing_to_claim": "В пределах срока исковой давности взыскивать нечего.",
    "court_order_limit": "Долг больше 500 000 ₽: нужен иск, а не судебный приказ.",
    "court_case_open": "По счёту уже есть незавершённое дело: сначала отметьте его итог.",
    "court_stage_not_allowed": "Эта стадия не может следовать за текущей.",
    "court_stage_unknown": "Неизвестная стадия.",
    "court_stage_date": "Дата стадии раньше даты заявления.",
    "court_note_invalid": "Примечание: одна строка, не длиннее 500 знаков.",
    "court_case_not_found": "Такого дела нет.",
    "dashboard_not_found": "Такой сводки нет.",
    "collections_role_refused": "Это действие недоступно для вашей роли.",
    "write_off_not_found": "Такой заявки на списание нет.",
    "write_off_decided": "По этой заявке решение уже принято; изменить его нельзя.",
    "write_off_same_person": "Списание утверждает не тот, кто его запросил.",
    "write_off_reason_invalid": "Укажите причину отказа: одна строка, не длиннее 500 знаков.",
    "write_off_status_invalid": "Такого состояния заявок нет.",
    "nothing_to_write_off": "Долга, который покрывает заявка, больше нет: списывать нечего.",
}


def words_for(exc: AbonentError) -> str:
    """The Russian sentence for a refusal; an unknown code falls back to a general one."""
    code = exc.code
    if code == "account_number_format":
        # The length is configuration (account_number.length, 12 unless set): never a constant.
        return f"Номер лицевого счёта — {get_settings().account_number.length} цифр."
    if code in MESSAGES:
        return MESSAGES[code]
    if code.startswith("promised"):
        return "Обещанный платёж сейчас недоступен для этого счёта."
    return "Запрос отклонён."
