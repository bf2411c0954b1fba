"""Refusals of the collections stage, each with a stable code."""

from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, Conflict, Forbidden, InvalidInput, NotFound


class InnInvalid(InvalidInput):
    default_code = "inn_invalid"


class AgencyInvalid(InvalidInput):
    default_code = "agency_invalid"


class AgencyNotFound(NotFound):
    default_code = "agency_not_found"


class AgencyExists(Conflict):
    default_code = "agency_exists"


class RoleRefused(Forbidden):
    default_code = "collections_role_refused"


class NothingToHandOver(BusinessRuleViolation):
    default_code = "nothing_to_hand_over"


class AssignmentNotFound(NotFound):
    default_code = "assignment_not_found"


class WriteOffNotFound(NotFound):
    default_code = "write_off_not_found"


class SameApprover(Forbidden):
    """The four-eyes rule: who asked for a write-off does not approve it."""

    default_code = "write_off_same_person"


class NothingToWriteOff(BusinessRuleViolation):
    default_code = "nothing_to_write_off"


class WriteOffDecided(Conflict):
    """A supervisor already approved or rejected the request: the decision stands."""

    default_code = "write_off_decided"


class WriteOffReasonInvalid(InvalidInput):
    default_code = "write_off_reason_invalid"
