"""The court order's state fee bands and the limitation split, on exact values and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.court.fee import AboveOrderLimit, claim_fee_minor, order_fee_minor
from abonent.court.limitation import is_time_barred, limitation_ends
from abonent.kit.errors import BusinessRuleViolation

D = dt.date


R = 100  # kopecks in a rouble


@pytest.mark.parametrize(
    ("claim", "claim_fee", "order_fee"),
    [
        (100, 4_000 * R, 2_000 * R),  # 1 ₽: the minimum fee
        (50_000 * R, 4_000 * R, 2_000 * R),
        (100_000 * R, 4_000 * R, 2_000 * R),  # 100 000 ₽ → 4 000 ₽, the order half: 2 000 ₽
        (150_000 * R, 5_500 * R, 2_750 * R),  # 4 000 + 3 % of 50 000
        (300_000 * R, 10_000 * R, 5_000 * R),
        (400_000 * R, 12_500 * R, 6_250 * R),  # 10 000 + 2,5 % of 100 000
        (500_000 * R, 15_000 * R, 7_500 * R),  # the order limit itself
        (10_001_650, 4_000 * R, 2_000 * R),  # 4 000 + 3 % of 16,50 ₽ = 4 000,495 → 4 000 ₽
        # 4 000,51 ₽ → 4 001 ₽; the order pays half of 4 000,51 = 2 000,255 → 2 000 ₽, rounded
        # once (halving the rounded 4 001 ₽ would give 2 001 ₽).
        (10_001_700, 4_001 * R, 2_000 * R),
        # 4 000 + 3 % of 33,50 ₽ = 4 001,005 → 4 001 ₽; half 2 000,5025 → 2 001 ₽.
        (10_003_350, 4_001 * R, 2_001 * R),
    ],
)
def test_fee_bands(claim: int, claim_fee: int, order_fee: int) -> None:
    assert claim_fee_minor(claim) == claim_fee
    assert order_fee_minor(claim) == order_fee


@pytest.mark.parametrize(
    ("claim", "fee"),
    [
        (1_000_000 * R, 25_000 * R),
        (2_000_000 * R, 35_000 * R),  # 25 000 + 1 % of 1 000 000
        (3_000_000 * R, 45_000 * R),
        (3_500_000 * R, 48_500 * R),  # 45 000 + 0,7 % of 500 000
        (8_000_000 * R, 80_000 * R),
        (10_000_000 * R, 87_000 * R),  # 80 000 + 0,35 % of 2 000 000
        (24_000_000 * R, 136_000 * R),
        (30_000_000 * R, 154_000 * R),  # 136 000 + 0,3 % of 6 000 000
        (50_000_000 * R, 214_000 * R),
        (60_000_000 * R, 234_000 * R),  # 214 000 + 0,2 % of 10 000 000
        (100_000_000 * R, 314_000 * R),
        (200_000_000 * R, 464_000 * R),  # 314 000 + 0,15 % of 100 000 000
        (490_000_000 * R, 899_000 * R),
        (490_666_667 * R, 900_000 * R),  # 314 000 + 0,15 % of 390 666 667 = 900 000,0005
        (500_000_000 * R, 900_000 * R),  # capped: not more than 900 000 ₽
        (10_000_000_000 * R, 900_000 * R),
    ],
)
def test_claim_fee_follows_every_band_to_the_cap(claim: int, fee: int) -> None:
    assert claim_fee_minor(claim) == fee


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
