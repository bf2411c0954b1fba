"""Where a Russian mobile number (+7 9XX) is registered, from its DEF code and range.

``phonenumbers`` names one zone for a Russian landline, but for every +7 9XX number it names the
16 zones of the whole +7 plan and its geocoder says only "Russia": a mobile number's region is
not in libphonenumber's data.  The region is in the numbering registry of Rossvyaz (the Federal
Communications Agency): each DEF code is split into ranges, each range allotted to an operator
in one subject of the federation.  Mobile number portability in Russia keeps a number inside its
home region, so the range still names the region; a subscriber who moved away is the case the
account's own time zone is for.

Source of every row below: the registry extract ``DEF-9xx.csv`` (columns: code; first; last;
capacity; operator; region) as copied in the public repository ``karlsonru/phone-splitter``
(commit b7a7456e304d25858cd8919a7c05c3469d250b99), rows copied as they stand.  Only whole DEF
codes are listed: 913 (MTS, Siberia), 914 (MTS, the Far East), 916 (MTS, Moscow) and 925, 926
(MegaFon, Moscow).  A range missing from the registry (914 539 3000–539 9999) is left out, so a
number there counts as unknown.  Region → zone: the IANA tz database (``zone1970.tab``: e.g.
``Asia/Novokuznetsk  MSK+04 - Kemerovo``, ``Asia/Barnaul  MSK+04 - Altai``) and Federal Law
107-FZ "Об исчислении времени" art. 5, which puts Yakutia in three zones (MSK+6, +7, +8), so it
keeps all three.

To add a code: copy its rows from a current registry extract, whole, and name any new region in
``REGION_ZONES``; ``tests/contact/test_def_codes.py`` checks that the ranges of a code are ordered,
do not overlap and name known regions.
"""

from __future__ import annotations

import bisect
from typing import Final

REGION_ZONES: Final[dict[str, tuple[str, ...]]] = {
    "г. Москва и Московская область": ("Europe/Moscow",),
    "Омская обл.": ("Asia/Omsk",),
    "Новосибирская обл.": ("Asia/Novosibirsk",),
    "Алтайский край": ("Asia/Barnaul",),
    "Республика Алтай": ("Asia/Barnaul",),
    "Томская обл.": ("Asia/Tomsk",),
    "Кемеровская обл.": ("Asia/Novokuznetsk",),
    "Красноярский край": ("Asia/Krasnoyarsk",),
    "Республика Хакасия": ("Asia/Krasnoyarsk",),
    "Республика Тыва": ("Asia/Krasnoyarsk",),
    "Иркутская обл.": ("Asia/Irkutsk",),
    "Республика Бурятия": ("Asia/Irkutsk",),
    "Забайкальский край": ("Asia/Chita",),
    "Амурская обл.": ("Asia/Yakutsk",),
    "Республика Саха /Якутия/": ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk"),
    "Приморский край": ("Asia/Vladivostok",),
    "Хабаровский край": ("Asia/Vladivostok",),
    "Еврейская автономная обл.": ("Asia/Vladivostok",),
    "Магаданская обл.": ("Asia/Magadan",),
    "Сахалинская обл.": ("Asia/Sakhalin",),
    "Камчатский край": ("Asia/Kamchatka",),
    "Чукотский АО": ("Asia/Anadyr",),
}

_MSK = "г. Москва и Московская область"
_OMS = "Омская обл."
_NSK = "Новосибирская обл."
_ALT = "Алтайский край"
_RAL = "Республика Алтай"
_TOM = "Томская обл."
_KEM = "Кемеровская обл."
_KRS = "Красноярский край"
_KHA = "Республика Хакасия"
_TYV = "Республика Тыва"
_IRK = "Иркутская обл."
_BUR = "Республика Бурятия"
_ZAB = "Забайкальский край"
_AMU = "Амурская обл."
_YAK = "Республика Саха /Якутия/"
_PRI = "Приморский край"
_KHB = "Хабаровский край"
_EAO = "Еврейская автономная обл."
_MAG = "Магаданская обл."
_SAK = "Сахалинская обл."
_KAM = "Камчатский край"
_CHU = "Чукотский АО"

# (first, last, region) of the 7 digits after the code, in the registry's order.
RANGES: Final[dict[str, tuple[tuple[int, int, str], ...]]] = {
    "913": (
        (0, 199_999, _NSK),
        (200_000, 299_999, _ALT),
        (300_000, 499_999, _KRS),
        (500_000, 599_999, _KHA),
        (600_000, 699_999, _NSK),
        (700_000, 799_999, _KEM),
        (800_000, 999_999, _ALT),
        (1_000_000, 1_199_999, _TOM),
        (1_200_000, 1_399_999, _KEM),
        (1_400_000, 1_599_999, _OMS),
        (1_600_000, 1_999_999, _KRS),
        (2_000_000, 2_099_999, _NSK),
        (2_100_000, 2_799_999, _ALT),
        (2_800_000, 3_399_999, _KEM),
        (3_400_000, 3_599_999, _TYV),
        (3_600_000, 3_699_999, _ALT),
        (3_700_000, 3_999_999, _NSK),
        (4_000_000, 4_399_999, _KEM),
        (4_400_000, 4_499_999, _KHA),
        (4_500_000, 4_899_999, _NSK),
        (4_900_000, 5_399_999, _KRS),
        (5_400_000, 5_499_999, _KHA),
        (5_500_000, 5_999_999, _KRS),
        (6_000_000, 6_899_999, _OMS),
        (6_900_000, 6_999_999, _RAL),
        (7_000_000, 7_999_999, _NSK),
        (8_000_000, 8_299_999, _TOM),
        (8_300_000, 8_399_999, _KRS),
        (8_400_000, 8_899_999, _TOM),
        (8_900_000, 9_599_999, _NSK),
        (9_600_000, 9_799_999, _OMS),
        (9_800_000, 9_879_999, _NSK),
        (9_880_000, 9_889_999, _OMS),
        (9_890_000, 9_899_999, _NSK),
        (9_900_000, 9_999_999, _RAL),
    ),
    "914": (
        (0, 149_999, _IRK),
        (150_000, 199_999, _EAO),
        (200_000, 299_999, _KAM),
        (300_000, 399_999, _MAG),
        (400_000, 499_999, _AMU),
        (500_000, 599_999, _BUR),
        (600_000, 649_999, _AMU),
        (650_000, 799_999, _PRI),
        (800_000, 829_999, _CHU),
        (830_000, 999_999, _SAK),
        (1_000_000, 1_199_999, _YAK),
        (1_200_000, 1_499_999, _ZAB),
        (1_500_000, 2_199_999, _KHB),
        (2_200_000, 3_099_999, _YAK),
        (3_100_000, 3_199_999, _KHB),
        (3_200_000, 3_499_999, _PRI),
        (3_500_000, 3_699_999, _ZAB),
        (3_700_000, 3_799_999, _KHB),
        (3_800_000, 3_999_999, _AMU),
        (4_000_000, 4_299_999, _KHB),
        (4_300_000, 5_299_999, _ZAB),
        (5_300_000, 5_329_999, _AMU),
        (5_330_000, 5_379_999, _CHU),
        (5_380_000, 5_392_999, _AMU),
        (5_400_000, 5_499_999, _KHB),
        (5_500_000, 6_199_999, _AMU),
        (6_200_000, 6_299_999, _KAM),
        (6_300_000, 6_399_999, _BUR),
        (6_400_000, 6_499_999, _SAK),
        (6_500_000, 7_399_999, _PRI),
        (7_400_000, 7_699_999, _SAK),
        (7_700_000, 7_799_999, _KHB),
        (7_800_000, 7_899_999, _KAM),
        (7_900_000, 7_999_999, _PRI),
        (8_000_000, 8_099_999, _ZAB),
        (8_100_000, 8_199_999, _EAO),
        (8_200_000, 8_299_999, _YAK),
        (8_300_000, 8_499_999, _BUR),
        (8_500_000, 8_699_999, _MAG),
        (8_700_000, 9_599_999, _IRK),
        (9_600_000, 9_799_999, _PRI),
        (9_800_000, 9_899_999, _BUR),
        (9_900_000, 9_999_999, _KAM),
    ),
    "916": ((0, 9_999_999, _MSK),),
    "925": ((0, 9_999_999, _MSK),),
    "926": ((0, 9_999_999, _MSK),),
}

_FIRSTS: Final = {code: [first for first, _, _ in rows] for code, rows in RANGES.items()}


def region_of(national: str) -> str | None:
    """The registry's region of a 10-digit national number '9XXNNNNNNN', or None if unknown."""
    if len(national) != 10 or not national.isdigit() or not national.startswith("9"):
        return None
    code, rest = national[:3], int(national[3:])
    rows = RANGES.get(code)
    if rows is None:
        return None
    index = bisect.bisect_right(_FIRSTS[code], rest) - 1
    if index < 0:
        return None
    first, last, region = rows[index]
    return region if first <= rest <= last else None


def zones_of(national: str) -> tuple[str, ...] | None:
    """The zone (or, for a region in several, the zones) a mobile number's range lies in."""
    region = region_of(national)
    return None if region is None else REGION_ZONES[region]
