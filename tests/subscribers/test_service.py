"""The subscriber's login by SMS code, sessions and own accounts, through the service."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.accounts.errors import AccountNotFound
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.models import LoginCode, SubscriberSession, ThrottleHit
from abonent.subscribers import service as auth
from abonent.subscribers.errors import (
    CodeExpired,
    CodeInvalid,
    NotAuthenticated,
    SessionNotFound,
    TooManyAttempts,
)
from abonent.throttle import service as throttle
from abonent.throttle.errors import RateLimited
from tests.factories import make_account, remember_secret
from tests.subscribers.helpers import codes_sent, sim_holder, sms_count

CLIENT = "192.0.2.10"


async def _request(db: Database, msisdn: str, client: str = CLIENT) -> None:
    async with db.session(write=True) as s:
        await auth.request_code(s, msisdn, client=client)


async def _login(db: Database, msisdn: str, code: str, kind: str = "api") -> auth.Tokens:
    """As a surface does: the failed try's counters are committed, then the error is raised."""
    failure: AbonentError | None = None
    async with db.session(write=True) as s:
        try:
            tokens = await auth.login(
                s, msisdn, code, client=CLIENT, kind=kind, user_agent="pytest"
            )
        except AbonentError as exc:
            failure = exc
    if failure is not None:
        raise failure
    remember_secret(tokens.access_token)
    remember_secret(tokens.refresh_token)
    return tokens


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_login_by_code_opens_a_session_and_code_is_single_use(
    db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    await _request(db, msisdn)
    (code,) = await codes_sent(db, msisdn)
    async with db.session() as s:
        stored = (await s.scalars(select(LoginCode))).one()
    assert stored.code_hash != code and code not in stored.code_hash and len(stored.code_hash) == 64
    tokens = await _login(db, msisdn, code)
    assert tokens.expires_in == 900
    async with db.session(write=True) as s:
        principal = await auth.authenticate(s, tokens.access_token)
        accounts = await auth.own_accounts(s, principal)
    assert principal.msisdn == msisdn and principal.kind == "api"
    assert [a.number for a in accounts] == [account.number]
    with pytest.raises(CodeInvalid):
        await _login(db, msisdn, code)
    second = await _login_again(db, msisdn)
    assert second.session_id != tokens.session_id


async def _login_again(db: Database, msisdn: str) -> auth.Tokens:
    await _request(db, msisdn)
    return await _login(db, msisdn, (await codes_sent(db, msisdn))[-1])


async def test_code_expires_after_five_minutes(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    await _request(db, msisdn)
    (code,) = await codes_sent(db, msisdn)
    clock.advance(seconds=300)
    with pytest.raises(CodeExpired):
        await _login(db, msisdn, code)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(SubscriberSession)) == 0


async def test_five_wrong_tries_kill_the_code(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    await _request(db, msisdn)
    (code,) = await codes_sent(db, msisdn)
    for _ in range(5):
        with pytest.raises(CodeInvalid):
            await _login(db, msisdn, _wrong(code))
    with pytest.raises(TooManyAttempts) as refused:
        await _login(db, msisdn, code)
    assert refused.value.code == "auth.too_many_attempts" and refused.value.status == 429


async def test_a_new_code_does_not_reset_failures_per_number(
    db: Database, clock: FrozenClock
) -> None:
    msisdn, _ = await sim_holder(db)
    for _ in range(2):  # 10 failures over two codes: the per-number cap
        await _request(db, msisdn)
        code = (await codes_sent(db, msisdn))[-1]
        for _ in range(5):
            with pytest.raises(CodeInvalid):
                await _login(db, msisdn, _wrong(code))
        clock.advance(seconds=1)
    await _request(db, msisdn)
    fresh = (await codes_sent(db, msisdn))[-1]
    with pytest.raises(TooManyAttempts) as refused:
        await _login(db, msisdn, fresh)
    assert refused.value.retry_after_seconds == 3600 - 2  # oldest of them: 2 s ago
    clock.advance(hours=1)
    await _request(db, msisdn)
    assert (await _login(db, msisdn, (await codes_sent(db, msisdn))[-1])).session_id > 0


async def test_sends_capped_per_number_with_retry_after(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    for _ in range(5):
        await _request(db, msisdn)
        clock.advance(minutes=1)
    before = await sms_count(db)
    with pytest.raises(RateLimited) as refused:
        await _request(db, msisdn)
    assert refused.value.code == "auth.rate_limited"
    assert refused.value.retry_after_seconds == 3600 - 5 * 60
    assert await sms_count(db) == before


async def test_sends_capped_per_client_address(db: Database, clock: FrozenClock) -> None:
    for _ in range(20):
        msisdn, _ = await sim_holder(db)
        await _request(db, msisdn)
    other, _ = await sim_holder(db)
    async with db.session() as s:
        hits = await s.scalar(select(func.count()).select_from(ThrottleHit))
    with pytest.raises(RateLimited) as refused:
        await _request(db, other)
    assert refused.value.retry_after_seconds == 3600
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ThrottleHit)) == hits
    assert await codes_sent(db, other) == []
    await _request(db, other, client="192.0.2.11")
    assert len(await codes_sent(db, other)) == 1


async def test_unknown_number_same_outcome_and_no_sms(db: Database, clock: FrozenClock) -> None:
    await sim_holder(db)
    before = await sms_count(db)
    await _request(db, "+79990001122")
    assert await sms_count(db) == before
    with pytest.raises(CodeInvalid):
        await _login(db, "+79990001122", "123456")


async def test_contact_phone_logs_in_to_the_customers_accounts(
    db: Database, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s, kinds=("internet",))
        from abonent.models import Customer

        customer = await s.get(Customer, account.customer_id)
        assert customer is not None
        customer.contact_phone = "+79261112233"
    await _request(db, "8 (926) 111-22-33")
    tokens = await _login(db, "+7 926 111 22 33", (await codes_sent(db, "+79261112233"))[-1])
    async with db.session() as s:
        principal = await auth.authenticate(s, tokens.access_token)
        assert [a.number for a in await auth.own_accounts(s, principal)] == [account.number]


async def test_refresh_rotates_and_reuse_revokes(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    first = await _login_again(db, msisdn)
    async with db.session(write=True) as s:
        second = await auth.refresh(s, first.refresh_token)
    remember_secret(second.access_token)
    remember_secret(second.refresh_token)
    assert second.session_id == first.session_id and second.refresh_token != first.refresh_token
    async with db.session() as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, first.access_token)
        assert (await auth.authenticate(s, second.access_token)).session_id == first.session_id
    async with db.session(write=True) as s:
        with pytest.raises(NotAuthenticated):
            await auth.refresh(s, first.refresh_token)
        await s.commit()  # as the surface does: the revocation stands though the answer is 401
    async with db.session() as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, second.access_token)
        with pytest.raises(NotAuthenticated):
            await auth.refresh(s, second.refresh_token)


async def test_access_token_expires_web_idles_and_logout(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    api = await _login_again(db, msisdn)
    clock.advance(seconds=900)
    async with db.session() as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, api.access_token)
    await _request(db, msisdn)
    web = await _login(db, msisdn, (await codes_sent(db, msisdn))[-1], kind="web")
    clock.advance(minutes=29)
    async with db.session(write=True) as s:
        principal = await auth.authenticate(s, web.access_token)
    clock.advance(minutes=29)
    async with db.session(write=True) as s:
        assert (await auth.authenticate(s, web.access_token)).session_id == principal.session_id
    clock.advance(minutes=30)
    async with db.session(write=True) as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, web.access_token)
    other = await _login_again(db, msisdn)
    async with db.session(write=True) as s:
        principal = await auth.authenticate(s, other.access_token)
        await auth.logout(s, principal)
    async with db.session() as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, other.access_token)


async def test_web_session_absolute_life(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    await _request(db, msisdn)
    web = await _login(db, msisdn, (await codes_sent(db, msisdn))[-1], kind="web")
    for _ in range(12 * 3):
        clock.advance(minutes=20)
        async with db.session(write=True) as s:
            try:
                await auth.authenticate(s, web.access_token)
            except NotAuthenticated:
                break
    async with db.session() as s:
        row = await s.get(SubscriberSession, web.session_id)
    assert row is not None
    assert clock.at - row.created_at == dt.timedelta(hours=12)


async def test_sessions_listed_and_only_own_revoked(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    other_msisdn, _ = await sim_holder(db)
    a = await _login_again(db, msisdn)
    b = await _login_again(db, msisdn)
    c = await _login_again(db, other_msisdn)
    async with db.session(write=True) as s:
        me = await auth.authenticate(s, b.access_token)
        listed = await auth.list_sessions(s, me)
        assert [(x.id, x.current) for x in listed] == [(b.session_id, True), (a.session_id, False)]
        with pytest.raises(SessionNotFound):
            await auth.revoke_session(s, me, c.session_id)
        await auth.revoke_session(s, me, a.session_id)
    async with db.session() as s:
        with pytest.raises(NotAuthenticated):
            await auth.authenticate(s, a.access_token)
        assert (await auth.authenticate(s, c.access_token)).msisdn == other_msisdn


async def test_own_account_refuses_another_like_unknown(db: Database, clock: FrozenClock) -> None:
    msisdn, mine = await sim_holder(db)
    _, theirs = await sim_holder(db)
    tokens = await _login_again(db, msisdn)
    async with db.session() as s:
        me = await auth.authenticate(s, tokens.access_token)
        assert (await auth.own_account(s, me, mine.number)).id == mine.id
        with pytest.raises(AccountNotFound) as other:
            await auth.own_account(s, me, theirs.number)
        with pytest.raises(AccountNotFound) as unknown:
            await auth.own_account(s, me, "000000000000")
    assert (other.value.code, other.value.status) == (unknown.value.code, unknown.value.status)


async def test_public_lookups_need_both_halves(db: Database, clock: FrozenClock) -> None:
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=("tv",), full_name="Семёнов Пётр Ильич")
    tv = services[0]
    assert tv.smart_card and tv.chip_id
    async with db.session(write=True) as s:
        from abonent.accounts import service as accounts
        from tests.factories import ACTOR

        await accounts.add_contract(
            s, account, number="ДГ-77/1", signed_on=dt.date(2026, 1, 5), actor=ACTOR
        )
    async with db.session() as s:
        assert await auth.find_tv_account(s, tv.smart_card, tv.chip_id) == account.number
        assert await auth.find_tv_account(s, tv.smart_card, "C999999") is None
        assert await auth.find_tv_account(s, tv.smart_card, "") is None
        assert await auth.find_internet_account(s, "ДГ-77/1", "СЕМЕНОВ") == account.number
        assert await auth.find_internet_account(s, " ДГ-77/1 ", "семёнов") == account.number
        assert await auth.find_internet_account(s, "ДГ-77/1", "Иванов") is None
        assert await auth.find_internet_account(s, "ДГ-77/2", "Семёнов") is None


async def test_bad_input_refused_and_nothing_changed(db: Database, clock: FrozenClock) -> None:
    msisdn, _ = await sim_holder(db)
    with pytest.raises(InvalidInput):
        await _request(db, "не номер")
    for code in ("12345", "abcdef", "１２３４５６", "1234567"):
        with pytest.raises(InvalidInput):
            await _login(db, msisdn, code)
    with pytest.raises(InvalidInput):
        await _login(db, msisdn, "123456", kind="admin")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ThrottleHit)) == 0
        assert await s.scalar(select(func.count()).select_from(LoginCode)) == 0


async def test_throttle_sliding_window(db: Database, clock: FrozenClock) -> None:
    window = dt.timedelta(minutes=10)
    for _ in range(3):
        async with db.session(write=True) as s:
            await throttle.hit(s, "k", 3, window)
        clock.advance(minutes=2)
    async with db.session(write=True) as s:
        with pytest.raises(RateLimited) as refused:
            await throttle.hit(s, "k", 3, window)
    assert refused.value.retry_after_seconds == 4 * 60
    clock.advance(minutes=4, seconds=1)
    async with db.session(write=True) as s:
        await throttle.hit(s, "k", 3, window)
        await throttle.hit(s, "other", 1, window)
