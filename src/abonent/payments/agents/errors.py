from __future__ import annotations

from abonent.kit.errors import Conflict, Forbidden, NotFound, Unauthorized


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
