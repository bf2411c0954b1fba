"""The court order's state fee bands and the limitation split, on exact values and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.court.fee import AboveOrderLimit, claim_fee_minor, order_fee_minor
from abonent.court.limitation import is_time_barred, limitation_ends
from abonent.kit.errors import BusinessRuleViolation

D = dt.date


@pytest.mark.parametrize(
    ("claim", "claim_fee", "order_fee"),
    [
        (100, 400_000, 200_000),  # 1 ₽: the minimum fee
        (10_000_000, 400_000, 200_000),  # 100 000 ₽ → 4 000 ₽, the order half: 2 000 ₽
        (15_000_000, 550_000, 275_000),  # 4 000 + 3 % of 50 000
        (30_000_000, 1_000_000, 500_000),  # 300 000 ₽ → 10 000 ₽
        (40_000_000, 1_250_000, 625_000),  # 10 000 + 2,5 % of 100 000
        (50_000_000, 1_500_000, 750_000),  # 500 000 ₽ → 15 000 ₽, the order limit itself
        (10_001_650, 400_000, 200_000),  # 4 000 + 3 % of 16,50 ₽ = 4 000,495 → 4 000 ₽
        (10_001_700, 400_100, 200_100),  # 4 000,51 → 4 001 ₽; its half 2 000,50 → 2 001 ₽
    ],
)
def test_fee_bands(claim: int, claim_fee: int, order_fee: int) -> None:
    assert claim_fee_minor(claim) == claim_fee
    assert order_fee_minor(claim) == order_fee


def test_claim_fee_above_the_order_limit_follows_the_higher_bands() -> None:
    assert claim_fee_minor(100_000_000) == 2_500_000  # 1 000 000 ₽ → 25 000 ₽
    assert claim_fee_minor(200_000_000) == 3_500_000  # 25 000 + 1 % of 1 000 000


def test_order_refused_above_500000_roubles() -> None:
    with pytest.raises(AboveOrderLimit) as refused:
        order_fee_minor(50_000_001)
    assert refused.value.code == "court_order_limit"


def test_limitation_on_exact_dates() -> None:
    assert limitation_ends(D(2023, 11, 10)) == D(2026, 11, 10)
    assert not is_time_barred(D(2023, 11, 10), D(2026, 11, 10))
    assert is_time_barred(D(2023, 11, 10), D(2026, 11, 11))
    assert limitation_ends(D(2024, 2, 29)) == D(2027, 2, 28)
    assert is_time_barred(D(2024, 2, 29), D(2027, 3, 1))
    assert not is_time_barred(D(2024, 2, 29), D(2027, 2, 28))


@pytest.mark.parametrize("claim", [0, -100])
def test_nothing_to_claim_is_refused(claim: int) -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        order_fee_minor(claim)
    assert refused.value.code == "court_nothing_to_claim"
