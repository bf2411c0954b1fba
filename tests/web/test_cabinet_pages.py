"""The logged-in cabinet over HTTP (both databases): every page only for the caller's own
accounts, CSRF on every form, the headers, code reuse/expiry, the limits, paying, promised."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import (
    Account,
    CardPayment,
    IdempotencyKey,
    PromisedPayment,
    Service,
    SubscriberSession,
)
from abonent.payments.acquiring import service as cards
from tests.promised.helpers import ledger_counts, subscriber
from tests.subscribers.helpers import codes_sent
from tests.web.test_cabinet_login import csrf_of

BASE = "http://127.0.0.1:8000"  # the acquiring public_base_url the sandbox returns payers to
KINDS = ("mobile", "internet", "tv")
OVERDUE = ((0, 25_000), (1, 15_000), (2, 10_000))


@pytest.fixture
async def card_app(db: Database) -> FastAPI:
    app = create_app(db)
    app.state.acquiring_provider = cards.build_provider(
        db, app.state.settings, transport=httpx.ASGITransport(app=app)
    )
    return app


def _client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


@pytest.fixture
async def web(card_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(card_app) as c:
        yield c


async def _login(client: httpx.AsyncClient, db: Database, msisdn: str) -> str:
    form = await client.get("/cabinet/login")
    if form.status_code == 303:  # logged in already: the login page sends one to the accounts
        form = await client.get(form.headers["location"])
    sent = await client.post(
        "/cabinet/login", data={"msisdn": msisdn, "csrf_token": csrf_of(form.text)}
    )
    assert sent.status_code == 303, sent.text
    page = await client.get(sent.headers["location"])
    code = (await codes_sent(db, msisdn))[-1]
    answer = await client.post(
        "/cabinet/login/code", data={"code": code, "csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 303, answer.text
    return code


async def _holder(db: Database, clock: FrozenClock) -> tuple[Account, list[Service], str]:
    account, services = await subscriber(db, clock, kinds=KINDS, overdue=OVERDUE)
    msisdn = services[0].msisdn
    assert msisdn is not None
    return account, services, msisdn


async def _count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def _rub(minor: int) -> str:
    major, rest = divmod(minor, 100)
    return f"{major:,}".replace(",", "\u00a0") + f",{rest:02d}\u00a0₽"


async def test_accounts_page_every_service_and_its_debt(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _services, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    page = await web.get("/cabinet/accounts")
    assert page.status_code == 200
    html = page.text
    assert f'data-number="{account.number}"' in html
    kinds = re.findall(r'data-test="service" data-kind="(\w+)"', html)
    assert kinds == ["mobile", "internet", "tv"]
    debts = re.findall(r'data-test="service-debt">([^<]+)<', html)
    assert debts == [_rub(25_000), _rub(15_000), _rub(10_000)]
    assert f'data-test="header-debt">{_rub(50_000)}<' in html
    assert f'data-test="header-balance">-{_rub(50_000)}<' in html
    assert f'name="amount" value="{_rub(50_000)[:-2]}"' in html  # prefilled with the debt


async def test_another_customers_account_is_unknown_on_every_page(
    web: httpx.AsyncClient, card_app: FastAPI, db: Database, clock: FrozenClock
) -> None:
    mine, _s, msisdn = await _holder(db, clock)
    other, other_services = await subscriber(db, clock, kinds=("mobile",))
    # A card payment of the other customer, started by the other customer.
    async with _client(card_app, "10.0.0.2") as theirs:
        assert other_services[0].msisdn is not None
        await _login(theirs, db, other_services[0].msisdn)
        form = await theirs.get(f"/cabinet/accounts/{other.number}")
        started = await theirs.post(
            f"/cabinet/accounts/{other.number}/pay",
            data={"amount": "100", "idempotency_key": "k-other", "csrf_token": csrf_of(form.text)},
        )
        assert started.status_code == 303
    async with db.session() as s:
        their_card = await s.scalar(select(CardPayment.id))
    await _login(web, db, msisdn)
    token = csrf_of((await web.get("/cabinet/accounts")).text)
    before = await _count(db, CardPayment), await _count(db, PromisedPayment)
    for number in (other.number, "40817810000000000000", "x" * 70):
        for path in ("", "/statement.csv", "/statement.pdf", "/promised"):
            r = await web.get(f"/cabinet/accounts/{number}{path}")
            assert r.status_code == 404, (number, path)
            assert "Страница не найдена" in r.text
        pay = await web.post(
            f"/cabinet/accounts/{number}/pay",
            data={"amount": "10", "idempotency_key": f"k-{number[:8]}", "csrf_token": token},
        )
        take = await web.post(
            f"/cabinet/accounts/{number}/promised",
            data={"amount_minor": "10000", "csrf_token": token},
        )
        assert pay.status_code == take.status_code == 404
    result = await web.get(f"/cabinet/pay/{their_card}")
    unknown = await web.get("/cabinet/pay/999999")
    assert result.status_code == unknown.status_code == 404
    assert await _count(db, CardPayment) == before[0] and await _count(db, PromisedPayment) == 0
    own = await web.get(f"/cabinet/accounts/{mine.number}")
    assert own.status_code == 200


async def test_csrf_missing_or_wrong_is_refused_and_changes_nothing(
    web: httpx.AsyncClient, card_app: FastAPI, db: Database, clock: FrozenClock
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    good = csrf_of((await web.get(f"/cabinet/accounts/{account.number}")).text)
    async with db.session() as s:
        ledger = await ledger_counts(s)
    counts = [await _count(db, m) for m in (CardPayment, IdempotencyKey, PromisedPayment)]
    nonce, mac = good.split(".")
    forged = [None, "", "nonsense", f"{nonce}.{'0' * len(mac)}", f"x{nonce}.{mac}"]
    for token in forged:
        data = {} if token is None else {"csrf_token": token}
        posts = [
            (f"/cabinet/accounts/{account.number}/pay", {"amount": "100", "idempotency_key": "k1"}),
            (f"/cabinet/accounts/{account.number}/promised", {"amount_minor": "10000"}),
            ("/cabinet/logout", {}),
            ("/cabinet/login", {"msisdn": msisdn}),
            ("/cabinet/login/code", {"code": "123456"}),
            ("/cabinet/find", {"kind": "tv", "smart_card": "1", "chip_id": "2"}),
        ]
        for path, fields in posts:
            r = await web.post(path, data={**fields, **data})
            assert r.status_code == 403, (path, token, r.status_code)
            assert "Форма устарела" in r.text
    async with db.session() as s:
        assert await ledger_counts(s) == ledger
    assert [await _count(db, m) for m in (CardPayment, IdempotencyKey, PromisedPayment)] == counts
    # Still logged in (the forged logout did nothing), and one code was ever sent.
    assert (await web.get("/cabinet/accounts")).status_code == 200
    assert len(await codes_sent(db, msisdn)) == 1
    # A token minted for another session is refused too.
    async with _client(card_app) as stranger:
        form = await stranger.get("/cabinet/login")
        theirs = csrf_of(form.text)
    r = await web.post("/cabinet/logout", data={"csrf_token": theirs})
    assert r.status_code == 403


async def test_headers_on_every_page(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    public = ["/cabinet", "/cabinet/login", "/cabinet/find"]
    for path in public:
        assert (await web.get(path)).status_code == 200
    await _login(web, db, msisdn)
    pages = [
        "/cabinet/accounts",
        f"/cabinet/accounts/{account.number}",
        f"/cabinet/accounts/{account.number}/promised",
        "/cabinet/sessions",
        f"/cabinet/accounts/{account.number}/statement.csv",
    ]
    for path in ["/cabinet", "/cabinet/find", *pages]:
        r = await web.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src 'self'" in csp
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store", path
        assert "<script>" not in r.text and "style=" not in r.text


async def test_code_reuse_and_expiry_refused_on_the_page(
    card_app: FastAPI, db: Database, clock: FrozenClock
) -> None:
    _account, _s, msisdn = await _holder(db, clock)
    async with _client(card_app) as first:
        code = await _login(first, db, msisdn)
    async with _client(card_app) as second:
        form = await second.get("/cabinet/login")
        await second.post(
            "/cabinet/login", data={"msisdn": msisdn, "csrf_token": csrf_of(form.text)}
        )
        # The old code, again: the newest code is the one that counts, and the old one is spent.
        page = await second.get("/cabinet/login/code")
        reused = await second.post(
            "/cabinet/login/code", data={"code": code, "csrf_token": csrf_of(page.text)}
        )
        assert reused.status_code == 401 and "Неверный код" in reused.text
        assert "ab_session" not in second.cookies
        clock.at += dt.timedelta(minutes=6)
        fresh = (await codes_sent(db, msisdn))[-1]
        expired = await second.post(
            "/cabinet/login/code", data={"code": fresh, "csrf_token": csrf_of(reused.text)}
        )
        assert expired.status_code == 401 and "Срок действия кода истёк" in expired.text
        assert "ab_session" not in second.cookies
        assert (await second.get("/cabinet/accounts")).status_code == 303


async def test_send_limit_answers_429_with_when_to_retry(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _account, _s, msisdn = await _holder(db, clock)
    token = csrf_of((await web.get("/cabinet/login")).text)
    statuses = []
    for _ in range(6):
        r = await web.post("/cabinet/login", data={"msisdn": msisdn, "csrf_token": token})
        statuses.append(r.status_code)
    assert statuses == [303] * 5 + [429]
    assert int(r.headers["retry-after"]) > 0
    assert "Повторите через" in r.text and "мин." in r.text
    assert len(await codes_sent(db, msisdn)) == 5


async def test_session_renewed_at_login_logout_and_sessions(
    card_app: FastAPI, db: Database, clock: FrozenClock
) -> None:
    _account, _s, msisdn = await _holder(db, clock)
    async with _client(card_app) as web:
        await _login(web, db, msisdn)
        first = web.cookies["ab_session"]
        await _login(web, db, msisdn)
        second = web.cookies["ab_session"]
        assert first != second
        async with db.session() as s:
            rows = (await s.scalars(select(SubscriberSession).order_by(SubscriberSession.id))).all()
        assert [r.revoked_reason for r in rows] == ["logout", None]
        async with _client(card_app, "10.0.0.9") as phone:
            await _login(phone, db, msisdn)
            sessions = await web.get("/cabinet/sessions")
            assert sessions.text.count('data-test="session"') == 2
            assert sessions.text.count('data-current="1"') == 1
            other = max(r.id for r in await _live(db))
            revoked = await web.post(
                f"/cabinet/sessions/{other}/revoke", data={"csrf_token": csrf_of(sessions.text)}
            )
            assert revoked.status_code == 303
            gone = await phone.get("/cabinet/accounts")
            assert gone.status_code == 303 and gone.headers["location"].startswith("/cabinet/login")
        page = await web.get("/cabinet/accounts")
        out = await web.post("/cabinet/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        after = await web.get("/cabinet/accounts")
        assert after.status_code == 303
        assert after.headers["location"] == "/cabinet/login?next=/cabinet/accounts"


async def _live(db: Database) -> list[SubscriberSession]:
    async with db.session() as s:
        return list(
            (
                await s.scalars(
                    select(SubscriberSession).where(SubscriberSession.revoked_at.is_(None))
                )
            ).all()
        )


async def test_pay_the_debt_through_the_sandbox_once_per_form(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    page = await web.get("/cabinet/accounts")
    key = re.search(r'name="idempotency_key" value="(\w+)"', page.text)
    assert key
    form = {"amount": "500,00", "idempotency_key": key.group(1), "csrf_token": csrf_of(page.text)}
    started = await web.post(f"/cabinet/accounts/{account.number}/pay", data=form)
    assert started.status_code == 303
    sandbox = started.headers["location"]
    assert sandbox.startswith(f"{BASE}/sandbox/acquiring/sbx_")
    again = await web.post(f"/cabinet/accounts/{account.number}/pay", data=form)
    assert again.headers["location"] == sandbox  # the same form: the same payment
    assert await _count(db, CardPayment) == 1
    paid = await web.post(f"{sandbox}/pay", data={"action": "succeed"})
    assert paid.status_code == 303
    landing = paid.headers["location"]
    assert re.fullmatch(rf"{BASE}/cabinet/pay/\d+", landing)
    result = await web.get(landing)
    assert 'data-status="succeeded"' in result.text
    assert 'data-test="no-debt"' in result.text
    assert 'data-test="new-balance">0,00\u00a0₽<' in result.text
    replay = await web.post(f"/cabinet/accounts/{account.number}/pay", data=form)
    assert replay.headers["location"] == landing.removeprefix(BASE)
    statement = await web.get(f"/cabinet/accounts/{account.number}")
    assert 'data-test="closing">0,00\u00a0₽<' in statement.text
    assert 'data-kind="payment"' in statement.text


@pytest.mark.parametrize(("action", "status"), [("decline", "failed"), ("timeout", "unknown")])
async def test_declined_and_timed_out_card_payments(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock, action: str, status: str
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    page = await web.get(f"/cabinet/accounts/{account.number}")
    key = re.search(r'name="idempotency_key" value="(\w+)"', page.text)
    assert key
    started = await web.post(
        f"/cabinet/accounts/{account.number}/pay",
        data={"amount": "150", "idempotency_key": key.group(1), "csrf_token": csrf_of(page.text)},
    )
    paid = await web.post(f"{started.headers['location']}/pay", data={"action": action})
    result = await web.get(paid.headers["location"])
    assert f'data-status="{status}"' in result.text
    assert f'data-test="new-debt">{_rub(50_000)}<' in result.text
    words = {"failed": "Платёж не прошёл", "unknown": "Статус платежа уточняется"}
    assert words[status] in result.text


async def test_refused_amounts_change_nothing(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    page = await web.get(f"/cabinet/accounts/{account.number}")
    token = csrf_of(page.text)
    for n, amount in enumerate(["", "abc", "0", "-5", "1,234", "99999999999"]):
        r = await web.post(
            f"/cabinet/accounts/{account.number}/pay",
            data={"amount": amount, "idempotency_key": f"bad-{n}", "csrf_token": token},
        )
        assert r.status_code == 422, amount
        assert 'data-test="refusal"' in r.text
    assert await _count(db, CardPayment) == 0


async def test_take_a_promised_payment_and_its_refusal(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    offer = await web.get(f"/cabinet/accounts/{account.number}/promised")
    amounts = re.findall(r'name="amount_minor" value="(\d+)"', offer.text)
    assert amounts, offer.text
    token = csrf_of(offer.text)
    async with db.session() as s:
        before = await ledger_counts(s)
    bad = await web.post(
        f"/cabinet/accounts/{account.number}/promised",
        data={"amount_minor": "1", "csrf_token": token},
    )
    assert bad.status_code == 422 and 'data-test="refusal"' in bad.text
    async with db.session() as s:
        assert await ledger_counts(s) == before
    taken = await web.post(
        f"/cabinet/accounts/{account.number}/promised",
        data={"amount_minor": amounts[0], "csrf_token": token},
    )
    assert taken.status_code == 303
    state = await web.get(taken.headers["location"])
    assert 'data-test="in-force"' in state.text and 'data-test="taken"' in state.text
    again = await web.post(
        f"/cabinet/accounts/{account.number}/promised",
        data={"amount_minor": amounts[0], "csrf_token": token},
    )
    assert again.status_code == 422
    assert "уже действует обещанный платёж" in again.text
    assert await _count(db, PromisedPayment) == 1


async def test_find_account_number_public_and_rate_limited(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, services, _msisdn = await _holder(db, clock)
    tv = services[2]
    page = await web.get("/cabinet/find")
    token = csrf_of(page.text)
    found = await web.post(
        "/cabinet/find",
        data={
            "kind": "tv",
            "smart_card": tv.smart_card,
            "chip_id": tv.chip_id,
            "csrf_token": token,
        },
    )
    assert found.status_code == 200 and f'data-test="found">{account.number}<' in found.text
    half = await web.post(
        "/cabinet/find",
        data={"kind": "tv", "smart_card": tv.smart_card, "chip_id": "WRONG", "csrf_token": token},
    )
    assert half.status_code == 404 and account.number not in half.text
    statuses = []
    for _ in range(19):
        r = await web.post(
            "/cabinet/find",
            data={"kind": "tv", "smart_card": "1", "chip_id": "2", "csrf_token": token},
        )
        statuses.append(r.status_code)
    assert statuses[-1] == 429 and statuses.count(429) == 1
    assert "retry-after" in r.headers


async def test_english_pages(web: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    await web.get("/cabinet/lang/en")
    for path in ("/cabinet/accounts", f"/cabinet/accounts/{account.number}", "/cabinet/sessions"):
        r = await web.get(path)
        assert '<html lang="en">' in r.text
        assert "Баланс" not in r.text and "Balance" in r.text, path
    promised_page = await web.get(f"/cabinet/accounts/{account.number}/promised")
    assert "Promised payment" in promised_page.text


async def test_statement_downloads_for_a_chosen_period(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    import io

    from pypdf import PdfReader

    account, _s, msisdn = await _holder(db, clock)
    await _login(web, db, msisdn)
    period = {"start": "2026-11-01", "end": "2026-11-18"}
    csv = await web.get(f"/cabinet/accounts/{account.number}/statement.csv", params=period)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "20261101-20261118.csv" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeffДата;Операция")
    assert "01.11.2026;Входящий остаток;;;;0.00" in text
    assert text.rstrip().endswith("18.11.2026;Исходящий остаток;;500.00;0.00;-500.00")
    pdf = await web.get(f"/cabinet/accounts/{account.number}/statement.pdf", params=period)
    assert pdf.headers["content-type"] == "application/pdf"
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"****{account.number[-4:]}" in words and "01.11.2026" in words
    filtered = await web.get(
        f"/cabinet/accounts/{account.number}", params={**period, "kind": "payment"}
    )
    assert (
        'data-kind="charge"'
        not in filtered.text.split('data-test="history"')[1].split("</table>")[0]
    )
    reversed_period = await web.get(
        f"/cabinet/accounts/{account.number}", params={"start": "2026-11-18", "end": "2026-11-01"}
    )
    assert reversed_period.status_code == 200 and "Неверный период" in reversed_period.text
    other = await web.get(f"/cabinet/accounts/{account.number}/statement.xls")
    assert other.status_code == 404


async def test_pages_without_a_session_send_to_the_login(
    web: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _s, _msisdn = await _holder(db, clock)
    page = await web.get(f"/cabinet/accounts/{account.number}?kind=payment")
    assert page.status_code == 303
    assert page.headers["location"] == (
        f"/cabinet/login?next=/cabinet/accounts/{account.number}%3Fkind%3Dpayment"
    )
    web.cookies.set("ab_session", "forged-or-expired")
    posted = await web.post(
        f"/cabinet/accounts/{account.number}/pay", data={"amount": "100", "idempotency_key": "k"}
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/cabinet/login?next=/cabinet/accounts"
    assert await _count(db, CardPayment) == 0
