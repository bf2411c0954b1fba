"""The cabinet's public shell over HTTP: security headers, languages, PWA files, cookies, CSRF."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from starlette.requests import Request

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.web import security
from abonent.web.cabinet.shell import SHELL


async def test_start_page_russian_with_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/cabinet")
    assert response.status_code == 200
    assert '<html lang="ru">' in response.text
    assert "<h1>Личный кабинет</h1>" in response.text
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    # No inline script or style attribute, which the CSP would block.
    assert "<script>" not in response.text and "style=" not in response.text


async def test_other_pages_untouched(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert "content-security-policy" not in response.headers


async def test_accept_language_then_cookie(client: httpx.AsyncClient) -> None:
    english = await client.get("/cabinet", headers={"accept-language": "en-GB,en;q=0.9,ru;q=0.5"})
    assert '<html lang="en">' in english.text and "<h1>My account</h1>" in english.text
    preferred = await client.get("/cabinet", headers={"accept-language": "de, ru;q=0.8, en;q=0.3"})
    assert "<h1>Личный кабинет</h1>" in preferred.text
    switched = await client.get("/cabinet/lang/en", params={"next": "/cabinet/offline"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/cabinet/offline"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("lang=en;")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # ABONENT_ENV=development in tests
    offline = await client.get("/cabinet/offline", headers={"accept-language": "ru"})
    assert "<h1>No connection</h1>" in offline.text  # the cookie wins over the header


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/cabinet//evil", "/\\evil"]
)
async def test_language_switch_is_no_open_redirect(client: httpx.AsyncClient, target: str) -> None:
    response = await client.get("/cabinet/lang/ru", params={"next": target})
    assert response.headers["location"] == "/cabinet"


async def test_unknown_language_sets_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/cabinet/lang/xx")
    assert response.status_code == 303 and "set-cookie" not in response.headers


async def test_manifest_and_icons(client: httpx.AsyncClient) -> None:
    response = await client.get("/cabinet/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.text)
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/cabinet",
        "/cabinet/",
        "standalone",
    )
    for icon in manifest["icons"]:
        got = await client.get(icon["src"])
        assert got.status_code == 200
        assert got.headers["cache-control"] == "public, max-age=3600"
        if icon["type"] == "image/png":
            width = int(icon["sizes"].split("x")[0])
            assert Image.open(io.BytesIO(got.content)).size == (width, width)


async def test_service_worker_caches_only_the_shell(client: httpx.AsyncClient) -> None:
    response = await client.get("/cabinet/sw.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/cabinet/"
    assert response.headers["cache-control"] == "no-cache"
    assert set(SHELL) == {
        "/cabinet/offline",
        "/cabinet/static/cabinet.css",
        "/cabinet/static/cabinet.js",
        "/cabinet/static/icon.svg",
        "/cabinet/static/icon-192.png",
        "/cabinet/static/icon-512.png",
    }
    assert str(list(SHELL)) in response.text
    assert "cache.put" not in response.text  # pages fetched online are never stored
    for path in SHELL:
        assert (await client.get(path)).status_code == 200
    offline = await client.get("/cabinet/offline")
    assert offline.headers["cache-control"] == "no-cache"
    assert offline.headers["vary"] == "Cookie, Accept-Language"
    assert "нужно подключение к интернету" in offline.text


def _request(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "headers": [(b"cookie", header.encode())] if header else []})


def test_csrf_token_bound_to_browser_and_session() -> None:
    settings = get_settings()
    from starlette.responses import Response

    fresh = Response()
    token = security.csrf_token(_request({}), fresh, settings)
    nonce = token.split(".")[0]
    assert f"{security.CSRF_COOKIE}={nonce};" in fresh.headers["set-cookie"]
    assert "HttpOnly" in fresh.headers["set-cookie"]
    browser = {security.CSRF_COOKIE: nonce, security.SESSION_COOKIE: "s1"}
    good = security.csrf_token(_request(browser), Response(), settings)
    security.check_csrf(_request(browser), good, settings)
    refusals = [
        (browser, None),
        (browser, ""),
        (browser, token),  # minted before login, for no session
        ({**browser, security.SESSION_COOKIE: "s2"}, good),  # another session
        ({**browser, security.CSRF_COOKIE: "other"}, good),  # another browser
        ({security.SESSION_COOKIE: "s1"}, good),  # no nonce cookie at all
        (browser, good[:-1] + ("0" if good[-1] != "0" else "1")),
    ]
    for cookies, submitted in refusals:
        with pytest.raises(security.CsrfRefused) as refused:
            security.check_csrf(_request(cookies), submitted, settings)
        assert (refused.value.code, refused.value.status) == ("csrf.refused", 403)


async def test_csrf_refusal_is_a_403_page_and_changes_nothing(db: Database) -> None:
    from abonent.app import create_app

    app = create_app(db)
    done: list[str] = []

    @app.post("/cabinet/_probe")
    async def probe(request: Request) -> dict[str, str]:
        form = await request.form()
        security.check_csrf(request, str(form.get(security.CSRF_FIELD) or ""), get_settings())
        done.append("changed")
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        refused = await client.post("/cabinet/_probe", data={"csrf_token": "forged.0"})
        english = await client.post("/cabinet/_probe", data={}, headers={"accept-language": "en"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "<h1>Форма устарела</h1>" in refused.text and "Ничего не изменено" in refused.text
    assert refused.headers["cache-control"] == "no-store"
    assert english.status_code == 403 and "<h1>The form has expired</h1>" in english.text
    assert done == []
