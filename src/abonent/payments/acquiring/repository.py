"""Queries over card payments, the provider's webhook events and the sandbox provider's rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, CardPayment, SandboxAcquiringPayment, WebhookEvent


async def get(session: AsyncSession, card_id: int) -> CardPayment | None:
    return await session.get(CardPayment, card_id)


async def with_account_number(
    session: AsyncSession, card_id: int
) -> tuple[CardPayment, str] | None:
    row = (
        await session.execute(
            select(CardPayment, Account.number)
            .join(Account, Account.id == CardPayment.account_id)
            .where(CardPayment.id == card_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def id_by_provider_ref(session: AsyncSession, provider: str, provider_ref: str) -> int | None:
    return await session.scalar(
        select(CardPayment.id).where(
            CardPayment.provider == provider, CardPayment.provider_ref == provider_ref
        )
    )


async def webhook_seen(session: AsyncSession, provider: str, event_id: str) -> bool:
    seen = await session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
    )
    return seen is not None


async def unsettled_ids(session: AsyncSession, provider: str, cutoff: dt.datetime) -> list[int]:
    """Every unknown card payment, and every pending one created at or before ``cutoff``."""
    return list(
        await session.scalars(
            select(CardPayment.id)
            .where(
                CardPayment.provider == provider,
                or_(
                    CardPayment.status == "unknown",
                    (CardPayment.status == "pending") & (CardPayment.created_at <= cutoff),
                ),
            )
            .order_by(CardPayment.id)
        )
    )


async def sandbox_payment(session: AsyncSession, ref: str) -> SandboxAcquiringPayment | None:
    return await session.scalar(
        select(SandboxAcquiringPayment).where(SandboxAcquiringPayment.ref == ref)
    )
