"""Login by phone number and a one-time SMS code; sessions as opaque rotating token pairs.

The code is 6 digits from ``secrets``, kept only as an HMAC under a configured key (a plain
hash of a million values is a lookup table). Tokens are 256-bit ``token_urlsafe`` values, kept
as sha256. Nothing here commits: the caller's unit of work does, so a failed try and its
counters are committed by the surface even when it answers with an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.errors import AccountNotFound
from abonent.config import SubscriberAuthSettings, get_settings
from abonent.kit import clock
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import normalize_msisdn
from abonent.models import Account, LoginCode, SubscriberSession
from abonent.outbox import service as outbox
from abonent.sms import templates
from abonent.subscribers import repository as repo
from abonent.subscribers.errors import (
    CodeExpired,
    CodeInvalid,
    NotAuthenticated,
    SessionNotFound,
    TooManyAttempts,
)
from abonent.throttle import service as throttle
from abonent.throttle.errors import RateLimited

HOUR = dt.timedelta(hours=1)
KINDS = ("api", "web")


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: int


@dataclass(frozen=True)
class Principal:
    customer_id: int
    msisdn: str
    session_id: int
    kind: str


@dataclass(frozen=True)
class SessionInfo:
    id: int
    kind: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    user_agent: str | None
    client: str | None
    current: bool


def _cfg() -> SubscriberAuthSettings:
    return get_settings().subscriber_auth


def _code_key() -> bytes:
    key = _cfg().code_key
    if key is not None:
        return hashlib.sha256(key.get_secret_value().encode()).digest()
    return hmac.new(
        get_settings().secret("pii_hash_key"), b"subscriber-login-code", "sha256"
    ).digest()


def _code_hash(msisdn: str, code: str) -> str:
    return hmac.new(_code_key(), f"{msisdn}:{code}".encode(), "sha256").hexdigest()


def token_hash(token: str) -> str:
    """How an access or refresh token is kept and looked up: its sha256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


_token_hash = token_hash


def _msisdn(raw: str) -> str:
    return normalize_msisdn(raw)


async def holder_of(session: AsyncSession, msisdn: str) -> int | None:
    """The customer a login by this number acts as: the SIM's holder first, else the contact."""
    by_sim = await repo.customer_by_sim(session, msisdn)
    return by_sim if by_sim is not None else await repo.customer_by_phone(session, msisdn)


async def request_code(session: AsyncSession, msisdn: str, *, client: str) -> None:
    cfg = _cfg()
    number = _msisdn(msisdn)
    # Both caps are checked before either is counted, so a refusal changes nothing.
    await throttle.check(session, f"otp-send:msisdn:{number}", cfg.sends_per_number_per_hour, HOUR)
    await throttle.check(session, f"otp-send:client:{client}", cfg.sends_per_client_per_hour, HOUR)
    await throttle.record(session, f"otp-send:msisdn:{number}")
    await throttle.record(session, f"otp-send:client:{client}")
    customer_id = await holder_of(session, number)
    if customer_id is None:
        return  # the same answer as for a number of ours: nothing tells them apart
    now = clock.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = LoginCode(
        msisdn=number,
        code_hash=_code_hash(number, code),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=cfg.code_ttl_seconds),
        failures=0,
    )
    session.add(row)
    await session.flush()
    text = templates.login_code(code=code, minutes=max(1, cfg.code_ttl_seconds // 60))
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {"to": number, "text": text.text, "kind": "login_code", "category": text.category},
        dedupe_key=f"sms:login-code:{row.id}",
        fresh=True,
    )


async def _fail(session: AsyncSession, row: LoginCode | None, number: str) -> None:
    if row is not None:
        row.failures += 1
    await throttle.record(session, f"otp-fail:msisdn:{number}")
    await session.flush()


async def login(
    session: AsyncSession,
    msisdn: str,
    code: str,
    *,
    client: str,
    kind: str,
    user_agent: str | None,
) -> Tokens:
    """Check the code and open a NEW session. A wrong code is counted (the caller commits the
    count even though this raises)."""
    cfg = _cfg()
    if kind not in KINDS:
        raise InvalidInput(f"unknown session kind {kind!r}", code="auth.kind_invalid")
    number = _msisdn(msisdn)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput("the code is 6 digits", code="auth.code_malformed")
    try:
        await throttle.check(
            session, f"otp-fail:msisdn:{number}", cfg.failures_per_number_per_hour, HOUR
        )
    except RateLimited as exc:
        raise TooManyAttempts(exc.retry_after_seconds) from None
    row = await repo.latest_code(session, number)
    now = clock.now()
    if row is None or row.used_at is not None:
        await _fail(session, None, number)
        raise CodeInvalid("неверный код")
    if row.failures >= cfg.code_max_failures:
        raise TooManyAttempts(max(1, int((row.expires_at - now).total_seconds())))
    if row.expires_at <= now:
        raise CodeExpired("срок действия кода истёк, запросите новый")
    if not hmac.compare_digest(row.code_hash, _code_hash(number, code)):
        await _fail(session, row, number)
        raise CodeInvalid("неверный код")
    customer_id = await holder_of(session, number)
    if customer_id is None:
        raise CodeInvalid("неверный код")
    row.used_at = now
    return await _open(
        session, customer_id, number, kind=kind, client=client, user_agent=user_agent
    )


def _web_idle() -> dt.timedelta:
    return dt.timedelta(minutes=_cfg().web_idle_minutes)


def _life(kind: str) -> dt.timedelta:
    cfg = _cfg()
    return (
        dt.timedelta(hours=cfg.web_hours) if kind == "web" else dt.timedelta(days=cfg.session_days)
    )


async def _open(
    session: AsyncSession,
    customer_id: int,
    msisdn: str,
    *,
    kind: str,
    client: str,
    user_agent: str | None,
) -> Tokens:
    now = clock.now()
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # A cabinet page has no refresh loop: its token lives as long as the idle timeout allows.
    ttl = int(_web_idle().total_seconds()) if kind == "web" else _cfg().access_ttl_seconds
    row = SubscriberSession(
        customer_id=customer_id,
        msisdn=msisdn,
        kind=kind,
        access_hash=_token_hash(access),
        access_expires_at=now + dt.timedelta(seconds=ttl),
        refresh_hash=_token_hash(refresh),
        expires_at=now + _life(kind),
        created_at=now,
        last_seen_at=now,
        user_agent=(user_agent or None) and user_agent[:255],
        client=client[:64] if client else None,
    )
    session.add(row)
    await session.flush()
    return Tokens(access, refresh, ttl, row.id)


def _revoke(row: SubscriberSession, reason: str) -> None:
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        row.revoked_reason = reason


async def refresh(session: AsyncSession, refresh_token: str) -> Tokens:
    digest = _token_hash(refresh_token or "")
    now = clock.now()
    row = await repo.session_by_refresh(session, digest)
    if row is None:
        reused = await repo.session_by_previous_refresh(session, digest)
        if reused is not None:
            # A rotated-away token came back: someone holds a copy. End the whole session.
            _revoke(reused, "refresh_reuse")
            await session.flush()
        raise NotAuthenticated("refresh token is not valid")
    if row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated("session ended")
    access, new_refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    ttl = _cfg().access_ttl_seconds
    row.previous_refresh_hash = row.refresh_hash
    row.refresh_hash = _token_hash(new_refresh)
    row.access_hash = _token_hash(access)
    row.access_expires_at = min(now + dt.timedelta(seconds=ttl), row.expires_at)
    row.last_seen_at = now
    await session.flush()
    return Tokens(access, new_refresh, ttl, row.id)


async def authenticate(session: AsyncSession, access_token: str) -> Principal:
    row = await repo.session_by_access(session, _token_hash(access_token or ""))
    return await _live(session, row)


def needs_write(
    *,
    kind: str,
    revoked_at: dt.datetime | None,
    access_expires_at: dt.datetime,
    expires_at: dt.datetime,
    last_seen_at: dt.datetime,
    now: dt.datetime,
) -> bool:
    """The rules of a live access token, on plain values: ``NotAuthenticated`` when it is not
    live; True when using it must write (a web session timed out, or ``last_seen_at`` is due)."""
    if revoked_at is not None:
        raise NotAuthenticated("not logged in")
    if access_expires_at <= now or expires_at <= now:
        raise NotAuthenticated("token expired")
    if kind == "web" and last_seen_at + _web_idle() <= now:
        return True
    # Written at most once a minute, so that reads stay reads under load.
    return now - last_seen_at >= dt.timedelta(minutes=1)


async def _live(session: AsyncSession, row: SubscriberSession | None) -> Principal:
    """The principal of a session found by its access token, if it is still live."""
    now = clock.now()
    if row is None:
        raise NotAuthenticated("not logged in")
    if needs_write(
        kind=row.kind,
        revoked_at=row.revoked_at,
        access_expires_at=row.access_expires_at,
        expires_at=row.expires_at,
        last_seen_at=row.last_seen_at,
        now=now,
    ):
        if row.kind == "web" and row.last_seen_at + _web_idle() <= now:
            _revoke(row, "idle")
            await session.flush()
            raise NotAuthenticated("session timed out")
        row.last_seen_at = now
        if row.kind == "web":
            # Sliding: a web session stays up while used, up to its absolute end.
            row.access_expires_at = min(now + _web_idle(), row.expires_at)
        await session.flush()
    return Principal(row.customer_id, row.msisdn, row.id, row.kind)


@dataclass(frozen=True, slots=True)
class Seen:
    """A use of a session to record: when, and a web session's new (slid) access deadline."""

    session_id: int
    at: dt.datetime
    access_until: dt.datetime | None


def seen_now(*, session_id: int, kind: str, expires_at: dt.datetime, now: dt.datetime) -> Seen:
    """What a use of a live session that is due a write records (not a timed-out web one)."""
    slid = min(now + _web_idle(), expires_at) if kind == "web" else None
    return Seen(session_id, now, slid)


def timed_out(*, kind: str, last_seen_at: dt.datetime, now: dt.datetime) -> bool:
    return kind == "web" and last_seen_at + _web_idle() <= now


async def record_seen(session: AsyncSession, seen: Seen) -> None:
    await repo.touch(session, seen.session_id, seen.at, seen.access_until)


NO_SUCH_ACCOUNT = "no such account"
"""The one detail of every refused account number: another's reads exactly as an unknown one."""


@dataclass(frozen=True)
class OwnAccount:
    """An account of the caller's customer, as plain values (no ORM object leaves the unit)."""

    principal: Principal
    account_id: int
    number: str
    currency: str


async def authenticate_for_account(
    session: AsyncSession, access_token: str, number: str
) -> OwnAccount:
    """The caller and their account ``number`` in ONE query (token → session → customer →
    account). Not logged in: ``NotAuthenticated``; logged in, but not an account of theirs
    (another customer's, unknown, malformed): ``AccountNotFound``, always the same words."""
    found = await repo.session_with_account(
        session, _token_hash(access_token or ""), (number or "").strip()
    )
    principal = await _live(session, found[0] if found is not None else None)
    assert found is not None
    _, account_id, account_number, currency = found
    if account_id is None or account_number is None or currency is None:
        raise AccountNotFound(NO_SUCH_ACCOUNT)
    return OwnAccount(principal, int(account_id), str(account_number), str(currency))


async def logout(session: AsyncSession, principal: Principal) -> None:
    row = await session.get(SubscriberSession, principal.session_id)
    if row is not None:
        _revoke(row, "logout")
        await session.flush()


async def list_sessions(session: AsyncSession, principal: Principal) -> list[SessionInfo]:
    now = clock.now()
    return [
        SessionInfo(
            r.id,
            r.kind,
            r.created_at,
            r.last_seen_at,
            r.user_agent,
            r.client,
            r.id == principal.session_id,
        )
        for r in await repo.live_sessions(session, principal.customer_id)
        if r.expires_at > now
    ]


async def revoke_session(session: AsyncSession, principal: Principal, session_id: int) -> None:
    row = await session.get(SubscriberSession, session_id)
    if row is None or row.customer_id != principal.customer_id or row.revoked_at is not None:
        raise SessionNotFound("no such session")
    _revoke(row, "revoked")
    await session.flush()


async def own_accounts(session: AsyncSession, principal: Principal) -> list[Account]:
    return list(await repo.accounts_of(session, principal.customer_id))


async def own_account(session: AsyncSession, principal: Principal, number: str) -> Account:
    account = await repo.account_of(session, principal.customer_id, (number or "").strip())
    if account is None:
        raise AccountNotFound(NO_SUCH_ACCOUNT)
    return account


def _fold(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").casefold().split())


async def find_tv_account(session: AsyncSession, smart_card: str, chip_id: str) -> str | None:
    card, chip = (smart_card or "").strip(), (chip_id or "").strip()
    if not card or not chip:
        return None
    return await repo.tv_account(session, card, chip)


async def find_internet_account(session: AsyncSession, contract: str, surname: str) -> str | None:
    number, name = (contract or "").strip(), _fold(surname or "")
    if not number or not name:
        return None
    found = await repo.contract_holder(session, number)
    if found is None:
        return None
    account_number, full_name = found
    parts = _fold(full_name).split(" ")
    return account_number if parts and parts[0] == name else None
