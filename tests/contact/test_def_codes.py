"""The DEF-code table: well formed, and it answers what the registry rows say."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

import pytest

from abonent.contact import def_codes


@pytest.mark.parametrize("code", sorted(def_codes.RANGES))
def test_ranges_are_ordered_disjoint_and_name_known_regions(code: str) -> None:
    rows = def_codes.RANGES[code]
    for (first, last, region), following in zip(rows, (*rows[1:], None), strict=True):
        assert 0 <= first <= last <= 9_999_999
        assert region in def_codes.REGION_ZONES, region
        if following is not None:
            assert last < following[0], (code, first)


def test_every_region_maps_to_real_zones() -> None:
    known = available_timezones()
    for region, zones in def_codes.REGION_ZONES.items():
        assert zones and all(z in known for z in zones), region
        ZoneInfo(zones[0])


@pytest.mark.parametrize(
    ("national", "region"),
    [
        ("9130000000", "Новосибирская обл."),  # 913;0;199999
        ("9131234567", "Кемеровская обл."),  # 913;1200000;1399999
        ("9131400000", "Омская обл."),  # 913;1400000;1599999: UTC+6 inside a UTC+7 code
        ("9137001234", "Новосибирская обл."),  # 913;7000000;7999999
        ("9139889999", "Омская обл."),  # 913;9880000;9889999
        ("9139999999", "Республика Алтай"),  # 913;9900000;9999999
        ("9140201234", "Камчатский край"),  # 914;200000;299999
        ("9145392999", "Амурская обл."),  # 914;5380000;5392999
        ("9165551234", "г. Москва и Московская область"),
    ],
)
def test_registry_rows_answer(national: str, region: str) -> None:
    assert def_codes.region_of(national) == region


@pytest.mark.parametrize(
    "national",
    [
        "9145393000",  # a gap in the registry (914 539 3000-539 9999)
        "9991234567",  # a code the table does not hold
        "4012123456",  # a landline
        "913123456",  # too short
        "91312345678",  # too long
    ],
)
def test_unknown_numbers_have_no_region(national: str) -> None:
    assert def_codes.region_of(national) is None
    assert def_codes.zones_of(national) is None
