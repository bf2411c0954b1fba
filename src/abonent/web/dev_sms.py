"""``/dev/sms`` and ``/dev/sms.json``: the SMS the demo sent, for a developer to read.

Only when ``ABONENT_ENV=development``; in any other environment both answer 404 as if they did
not exist. The list is the outbox's SMS (what the console gateway printed, from whichever process
relayed it) with each one's delivery status from sms_messages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit.errors import NotFound
from abonent.kit.numbers import mask_msisdn
from abonent.sms import service as sms_service
from abonent.web.templating import templates

router = APIRouter(include_in_schema=False)


def _development_only(request: Request) -> None:
    cfg: Settings = request.app.state.settings
    if cfg.env != "development":
        raise NotFound("no such page", code="not_found")


async def _messages(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        queued = await sms_service.recent_outbox_sms(session, limit=200)
        status = await sms_service.statuses_for_outbox(session, [m.id for m in queued])
    rows = []
    for m in queued:
        sms = status.get(m.id)
        rows.append(
            {
                "outbox_id": m.id,
                "created_at": m.created_at.isoformat(),
                "to": mask_msisdn(str(m.payload.get("to", ""))),
                "text": str(m.payload.get("text", "")),
                "relay": m.status,
                "status": sms.status if sms else None,
                "parts": sms.parts if sms else None,
            }
        )
    return rows


@router.get("/dev/sms.json")
async def dev_sms_json(request: Request) -> JSONResponse:
    _development_only(request)
    return JSONResponse({"messages": await _messages(request.app.state.db)})


@router.get("/dev/sms", response_class=HTMLResponse)
async def dev_sms(request: Request) -> HTMLResponse:
    _development_only(request)
    return templates.TemplateResponse(
        request, "dev/sms.html", {"messages": await _messages(request.app.state.db)}
    )
