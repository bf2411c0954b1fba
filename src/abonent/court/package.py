"""The court-order application draft (заявление о вынесении судебного приказа) as a PDF.

Built from the case's snapshot, never from today's ledger, so a reprint is the same document.
The debtor is identified by the passport (CPC art. 124 p. 2 (3) asks for one identifier), which
is personal data: each rendering is a reveal, audited with the case as the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts import service as accounts
from abonent.config import get_settings
from abonent.court import service
from abonent.kit.actor import Actor
from abonent.kit.money import format_money
from abonent.kit.pdf import Column, Document
from abonent.models import Account, CourtCaseLine

ATTACHMENTS = (
    "Расчёт задолженности (раздел 2 настоящего заявления).",
    "Копия договора об оказании услуг связи.",
    "Выписка по лицевому счёту за период задолженности.",
    "Платёжное поручение об уплате государственной пошлины.",
    "Уведомление должника о передаче задолженности агентству (230-ФЗ, ст. 9).",
    "Доверенность представителя (если заявление подаёт представитель).",
)


def _service(kind: str) -> str:
    return "Лицевой счёт" if kind == "account" else accounts.service_kind_label(kind)


def _table(doc: Document, lines: Sequence[CourtCaseLine], currency: str) -> None:
    w = doc.width
    doc.table(
        [
            Column("Период", w * 0.12),
            Column("Услуга", w * 0.24),
            Column("Срок оплаты", w * 0.16),
            Column("Начислено", w * 0.16, "R"),
            Column("Оплачено", w * 0.16, "R"),
            Column("Остаток", w * 0.16, "R"),
        ],
        [
            [
                line.period or "—",
                _service(line.service)[:22],
                f"{line.due_date:%d.%m.%Y}",
                format_money(line.amount_minor, currency),
                format_money(line.paid_minor, currency),
                format_money(line.owed_minor, currency),
            ]
            for line in lines
        ],
    )


async def render(session: AsyncSession, case_id: int, *, actor: Actor) -> bytes:
    shown = await service.view(session, case_id, actor=actor)
    case = shown.case
    account = await session.get_one(Account, case.account_id)
    customer = await accounts.get_customer(session, account.customer_id)
    passport = accounts.reveal_passport(
        session, customer, actor=actor, reason=f"court case {case.id}: court-order application"
    )
    contracts = await reads.contracts_of(session, account.id)
    creditor = get_settings().court
    cur = account.currency
    parts = {
        p: [line for line in shown.lines if line.part == p]
        for p in ("claimed", "time_barred", "disputed")
    }

    doc = Document("Заявление о вынесении судебного приказа")
    doc.line(
        "ПРОЕКТ. Проверьте реквизиты взыскателя и укажите судебный участок перед подачей.",
        bold=True,
    )
    doc.gap()
    doc.line("Мировому судье судебного участка № ___ (по месту жительства должника)")
    doc.gap(2)
    doc.line(f"Взыскатель: {creditor.creditor_name}, ИНН {creditor.creditor_inn}", bold=True)
    doc.line(f"Адрес: {creditor.creditor_address}")
    doc.gap(2)
    doc.line(f"Должник: {customer.full_name}", bold=True)
    if customer.birth_date is not None:
        doc.line(f"Дата рождения: {customer.birth_date:%d.%m.%Y}")
    if passport:
        doc.line(f"Паспорт: серия {passport[:4]} № {passport[4:]}")
    doc.line("Место жительства: ___ (указать по данным договора)")
    doc.gap()

    doc.heading("1. Обстоятельства", size=11)
    contract = (
        f"по договору № {contracts[0].number} от {contracts[0].signed_on:%d.%m.%Y}"
        if contracts
        else "по договору об оказании услуг связи"
    )
    doc.line(
        f"Взыскатель оказывал должнику услуги связи {contract} (лицевой счёт {account.number}). "
        f"Должник оплатил их не полностью. На {case.as_of:%d.%m.%Y} задолженность в пределах "
        f"срока исковой давности составляет {format_money(case.claim_minor, cur)}. "
        "Задолженность передавалась коллекторскому агентству и не погашена."
    )
    doc.line(
        "На основании статей 121–124 ГПК РФ прошу вынести судебный приказ о взыскании с должника "
        f"задолженности в размере {format_money(case.claim_minor, cur)} и расходов по уплате "
        f"государственной пошлины в размере {format_money(case.fee_minor, cur)}."
    )
    doc.gap()

    doc.heading("2. Расчёт задолженности", size=11)
    _table(doc, parts["claimed"], cur)
    doc.line(f"Итого к взысканию: {format_money(case.claim_minor, cur)}", bold=True)
    doc.line(
        f"Государственная пошлина: {format_money(case.fee_minor, cur)} "
        "(ст. 333.19 НК РФ: половина пошлины за исковое заявление)."
    )
    doc.gap()
    if parts["time_barred"]:
        doc.heading("3. Начисления за пределами срока исковой давности", size=11)
        doc.line(
            "Срок исковой давности (3 года со дня срока оплаты) истёк; в требование не включены."
        )
        _table(doc, parts["time_barred"], cur)
        doc.line(f"Итого не заявлено: {format_money(case.time_barred_minor, cur)}")
        doc.gap()
    if parts["disputed"]:
        doc.heading("Начисления по претензии абонента", size=11)
        doc.line("Абонент оспаривает эти начисления; до ответа на претензию они не заявляются.")
        _table(doc, parts["disputed"], cur)
        doc.gap()

    doc.heading("Приложения", size=11)
    for number, text in enumerate(ATTACHMENTS, start=1):
        doc.line(f"{number}. {text}")
    doc.gap()
    doc.line(f"Дата: {case.as_of:%d.%m.%Y}")
    doc.line("Представитель взыскателя: ____________ / ____________")
    await session.flush()
    return doc.bytes()
