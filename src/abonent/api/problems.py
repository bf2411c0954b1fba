"""RFC 9457 problem details for every error the JSON API returns, and each surface's own 500."""

from __future__ import annotations

import html
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

from abonent.kit.errors import AbonentError
from abonent.payments.agents import osmp

MEDIA_TYPE = "application/problem+json"
OSMP_PREFIX = "/agents/osmp/"
OSMP_MEDIA_TYPE = "text/xml; charset=utf-8"
_NOTHING_CHANGED = "something went wrong on our side; nothing was changed"
_ERROR_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Ошибка — Abonent</title></head>
<body><h1>Что-то пошло не так</h1>
<p>Something went wrong on our side; nothing was changed. Please try again later.</p>
<p><small>Request id: {request_id}</small></p></body></html>
"""


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:abonent:error:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def install(app: FastAPI) -> None:
    @app.exception_handler(AbonentError)
    async def _domain(_request: Request, exc: AbonentError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = problem(exc.status, exc.code, exc.title, exc.detail, **_jsonable(exc.extra))
        if headers:
            response.headers.update(headers)
        if exc.status == 429 and "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            # Not JSON at all: a client bug of another kind than a field out of range.
            return problem(
                400,
                "malformed_json",
                "Malformed JSON",
                "the request body is not valid JSON",
                errors=errors,
            )
        return problem(
            422,
            "validation_error",
            "Invalid input",
            "the request does not match the schema",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        # Starlette's error middleware answers with this, then re-raises to api/edge.py,
        # which logs it (once) with the request id.
        return internal_error(request.scope, current_request_id())


def current_request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))


def internal_error(scope: Scope, request_id: str) -> Response:
    """The answer for whatever escaped a handler, in the language of the surface it hit."""
    path: str = scope.get("path", "")
    if path.startswith(OSMP_PREFIX):
        answer = osmp.Answer(osmp.Result.OTHER, "refused for technical reasons; nothing was booked")
        return Response(osmp.render(answer), media_type=OSMP_MEDIA_TYPE)
    if _wants_html(scope, path):
        return HTMLResponse(_ERROR_PAGE.format(request_id=html.escape(request_id)), status_code=500)
    return problem(500, "internal_error", "Internal error", _NOTHING_CHANGED, request_id=request_id)


def _wants_html(scope: Scope, path: str) -> bool:
    """A page, not the JSON API: a browser asking for HTML outside /v1 and /openapi.json."""
    if path.startswith("/v1/") or path == "/openapi.json":
        return False
    for name, value in scope.get("headers") or ():
        if name == b"accept":
            return b"text/html" in value
    return False
