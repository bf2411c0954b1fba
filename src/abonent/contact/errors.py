"""Refusals of the contact gate's commands, each with a stable code."""

from __future__ import annotations

from abonent.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class BlockInvalid(InvalidInput):
    default_code = "contact_block_invalid"


class BlockNotFound(NotFound):
    default_code = "contact_block_not_found"


class BlockLifted(Conflict):
    default_code = "contact_block_lifted"


class CustomerNotFound(NotFound):
    default_code = "customer_not_found"


class ContactRoleRefused(Forbidden):
    default_code = "contact_role_refused"


class NoPhone(InvalidInput):
    default_code = "contact_no_phone"
