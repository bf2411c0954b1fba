"""Refusals of the dispute domain, each with a stable code and a Russian reason."""

from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound


class DisputeNotFound(NotFound):
    default_code = "dispute_not_found"


class DisputeInvalid(InvalidInput):
    default_code = "dispute_invalid"


class ClaimTooLate(BusinessRuleViolation):
    """The charge is older than the claim period (6 months)."""

    default_code = "dispute_claim_too_late"


class ItemAlreadyDisputed(Conflict):
    default_code = "dispute_item_already_disputed"


class DisputeClosed(Conflict):
    default_code = "dispute_already_resolved"


class EvidenceRefused(InvalidInput):
    default_code = "dispute_evidence_refused"


class EvidenceForbidden(NotFound):
    """Someone who may not see the file is told it does not exist."""

    default_code = "dispute_evidence_not_found"
