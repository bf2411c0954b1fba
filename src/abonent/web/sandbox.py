"""The sandbox acquirer's own pages: what a real provider would host on its own site.

``GET /sandbox/acquiring/{ref}`` is the payment page (Russian, plain HTML and CSS, fits a
phone); its buttons post to ``…/pay``; while a payment is processing the same page shows the
bank's back office, whose buttons post to ``…/resolve``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from abonent.api.acquiring_deps import Provider
from abonent.kit.errors import AbonentError
from abonent.payments.acquiring.provider import AcquiringProvider, ProviderRefUnknown
from abonent.payments.acquiring.sandbox import SandboxProvider
from abonent.web.templating import STATIC_DIR, templates

router = APIRouter(prefix="/sandbox/acquiring", include_in_schema=False)

Ref = Annotated[str, Path(max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


def _sandbox(provider: AcquiringProvider) -> SandboxProvider | None:
    return provider if isinstance(provider, SandboxProvider) else None


@router.get("/assets/sandbox.css")
async def stylesheet() -> FileResponse:
    return FileResponse(STATIC_DIR / "sandbox.css", media_type="text/css")


@router.get("/{ref}", response_class=HTMLResponse)
async def payment_page(ref: Ref, request: Request, provider: Provider) -> Response:
    sandbox = _sandbox(provider)
    if sandbox is None:
        return _not_found(request)
    try:
        view = await sandbox.view(ref)
    except ProviderRefUnknown:
        return _not_found(request)
    return templates.TemplateResponse(
        request, "sandbox/payment.html", {"p": view, "error": None}, headers=NO_STORE
    )


@router.post("/{ref}/pay")
async def pay(
    ref: Ref,
    request: Request,
    provider: Provider,
    action: Annotated[str, Form(max_length=16)],
) -> Response:
    """The payer's choice; then the payer goes back to the merchant's return URL."""
    sandbox = _sandbox(provider)
    if sandbox is None:
        return _not_found(request)
    try:
        choice = await sandbox.choose(ref, action)
    except ProviderRefUnknown:
        return _not_found(request)
    except AbonentError as exc:
        return await _page_with_error(request, sandbox, ref, exc)
    if not choice.changed:
        return RedirectResponse(f"/sandbox/acquiring/{ref}", status_code=303)
    return RedirectResponse(choice.view.return_url, status_code=303)


@router.post("/{ref}/resolve")
async def resolve(
    ref: Ref,
    request: Request,
    provider: Provider,
    outcome: Annotated[str, Form(max_length=16)],
) -> Response:
    """The bank's back office finishes a processing payment; no webhook is sent."""
    sandbox = _sandbox(provider)
    if sandbox is None:
        return _not_found(request)
    try:
        await sandbox.resolve(ref, outcome)
    except ProviderRefUnknown:
        return _not_found(request)
    except AbonentError as exc:
        return await _page_with_error(request, sandbox, ref, exc)
    return RedirectResponse(f"/sandbox/acquiring/{ref}", status_code=303)


async def _page_with_error(
    request: Request, sandbox: SandboxProvider, ref: str, exc: AbonentError
) -> Response:
    view = await sandbox.view(ref)
    return templates.TemplateResponse(
        request,
        "sandbox/payment.html",
        {"p": view, "error": exc.detail},
        status_code=exc.status,
        headers=NO_STORE,
    )


def _not_found(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "sandbox/not_found.html", {}, status_code=404, headers=NO_STORE
    )
