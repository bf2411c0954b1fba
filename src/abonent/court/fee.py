"""The state fee of a claim and of a court order, by the bands in configuration.

Tax Code art. 333.19 p. 1 sp. 1 (as amended by Federal Law 259-FZ of 08.08.2024, in force from
08.09.2024 and applied to claims filed after that day): the claim's fee by band, at most
900 000 ₽; sp. 2: an application for a court order pays 50 % of it.

Rounding happens once, on the fee that is paid: the share of a court order is taken of the
claim's fee as computed, kopeck fractions and all, and only the result is rounded to whole
roubles, half up (under 50 kopecks dropped, 50 kopecks and more make a rouble: Tax Code art. 52
p. 6, which the Ministry of Finance applies to the state fee, letter 03-05-04-03/52566 of
28.05.2025). Rounding the claim's fee first and then its half could be a rouble off: a claim
of 100 017 ₽ costs 4 000,51 ₽, whose half 2 000,255 ₽ is 2 000 ₽, not the 2 001 ₽ that halving
the rounded 4 001 ₽ gives.
"""

from __future__ import annotations

from fractions import Fraction

from abonent.config import CourtSettings, get_settings
from abonent.kit.errors import BusinessRuleViolation


class AboveOrderLimit(BusinessRuleViolation):
    default_code = "court_order_limit"


def _exact_claim_fee(claim_minor: int, court: CourtSettings) -> Fraction:
    """The claim's fee in kopecks, unrounded, capped."""
    if claim_minor <= 0:
        raise BusinessRuleViolation("nothing to claim", code="court_nothing_to_claim")
    band = max(
        (b for b in court.fee_bands if claim_minor > b.over_minor), key=lambda b: b.over_minor
    )
    fee = band.base_minor + Fraction((claim_minor - band.over_minor) * band.rate_bp, 10_000)
    return min(fee, Fraction(court.fee_cap_minor))


def _to_roubles(kopecks: Fraction) -> int:
    """Whole roubles, half up (Tax Code art. 52 p. 6), in kopecks."""
    roubles = kopecks / 100
    whole = roubles.numerator // roubles.denominator
    if roubles - whole >= Fraction(1, 2):
        whole += 1
    return whole * 100


def claim_fee_minor(claim_minor: int, court: CourtSettings | None = None) -> int:
    """The fee of a claim (исковое заявление) of ``claim_minor``, in whole roubles (kopecks)."""
    return _to_roubles(_exact_claim_fee(claim_minor, court or get_settings().court))


def order_fee_minor(claim_minor: int, court: CourtSettings | None = None) -> int:
    """The fee of an application for a court order: ``order_fee_share_bp`` (half) of the
    claim's unrounded fee, rounded once. Refuses above the court-order limit (CPC art. 121:
    500 000 ₽)."""
    court = court or get_settings().court
    if claim_minor > court.order_limit_minor:
        raise AboveOrderLimit(
            "a court order is for debts up to 500 000 ₽; this one needs a claim",
            claim_minor=claim_minor,
        )
    share = Fraction(court.order_fee_share_bp, 10_000)
    return _to_roubles(_exact_claim_fee(claim_minor, court) * share)
