"""The state fee of a court order, by the bands in configuration (Tax Code art. 333.19)."""

from __future__ import annotations

from abonent.config import CourtSettings, get_settings
from abonent.kit.errors import BusinessRuleViolation


class AboveOrderLimit(BusinessRuleViolation):
    default_code = "court_order_limit"


def claim_fee_minor(claim_minor: int, court: CourtSettings | None = None) -> int:
    """The fee of a claim (исковое заявление) of ``claim_minor``, rounded to whole roubles
    (art. 333.19 p. 6: under 50 kopecks dropped, 50 and over make a rouble)."""
    court = court or get_settings().court
    if claim_minor <= 0:
        raise BusinessRuleViolation("nothing to claim", code="court_nothing_to_claim")
    band = max(
        (b for b in court.fee_bands if claim_minor > b.over_minor), key=lambda b: b.over_minor
    )
    fee = band.base_minor + (claim_minor - band.over_minor) * band.rate_bp // 10_000
    return (fee + 50) // 100 * 100


def order_fee_minor(claim_minor: int, court: CourtSettings | None = None) -> int:
    """The fee of an application for a court order: a share (half) of the claim's fee.
    Refuses above the court-order limit (CPC art. 121: 500 000 ₽)."""
    court = court or get_settings().court
    if claim_minor > court.order_limit_minor:
        raise AboveOrderLimit(
            "a court order is for debts up to 500 000 ₽; this one needs a claim",
            claim_minor=claim_minor,
        )
    fee = claim_fee_minor(claim_minor, court) * court.order_fee_share_bp // 10_000
    return (fee + 50) // 100 * 100
