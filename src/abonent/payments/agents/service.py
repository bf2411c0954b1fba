"""Payment agents: who may pay by account number, from where, and within which limits."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.models import PaymentAgent
from abonent.payments.agents.errors import AgentExists, AgentNotFound

_hasher = PasswordHasher()
_CODE = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
DISCLOSURES = ("none", "masked")


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
    if len(password or "") < 8:
        raise InvalidInput(
            "agent password must be at least 8 characters", code="agent_password_weak"
        )
    if not 0 < min_sum_minor <= max_sum_minor:
        raise InvalidInput("need 0 < min-sum <= max-sum", code="agent_limits_invalid")
    if disclosure not in DISCLOSURES:
        raise InvalidInput(
            f"disclosure must be one of {', '.join(DISCLOSURES)}", code="agent_disclosure_invalid"
        )
    if await session.scalar(select(PaymentAgent.id).where(PaymentAgent.code == code)):
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
    agent = await session.scalar(select(PaymentAgent).where(PaymentAgent.code == code))
    if agent is None:
        raise AgentNotFound(f"no agent {code}")
    return agent


async def list_agents(session: AsyncSession) -> Sequence[PaymentAgent]:
    return (await session.scalars(select(PaymentAgent).order_by(PaymentAgent.code))).all()


async def disable_agent(session: AsyncSession, code: str, *, actor: Actor) -> PaymentAgent:
    agent = await get_agent(session, code)
    agent.active = False
    record(session, actor, "agent.disable", object_type="agent", object_id=code)
    await session.flush()
    return agent


def password_matches(agent: PaymentAgent, password: str) -> bool:
    try:
        return _hasher.verify(agent.password_hash, password)
    except VerificationError:
        return False


def address_allowed(agent: PaymentAgent, address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in agent.allowed_ips)
