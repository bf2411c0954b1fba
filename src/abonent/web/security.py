"""Browser-facing protections shared by the cabinet (and later the staff console).

* Security headers on every response under the protected prefixes: a CSP with no
  'unsafe-inline' (templates carry no inline script or style attribute), no framing, no
  referrer leaks, no MIME sniffing, and ``no-store`` unless a route chose its own caching (only
  the static shell does: pages with personal data must never sit in a shared or disk cache).
* CSRF: signed double-submit. A random nonce lives in an HttpOnly cookie; the form token is the
  nonce with an HMAC over it and the session cookie, so a token minted for one session is refused
  in another, and a page on another origin can read neither.
* One cookie helper: HttpOnly, SameSite=Lax, Secure outside development.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abonent.config import Settings
from abonent.kit.errors import Forbidden

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
CSRF_COOKIE = "ab_csrf"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "ab_session"


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering) adding the headers under ``prefixes``."""

    def __init__(
        self,
        app: ASGIApp,
        prefixes: Iterable[str] = ("/cabinet",),
        shell: Iterable[str] = ("/cabinet/static/",),
    ) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.shell = tuple(shell)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        cache = (
            b"public, max-age=3600" if str(scope["path"]).startswith(self.shell) else b"no-store"
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", cache))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfRefused(Forbidden):
    default_code = "csrf.refused"


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env != "development",
    )


def _key(settings: Settings) -> bytes:
    # Domain-separated from the lookup hash it is derived from, so neither reveals the other.
    return hmac.new(settings.secret("pii_hash_key"), b"csrf-v1", hashlib.sha256).digest()


def _sign(settings: Settings, nonce: str, session_value: str) -> str:
    mac = hmac.new(_key(settings), f"{nonce}|{session_value}".encode(), hashlib.sha256)
    return f"{nonce}.{mac.hexdigest()}"


def csrf_token(
    request: Request,
    response: Response,
    settings: Settings,
    *,
    session_cookie: str = SESSION_COOKIE,
) -> str:
    """The token for forms on this page; sets the nonce cookie when the browser has none.

    ``session_cookie`` names the session the token is bound to (the console's is its own)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or len(nonce) > 64:
        nonce = secrets.token_urlsafe(24)
        set_cookie(response, settings, CSRF_COOKIE, nonce)
    return _sign(settings, nonce, request.cookies.get(session_cookie, ""))


def check_csrf(
    request: Request,
    submitted: str | None,
    settings: Settings,
    *,
    session_cookie: str = SESSION_COOKIE,
) -> None:
    """Raise :class:`CsrfRefused` unless ``submitted`` was minted for this browser and session."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted:
        raise CsrfRefused("the form is stale or from another site")
    expected = _sign(settings, nonce, request.cookies.get(session_cookie, ""))
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfRefused("the form is stale or from another site")
