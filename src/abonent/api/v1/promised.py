"""``/v1/accounts/{number}/promised-payment``: staff see it and take one for the subscriber."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import get_account
from abonent.api.deps import Db, require
from abonent.api.idempotency import IdempotencyKeyHeader, Reply, json_reply, run_idempotent
from abonent.api.v1.accounts import Number
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.kit.actor import Actor
from abonent.kit.inputs import PositiveMinor
from abonent.payments import idempotency as idem
from abonent.promised import service as promised
from abonent.promised.schemas import PromisedOut, PromisedView

router = APIRouter(tags=["promised payment"], responses=PROBLEMS)


class PromisedCreate(BaseModel):
    amount_minor: PositiveMinor = Field(description="one of the offered amounts, in kopecks")


@router.get("/accounts/{number}/promised-payment", response_model=PromisedView)
async def get_promised(
    number: Number, db: Db, _actor: Annotated[Actor, Depends(require("payments.read"))]
) -> PromisedView:
    """The promised payment in force, else what may be taken now, else why not (in Russian)."""
    async with db.session() as session:
        account = await get_account(session, number)
        return await promised.view(session, account)


@router.post(
    "/accounts/{number}/promised-payment",
    status_code=201,
    response_model=PromisedOut,
    responses={
        400: problem("Idempotency-Key missing or malformed"),
        409: problem("a request with this Idempotency-Key is still running"),
        422: problem("refused by a rule (code and reason), or an amount not offered"),
    },
)
async def take_promised(
    number: Number,
    body: PromisedCreate,
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(require("payments.create"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Take a promised payment for the subscriber. Requires ``Idempotency-Key``."""

    async def work(claimed: idem.Claim | None) -> Reply:
        assert claimed is not None  # required=True

        async def unit(session: AsyncSession) -> Reply:
            account = await get_account(session, number)
            taken = await promised.take(
                session, account, body.amount_minor, channel="api", actor=actor
            )
            out = await promised.out(session, taken.promised, account.number)
            reply = json_reply(201, out, stored=True)
            await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    payload = {"account_number": number, **body.model_dump(mode="json")}
    return await run_idempotent(request, db, idempotency_key, payload, work, required=True)
