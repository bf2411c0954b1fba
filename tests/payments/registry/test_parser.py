"""Reading registry files: formats agents really send, and every way a line can be bad."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.payments.registry.errors import RegistryInvalid, RegistryOptionsInvalid
from abonent.payments.registry.parser import (
    Line,
    Options,
    Problem,
    check_options,
    parse,
    parse_columns,
    refuse_if_bad,
)

TZ = "Europe/Moscow"
UTC = dt.UTC


def at(y: int, m: int, d: int, h: int, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, s, tzinfo=UTC)


def test_osmp_style_utf8_file_with_the_default_columns() -> None:
    data = b"txn_id;account;sum;txn_date\n1001;100000000009;500,50;20261117153000\n"
    parsed = parse(data, Options(), tz=TZ)
    assert parsed.problems == []
    # 15:30 in Moscow is 12:30 UTC.
    assert parsed.lines == [Line(2, "1001", "100000000009", 50_050, at(2026, 11, 17, 12, 30))]


def test_a_bank_file_in_cp1251_with_semicolons_comma_decimals_and_russian_header() -> None:
    text = (
        "Номер платежа;Лицевой счёт;Сумма, руб.;Дата платежа\r\n"
        "7001;1000 0000 0009;1 500,05;17.11.2026 09:05:00\r\n"
        '7002;"100000000017";20;17.11.2026 23:59\r\n'
    )
    data = text.encode("cp1251")
    parsed = parse(data, Options(encoding="cp1251"), tz=TZ)
    assert parsed.problems == []
    assert parsed.lines == [
        Line(2, "7001", "100000000009", 150_005, at(2026, 11, 17, 6, 5)),
        Line(3, "7002", "100000000017", 2_000, at(2026, 11, 17, 20, 59)),
    ]


def test_cp1251_read_as_utf8_is_refused_naming_the_line_and_the_likely_cause() -> None:
    data = "txn_id;account;sum;txn_date\n1;100000000009;1,00;20261117100000;Оплата\n".encode(
        "cp1251"
    )
    with pytest.raises(RegistryInvalid) as refused:
        parse(data, Options(), tz=TZ)
    assert refused.value.detail == "line 2: not valid utf-8 (is it cp1251? try --encoding cp1251)"
    assert refused.value.code == "registry_encoding"


def test_utf8_with_bom_comma_delimiter_and_dot_decimals() -> None:
    data = "\ufefftxn_id,account,sum,txn_date\n9,100000000009,10.5,2026-11-17 10:00:00\n".encode()
    parsed = parse(data, Options(), tz=TZ)
    assert parsed.problems == []
    assert parsed.lines == [Line(2, "9", "100000000009", 1_050, at(2026, 11, 17, 7))]


def test_columns_can_be_reordered_and_skipped_without_a_header() -> None:
    data = b"17.11.2026 10:00:00\tX-1\tignored\t100000000009\t12\n"
    options = Options(
        columns=parse_columns("txn_date,txn_id,-,account,sum"),
        delimiter="tab",
        header=False,
        date_format="%d.%m.%Y %H:%M:%S",
    )
    parsed = parse(data, options, tz=TZ)
    assert parsed.problems == []
    assert parsed.lines == [Line(1, "X-1", "100000000009", 1_200, at(2026, 11, 17, 7))]


def test_a_registry_without_dates_relies_on_the_day_given() -> None:
    options = Options(columns=parse_columns("txn_id,account,sum"))
    with pytest.raises(RegistryOptionsInvalid):
        check_options(options, have_date=False)
    check_options(options, have_date=True)
    parsed = parse(b"1;100000000009;3\n", Options(columns=options.columns, header=False), tz=TZ)
    assert parsed.lines == [Line(1, "1", "100000000009", 300, None)]


def test_an_explicit_offset_in_the_date_is_respected() -> None:
    data = b"txn_id;account;sum;txn_date\n1;100000000009;3;2026-11-17T10:00:00+05:00\n"
    assert parse(data, Options(), tz=TZ).lines[0].txn_date == at(2026, 11, 17, 5)


def test_a_trailing_delimiter_and_blank_lines_are_tolerated() -> None:
    data = b"txn_id;account;sum;txn_date;\n\n1;100000000009;3;20261117100000;\n\n"
    parsed = parse(data, Options(), tz=TZ)
    assert parsed.problems == []
    assert [line.line_no for line in parsed.lines] == [3]


def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    data = (
        b"txn_id;account;sum;txn_date\n"
        b"1;100000000009;10,005;20261117100000\n"
        b"2;100000000009;10,00;20261345100000\n"
        b"3;100000000009;10,00\n"
        b"4;100000000009;-5;20261117100000\n"
        b"5;100000000009;0,00;20261117100000\n"
        b";;abc;\n"
        b"7;100000000009;1,00;20261117100000\n"
        b"7;100000000009;2,00;20261117100000\n"
        b"8;100000000009;1,00;17/11/2026\n"
    )
    parsed = parse(data, Options(), tz=TZ)
    assert parsed.problems == [
        Problem(2, "sum: at most two decimals allowed: '10,005'"),
        Problem(
            3,
            "txn_date '20261345100000' is not a date like 20261117153000 or 17.11.2026 15:30:00",
        ),
        Problem(4, "expected 4 fields, found 3"),
        Problem(5, "sum: must not be negative: '-5'"),
        Problem(6, "sum must be positive"),
        Problem(
            7,
            "txn_id is empty; account is empty; sum: not an amount: 'abc'; txn_date is empty",
        ),
        Problem(9, "txn_id 7 repeats line 8"),
        Problem(
            10, "txn_date '17/11/2026' is not a date like 20261117153000 or 17.11.2026 15:30:00"
        ),
    ]
    assert [line.txn_id for line in parsed.lines] == ["7"]
    with pytest.raises(RegistryInvalid) as refused:
        refuse_if_bad(parsed)
    assert refused.value.detail.splitlines()[0] == (
        "registry refused, nothing imported: 8 bad line(s)"
    )
    assert refused.value.detail.splitlines()[1] == (
        "  line 2: sum: at most two decimals allowed: '10,005'"
    )
    assert len(refused.value.detail.splitlines()) == 9


def test_a_given_date_format_is_the_only_one_accepted() -> None:
    data = b"txn_id;account;sum;txn_date\n1;100000000009;3;20261117100000\n"
    parsed = parse(data, Options(date_format="%d.%m.%Y %H:%M:%S"), tz=TZ)
    assert parsed.problems == [
        Problem(2, "txn_date '20261117100000' is not format '%d.%m.%Y %H:%M:%S'")
    ]


def test_a_header_with_a_column_missing_is_refused() -> None:
    data = b"txn_id;account;sum\n1;100000000009;3\n"
    parsed = parse(data, Options(), tz=TZ)
    assert parsed.problems == [
        Problem(
            1,
            "the header has 3 columns but 4 are expected (txn_id,account,sum,txn_date): "
            "is a column missing? (--columns)",
        ),
        Problem(2, "expected 4 fields, found 3"),
    ]


def test_an_empty_file_is_refused() -> None:
    assert parse(b"", Options(), tz=TZ).problems == [
        Problem(1, "the file is empty: no header, no lines")
    ]
    assert parse(b"txn_id;account;sum;txn_date\n", Options(), tz=TZ).problems == []


def test_broken_quoting_is_reported() -> None:
    data = b'txn_id;account;sum;txn_date\n1;"100000000009;3;20261117100000\n'
    problems = parse(data, Options(), tz=TZ).problems
    assert [p.line_no for p in problems] == [2]
    assert problems[0].reason.startswith("not readable as CSV")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("txn_id,account,amount,txn_date", "unknown column 'amount'"),
        ("txn_id,account,sum,sum", "column 'sum' given twice"),
        ("txn_id,sum,txn_date", "columns must include account"),
    ],
)
def test_bad_column_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(RegistryOptionsInvalid) as refused:
        parse_columns(spec)
    assert refused.value.detail.startswith(message)


@pytest.mark.parametrize(
    "options",
    [Options(encoding="koi8-r"), Options(delimiter=":")],
)
def test_unknown_encodings_and_delimiters_are_refused(options: Options) -> None:
    with pytest.raises(RegistryOptionsInvalid):
        check_options(options, have_date=False)


# --- total lines -------------------------------------------------------------------------------

BODY = (
    "txn_id;account;sum;txn_date\n"
    "1;100000000009;500,00;20261117090000\n"
    "2;100000000017;1 250,50;20261117100000\n"
)
WITH_TRAILER = Options(trailer="ИТОГО")


def test_a_total_line_that_agrees_is_not_a_payment() -> None:
    parsed = parse((BODY + "ИТОГО;2;1 750,50\n").encode(), WITH_TRAILER, tz=TZ)
    assert parsed.problems == []
    assert [line.txn_id for line in parsed.lines] == ["1", "2"]
    # Any case, its own columns, a trailing delimiter.
    only_sum = Options(trailer="итого", trailer_columns=("-", "-", "sum"))
    parsed = parse((BODY + "Итого платежей;;1750.50;\n").encode(), only_sum, tz=TZ)
    assert parsed.problems == []


@pytest.mark.parametrize(
    ("trailer", "problem"),
    [
        ("ИТОГО;3;1 750,50", Problem(4, "total line: count 3 but the file has 2 payment lines")),
        (
            "ИТОГО;2;1 750,51",
            Problem(4, "total line: total 1750.51 but the lines add up to 1750.50"),
        ),
        ("ИТОГО;два;1 750,50", Problem(4, "total line: count 'два' is not a whole number")),
        (
            "ИТОГО;2;1 750,505",
            Problem(4, "total line: total sum: at most two decimals allowed: '1750,505'"),
        ),
        (
            "ИТОГО;2",
            Problem(4, "the total line has 2 fields but 3 are expected (-,count,sum): "
                    "--trailer-columns"),
        ),
    ],
)  # fmt: skip
def test_a_total_line_that_disagrees_refuses_the_file(trailer: str, problem: Problem) -> None:
    parsed = parse((BODY + trailer + "\n").encode(), WITH_TRAILER, tz=TZ)
    assert parsed.problems == [problem]
    with pytest.raises(RegistryInvalid):
        refuse_if_bad(parsed)


def test_a_file_cut_short_is_refused_when_a_total_line_is_expected() -> None:
    parsed = parse(BODY.encode(), WITH_TRAILER, tz=TZ)
    assert parsed.problems == [
        Problem(3, "no total line starting with 'ИТОГО': is the file cut short?")
    ]
    empty = parse(b"txn_id;account;sum;txn_date\n", WITH_TRAILER, tz=TZ)
    assert empty.problems == [
        Problem(1, "no total line starting with 'ИТОГО': is the file cut short?")
    ]
    zero = "txn_id;account;sum;txn_date\nИТОГО;0;0\n".encode()
    assert parse(zero, WITH_TRAILER, tz=TZ).problems == []


def test_lines_after_the_total_and_a_second_total_are_bad() -> None:
    data = BODY + "ИТОГО;2;1750,50\n3;100000000025;1,00;20261117110000\nИТОГО;3;1751,50\n"
    assert parse(data.encode(), WITH_TRAILER, tz=TZ).problems == [
        Problem(5, "a payment line after the total line 4"),
        Problem(6, "a second total line (after line 4)"),
    ]


def test_bad_lines_are_reported_and_the_totals_are_not_judged() -> None:
    data = BODY + "3;100000000025;1,005;20261117110000\nИТОГО;3;1751,50\n"
    assert parse(data.encode(), WITH_TRAILER, tz=TZ).problems == [
        Problem(4, "sum: at most two decimals allowed: '1,005'")
    ]


def test_a_total_line_without_the_option_is_bad_with_a_hint() -> None:
    problems = parse((BODY + "ИТОГО;2;1750,50\n").encode(), Options(), tz=TZ).problems
    assert problems == [
        Problem(
            4,
            "expected 4 fields, found 3; a total line? give --trailer with the text it starts with",
        )
    ]
    problems = parse((BODY + "Total;2;1750,50;x\n").encode(), Options(), tz=TZ).problems
    assert len(problems) == 1 and problems[0].reason.endswith(
        "a total line? give --trailer with the text it starts with"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(trailer=" "), "--trailer needs the text the total line starts with"),
        (Options(trailer="17"), "the text a total line starts with"),
        (Options(trailer="ИТОГО", trailer_columns=("-", "cnt")), "unknown trailer column 'cnt'"),
        (Options(trailer="ИТОГО", trailer_columns=("-", "-")), "must include count or sum"),
        (Options(trailer="ИТОГО", trailer_columns=("sum", "sum")), "given twice"),
    ],
)
def test_bad_trailer_options_are_refused(options: Options, message: str) -> None:
    with pytest.raises(RegistryOptionsInvalid, match=message):
        check_options(options, have_date=False)


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x0b", "\x85"])
@pytest.mark.parametrize("column", ["txn_id", "account", "sum", "txn_date"])
def test_a_control_character_in_any_cell_is_refused_at_its_line(char: str, column: str) -> None:
    cells = {"txn_id": "1", "account": "100000000009", "sum": "5,00", "txn_date": "20261117100000"}
    cells[column] += char
    data = ("txn_id;account;sum;txn_date\n" + ";".join(cells.values()) + "\n").encode()
    parsed = parse(data, Options(), tz=TZ)
    assert [p.line_no for p in parsed.problems] == [2]
    assert parsed.problems[0].reason.startswith(f"{column} must not contain a control character")
    assert parsed.lines == []


@pytest.mark.parametrize("date", ["00010101000000", "99991231235959", "19991231235959"])
def test_a_txn_date_out_of_range_is_a_bad_line_not_a_crash(date: str) -> None:
    data = f"txn_id;account;sum;txn_date\n1;100000000009;5,00;{date}\n".encode()
    parsed = parse(data, Options(), tz=TZ)
    assert [p.line_no for p in parsed.problems] == [2]
    assert "is not between 2000-01-01 and 2100-12-31" in parsed.problems[0].reason
