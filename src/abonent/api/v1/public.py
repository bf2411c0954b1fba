"""Finding one's account number without a login: a TV card with its chip, or a contract with
the holder's surname. Exactly one form; either half alone reveals nothing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from abonent.accounts.errors import AccountNotFound
from abonent.api.deps import client_of, database_of
from abonent.api.v1.responses import RATE_LIMITED
from abonent.config import get_settings
from abonent.kit.errors import InvalidInput
from abonent.subscribers import service as subscribers
from abonent.throttle import service as throttle

router = APIRouter(prefix="/public", tags=["public"], responses=RATE_LIMITED)

Field64 = Annotated[str | None, Query(max_length=64)]


class AccountNumberOut(BaseModel):
    account_number: str


@router.get("/account-number", response_model=AccountNumberOut)
async def account_number(
    request: Request,
    smart_card: Field64 = None,
    chip_id: Field64 = None,
    contract: Field64 = None,
    surname: Field64 = None,
) -> AccountNumberOut:
    tv = smart_card is not None or chip_id is not None
    internet = contract is not None or surname is not None
    if (
        tv == internet
        or (tv and not (smart_card and chip_id))
        or (internet and not (contract and surname))
    ):
        raise InvalidInput(
            "give smart_card and chip_id, or contract and surname", code="lookup_form_invalid"
        )
    limit = get_settings().subscriber_auth.public_lookups_per_client_per_hour
    key = f"public-lookup:{client_of(request)}"
    async with database_of(request).session(write=True) as session:
        await throttle.hit(session, key, limit, dt.timedelta(hours=1))
        if tv:
            found = await subscribers.find_tv_account(session, smart_card or "", chip_id or "")
        else:
            found = await subscribers.find_internet_account(session, contract or "", surname or "")
    if found is None:
        raise AccountNotFound("no account matches")
    return AccountNumberOut(account_number=found)
