"""Refusals of the dunning domain, each with a stable code."""

from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, InvalidInput, NotFound


class LadderInvalid(InvalidInput):
    """A ladder file that does not parse or does not hold a valid ladder; nothing is loaded."""

    default_code = "dunning_ladder_invalid"


class LadderNotFound(NotFound):
    default_code = "dunning_ladder_not_found"


class NoLadder(BusinessRuleViolation):
    default_code = "dunning_no_ladder"
