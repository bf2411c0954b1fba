"""The statement of debt for a person (справка о задолженности): every account, per charge.

One builder for the desk's statement (`people.service.statement_of_debt`) and the one attached
to the answer of a written request (`requests.service.answer`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.kit import clock
from abonent.kit.money import format_money
from abonent.kit.pdf import Column, Document
from abonent.models import Customer, OpenItem
from abonent.statement import history
from abonent.statement import service as statements

_PAGE = 500


async def _open_debits(session: AsyncSession, account_id: int) -> list[OpenItem]:
    items: list[OpenItem] = []
    after: int | None = None
    while True:
        page = await history.open_items_page(
            session, account_id, only_open=True, after_id=after, limit=_PAGE
        )
        items.extend(i for i in page if i.side == "debit")
        if len(page) < _PAGE:
            return items
        after = page[-1].id


async def build(session: AsyncSession, customer: Customer, *, name: str) -> bytes:
    today = clock.today()
    doc = Document("Справка о задолженности")
    doc.line(f"Абонент: {name}")
    doc.line(f"Дата: {today:%d.%m.%Y}")
    doc.gap()
    total = 0
    for account in await reads.accounts_of(session, customer.id):
        statement = await statements.statement_for(session, account, today=today)
        total += statement.debt_minor
        doc.heading(f"Лицевой счёт {account.number}", size=11)
        doc.line(
            f"Задолженность: {format_money(statement.debt_minor, statement.currency)}; "
            f"просрочено: {format_money(statement.overdue_minor, statement.currency)}"
        )
        w = doc.width
        if statement.debt_by_service:
            doc.table(
                [
                    Column("Услуга", w * 0.5),
                    Column("Долг", w * 0.25, "R"),
                    Column("Просрочено", w * 0.25, "R"),
                ],
                [
                    [
                        s.label,
                        format_money(s.debt_minor, statement.currency),
                        format_money(s.overdue_minor, statement.currency),
                    ]
                    for s in statement.debt_by_service
                ],
            )
        items = await _open_debits(session, account.id)
        if items:
            doc.table(
                [
                    Column("Начисление", w * 0.4),
                    Column("Срок оплаты", w * 0.2),
                    Column("Начислено", w * 0.2, "R"),
                    Column("Осталось", w * 0.2, "R"),
                ],
                [
                    [
                        (i.description or i.kind)[:40],
                        f"{i.due_date:%d.%m.%Y}",
                        format_money(i.amount_minor, i.currency),
                        format_money(i.remaining_minor, i.currency),
                    ]
                    for i in items
                ],
            )
        doc.gap()
    doc.line(f"Итого задолженность: {format_money(total)}", bold=True)
    return doc.bytes()
