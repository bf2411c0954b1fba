"""Find account numbers by what a subscriber knows: phone, contract, internet login, TV card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from abonent.accounts import service as accounts
from abonent.api.deps import Session, require
from abonent.api.v1.responses import PROBLEMS
from abonent.api.v1.schemas import LookupResult, NumberOut
from abonent.kit.actor import Actor
from abonent.kit.inputs import Text as TextRule

router = APIRouter(tags=["lookup"], responses=PROBLEMS)

Text = Annotated[Annotated[str, TextRule(64)] | None, Query()]


@router.get("/lookup", response_model=LookupResult)
async def lookup(
    _actor: Annotated[Actor, Depends(require("accounts.read"))],
    session: Session,
    msisdn: Text = None,
    contract: Text = None,
    login: Text = None,
    smart_card: Text = None,
    chip_id: Text = None,
) -> LookupResult:
    """Exactly one of ``msisdn``, ``contract``, ``login``, or ``smart_card`` with ``chip_id``.

    An unknown identifier is an empty list, not an error; a malformed phone number is 422.
    """
    numbers = await accounts.lookup(
        session,
        msisdn=msisdn,
        contract=contract,
        login=login,
        smart_card=smart_card,
        chip_id=chip_id,
    )
    return LookupResult(items=[NumberOut(number=n) for n in numbers])
