"""Payment agents: who may pay by account number, from where, and within which limits."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.models import Account, AccountBalance, PaymentAgent
from abonent.payments.agents import repository as repo
from abonent.payments.agents.errors import (
    AgentAddressRefused,
    AgentAuthFailed,
    AgentDisabled,
    AgentExists,
    AgentNotFound,
)

_hasher = PasswordHasher()
_CODE = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
DISCLOSURES = ("none", "masked")
MIN_PASSWORD_LENGTH = 8


def code_well_formed(code: str) -> bool:
    return bool(_CODE.match(code or ""))


def _networks(addresses: Sequence[str]) -> list[str]:
    out = []
    for raw in addresses:
        try:
            out.append(str(ipaddress.ip_network(raw.strip(), strict=False)))
        except ValueError as exc:
            raise InvalidInput(f"not an address or network: {raw!r}", code="ip_invalid") from exc
    if not out:
        raise InvalidInput("at least one allowed address is required", code="ip_required")
    return out


async def create_agent(
    session: AsyncSession,
    *,
    code: str,
    password: str,
    allowed_ips: Sequence[str],
    actor: Actor,
    min_sum_minor: int = 100,
    max_sum_minor: int = 1_500_000,
    disclosure: str = "none",
    name: str = "",
) -> PaymentAgent:
    if not _CODE.match(code or ""):
        raise InvalidInput(
            "agent code: 2-32 letters, digits, '-' or '_'", code="agent_code_invalid"
        )
    _check_password_strength(password)
    if not 0 < min_sum_minor <= max_sum_minor:
        raise InvalidInput("need 0 < min-sum <= max-sum", code="agent_limits_invalid")
    if disclosure not in DISCLOSURES:
        raise InvalidInput(
            f"disclosure must be one of {', '.join(DISCLOSURES)}", code="agent_disclosure_invalid"
        )
    if await repo.code_exists(session, code):
        raise AgentExists(f"agent {code} exists")
    agent = PaymentAgent(
        code=code,
        name=name or code,
        password_hash=_hasher.hash(password),
        allowed_ips=_networks(allowed_ips),
        min_sum_minor=min_sum_minor,
        max_sum_minor=max_sum_minor,
        disclosure=disclosure,
        active=True,
        created_at=clock.now(),
    )
    session.add(agent)
    await session.flush()
    record(
        session,
        actor,
        "agent.create",
        object_type="agent",
        object_id=code,
        allowed_ips=agent.allowed_ips,
        min_sum_minor=min_sum_minor,
        max_sum_minor=max_sum_minor,
        disclosure=disclosure,
    )
    return agent


async def get_agent(session: AsyncSession, code: str) -> PaymentAgent:
    agent = await repo.by_code(session, code)
    if agent is None:
        raise AgentNotFound(f"no agent {code}")
    return agent


async def find_agent(session: AsyncSession, code: str) -> PaymentAgent | None:
    """The agent called ``code``, unauthenticated: :func:`authorize` decides what it may do."""
    return await repo.by_code(session, code)


async def find_with_account(
    session: AsyncSession, code: str, number: str
) -> tuple[PaymentAgent, Account | None, AccountBalance | None] | None:
    """The agent and the account ``number`` with its balance, in one round trip (the protocol's
    hot path); unauthenticated, like :func:`find_agent`."""
    return await repo.with_account(session, code, number)


async def list_agents(session: AsyncSession) -> Sequence[PaymentAgent]:
    return await repo.all_by_code(session)


async def code_of(session: AsyncSession, agent_id: int) -> str | None:
    return await repo.code_of(session, agent_id)


async def disable_agent(session: AsyncSession, code: str, *, actor: Actor) -> PaymentAgent:
    agent = await get_agent(session, code)
    agent.active = False
    record(session, actor, "agent.disable", object_type="agent", object_id=code)
    await session.flush()
    return agent


async def enable_agent(session: AsyncSession, code: str, *, actor: Actor) -> PaymentAgent:
    agent = await get_agent(session, code)
    agent.active = True
    record(session, actor, "agent.enable", object_type="agent", object_id=code)
    await session.flush()
    return agent


AGENT_KINDS = ("payment", "collection")


async def set_kind(session: AsyncSession, code: str, kind: str, *, actor: Actor) -> PaymentAgent:
    """Mark what the agent is: a collection agency's agent books as any other (its registry and
    its calls are the same protocol); the kind only tells its payments apart in reports."""
    if kind not in AGENT_KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(AGENT_KINDS)}", code="agent_kind_invalid"
        )
    agent = await get_agent(session, code)
    if agent.kind != kind:
        agent.kind = kind
        record(session, actor, "agent.kind", object_type="agent", object_id=code, kind=kind)
        await session.flush()
    return agent


async def set_password(
    session: AsyncSession, code: str, password: str, *, actor: Actor
) -> PaymentAgent:
    """Replace the agent's password. Processes that cached the old one stop accepting it at once:
    the verification cache is keyed by the stored hash, which changes here."""
    _check_password_strength(password)
    agent = await get_agent(session, code)
    agent.password_hash = _hasher.hash(password)
    record(session, actor, "agent.set_password", object_type="agent", object_id=code)
    await session.flush()
    return agent


def _check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"agent password must be at least {MIN_PASSWORD_LENGTH} characters",
            code="agent_password_weak",
        )


def password_matches(agent: PaymentAgent, password: str) -> bool:
    """The full argon2 verification (~50 ms of CPU): see :func:`authorize` for the fast path."""
    return _verify_hash(agent.password_hash, password)


def _verify_hash(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def address_allowed(agent: PaymentAgent, address: str | None) -> bool:
    return _address_in(tuple(agent.allowed_ips), address)


def _address_in(networks: tuple[str, ...], address: str | None) -> bool:
    if not address:
        return False
    return _address_in_networks(networks, address)


# An agent calls from a handful of addresses: parsing the address and testing it against every
# network cost ~0.1 ms a call (cProfile of the pay path), the answer is remembered instead.
@lru_cache(maxsize=4096)
def _address_in_networks(networks: tuple[str, ...], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _parsed_networks(networks))


@lru_cache(maxsize=256)
def _parsed_networks(
    networks: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in networks)


# --- authentication of protocol calls ----------------------------------------------------------
#
# argon2 costs ~50 ms of CPU by design; paying it on every check/pay would cap an agent at a few
# dozen requests a second per core. A successful verification is remembered in this process,
# keyed by (agent id, stored hash, sha256 of the password): a new password or a re-created agent
# changes the key, so a stale entry can never admit anyone. Failures are never remembered.

_VERIFIED_MAX = 1024
_verified: OrderedDict[tuple[int, str, bytes], None] = OrderedDict()


def _cache_key(agent_id: int, password_hash: str, password: str) -> tuple[int, str, bytes]:
    return agent_id, password_hash, hashlib.sha256(password.encode()).digest()


def _remember(key: tuple[int, str, bytes]) -> None:
    _verified[key] = None
    _verified.move_to_end(key)
    while len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)


def forget_verified_passwords() -> None:
    """Drop every remembered verification (tests; an operator's emergency lever)."""
    _verified.clear()


class PasswordUnverified(Exception):
    """Control flow, not a refusal: the password has not been verified in this process yet.

    The caller leaves its unit of work (so that no transaction or SQLite write lock is held for
    the ~50 ms of argon2), calls :func:`verify_password`, and tries again.
    """

    def __init__(self, agent_id: int, password_hash: str) -> None:
        super().__init__("password not verified yet")
        self.agent_id = agent_id
        self.password_hash = password_hash


_in_flight: dict[tuple[int, str, bytes], asyncio.Future[bool]] = {}


async def verify_password(error: PasswordUnverified, password: str) -> bool:
    """Run argon2 in a worker thread; remember a success.

    Concurrent requests with the same credentials (an agent's burst right after a restart)
    share one verification instead of each spending ~50 ms of CPU and 64 MiB on its own.
    """
    key = _cache_key(error.agent_id, error.password_hash, password)
    if key in _verified:  # verified by another request since this one looked
        return True
    pending = _in_flight.get(key)
    if pending is not None:
        await asyncio.wait([pending])
        if not pending.cancelled() and pending.exception() is None:
            return pending.result()
        # The first verifier was cancelled or failed: verify on our own below.
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    _in_flight[key] = future
    try:
        ok = await asyncio.to_thread(_verify_hash, error.password_hash, password)
    except BaseException:
        future.cancel()
        raise
    finally:
        if _in_flight.get(key) is future:
            del _in_flight[key]
    if ok:
        _remember(key)
    future.set_result(ok)
    return ok


def authorize(
    agent: PaymentAgent | None,
    *,
    username: str | None,
    password: str | None,
    address: str | None,
) -> PaymentAgent:
    """Decide whether a protocol call may proceed, cheapest checks first.

    An unknown agent code is answered exactly like a foreign address, so that nobody outside an
    agent's networks can learn which codes exist or try passwords; inside them, a wrong password
    is refused before the agent's state is revealed.
    """
    if agent is None or not address_allowed(agent, address):
        raise AgentAddressRefused(f"calls from {address or 'an unknown address'} are not allowed")
    if username != agent.code or not password:
        raise AgentAuthFailed("wrong agent code or password")
    key = _cache_key(agent.id, agent.password_hash, password)
    if key not in _verified:
        raise PasswordUnverified(agent.id, agent.password_hash)
    if not agent.active:
        raise AgentDisabled(f"agent {agent.code} is disabled")
    return agent


# --- the agent's row, remembered in this process (the OSMP pay path on PostgreSQL) -----------
#
# Reading the agent costs a query per call; a copy of its row saves it. The copy is never the
# authority: the booking statement books only while the row is, every column, the one copied
# (abonent_agent_pay compares the row's md5 with the copy's), and answers "agent changed"
# otherwise, when the copy is dropped and the call takes the general path, which reads the row.
# The copy never refuses either: whatever it would not admit goes the general path too. So a
# disabled agent, a new password or a narrowed address list takes effect on the next call in
# every process, with no time to live to wait out.


@dataclass(frozen=True, slots=True)
class AgentCopy:
    id: int
    code: str
    password_hash: str
    allowed_ips: tuple[str, ...]
    min_sum_minor: int
    max_sum_minor: int
    active: bool
    digest: str
    """md5 of the row's text when it was copied."""


_COPIES_MAX = 256
_copies: dict[str, AgentCopy] = {}


async def agent_copy(connection: Any, code: str) -> AgentCopy | None:
    """The copy of agent ``code``'s row, read on ``connection`` (asyncpg) when there is none;
    None: no such agent."""
    copy = _copies.get(code)
    if copy is not None:
        return copy
    row = await repo.copy_row(connection, code)
    if row is None:
        return None
    copy = AgentCopy(**row)
    if len(_copies) >= _COPIES_MAX:
        _copies.pop(next(iter(_copies)))
    _copies[code] = copy
    return copy


def forget_copy(code: str) -> None:
    """The booking statement found the agent's row changed: the next call reads it again."""
    _copies.pop(code, None)


def forget_copies() -> None:
    """Drop every copy (tests)."""
    _copies.clear()


def admits(
    copy: AgentCopy, *, username: str | None, password: str | None, address: str | None
) -> bool:
    """Whether :func:`authorize` would let the call proceed at once (no password to verify),
    judged on the copy. False is no refusal: the caller takes the general path."""
    return (
        copy.active
        and username == copy.code
        and bool(password)
        and _address_in(copy.allowed_ips, address)
        and _cache_key(copy.id, copy.password_hash, password or "") in _verified
    )
