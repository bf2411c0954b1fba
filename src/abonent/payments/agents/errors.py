from __future__ import annotations

from abonent.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


class AgentNotFound(NotFound):
    default_code = "agent_not_found"


class AgentExists(Conflict):
    default_code = "agent_exists"


class AgentAuthFailed(Unauthorized):
    default_code = "agent_auth_failed"


class AgentAddressRefused(Forbidden):
    default_code = "agent_address_refused"


class AgentDisabled(Forbidden):
    default_code = "agent_disabled"


class AmountBelowMinimum(InvalidInput):
    """Below the smallest payment this agent may take (OSMP result 241)."""

    default_code = "amount_below_agent_minimum"


class AmountAboveMaximum(InvalidInput):
    """Above the largest payment this agent may take (OSMP result 242)."""

    default_code = "amount_above_agent_maximum"
