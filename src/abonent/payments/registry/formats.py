"""Agents' saved registry formats: what a daily import uses for the options it is not given.

Each agent lays its registry out its own way and keeps doing so; saving that once
(``abonent registry format``) makes the daily import a bare ``abonent registry import AGENT
FILE``, and a format typed anew each day is a format mistyped one day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.models import AgentRegistryFormat, PaymentAgent
from abonent.payments.agents.service import get_agent
from abonent.payments.registry import parser


async def saved(session: AsyncSession, agent: PaymentAgent) -> parser.Options | None:
    row = await session.get(AgentRegistryFormat, agent.id)
    return None if row is None else parser.options_from_dict(row.options)


async def effective(
    session: AsyncSession, agent: PaymentAgent, given: Mapping[str, Any]
) -> parser.Options:
    """The agent's saved format (else the defaults) with the options given for this run."""
    base = await saved(session, agent) or parser.Options()
    return replace(base, **given)


async def save(
    session: AsyncSession, agent_code: str, given: Mapping[str, Any], *, actor: Actor
) -> parser.Options:
    """Change the agent's saved format by the options given; the rest stays as saved."""
    agent = await get_agent(session, agent_code)
    options = await effective(session, agent, given)
    # Whether a registry without txn_date has its --date is known only when it is imported.
    parser.check_options(options, have_date=True)
    stored = parser.options_to_dict(options)
    row = await session.get(AgentRegistryFormat, agent.id)
    if row is None:
        row = AgentRegistryFormat(agent_id=agent.id, options=stored)
        session.add(row)
    row.options = stored
    row.actor = actor.name[:128]
    row.updated_at = clock.now()
    record(
        session,
        actor,
        "registry.format_saved",
        object_type="payment_agent",
        object_id=agent.id,
        agent=agent.code,
        options=stored,
    )
    await session.flush()
    return options


async def forget(session: AsyncSession, agent_code: str, *, actor: Actor) -> bool:
    """Drop the saved format (imports then use the defaults); False: there was none."""
    agent = await get_agent(session, agent_code)
    row = await session.get(AgentRegistryFormat, agent.id)
    if row is None:
        return False
    await session.delete(row)
    record(
        session,
        actor,
        "registry.format_forgotten",
        object_type="payment_agent",
        object_id=agent.id,
        agent=agent.code,
        options=row.options,
    )
    await session.flush()
    return True
