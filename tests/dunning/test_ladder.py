"""Ladder files: what is accepted, what is refused (every fault named), the default shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from abonent.dunning import ladder
from abonent.dunning.errors import LadderInvalid
from abonent.dunning.ladder import StepRow
from tests.dunning.helpers import LADDER

DEFAULT = Path(ladder.__file__).with_name("default_ladder.toml")


def test_toml_and_yaml_give_the_same_rows() -> None:
    yaml_text = """
name: test
steps:
  - {name: remind, action: remind, offset_days: -3}
  - {name: notice_1, action: notice_1, offset_days: 1}
  - {name: notice_2, action: notice_2, offset_days: 10}
  - name: suspend
    action: suspend_service
    offset_days: 20
    by_kind: {tv: 30}
  - {name: hand_over, action: hand_over, offset_days: 60}
  - {name: court_package, action: court_package, offset_days: 120}
  - {name: write_off, action: write_off, offset_days: 365}
"""
    a = ladder.read(LADDER, "x.toml")
    b = ladder.read(yaml_text.encode(), "x.yaml")
    assert a == b
    assert a.rows[3:5] == (
        StepRow("suspend", "suspend_service", 20, None),
        StepRow("suspend", "suspend_service", 30, "tv"),
    )


def test_kinds_restrict_a_step() -> None:
    spec = ladder.read(
        '[[step]]\nname = "cut"\naction = "suspend_service"\noffset_days = 15\n'
        'kinds = ["tv", "internet"]\nby_kind = { tv = 40 }\n'
        '[[step]]\nname = "agency"\naction = "hand_over"\noffset_days = 60\n'
        'agency_inn = "7707083893"\n',
        "cut.toml",
    )
    assert spec.name == "cut"
    assert spec.rows == (
        StepRow("cut", "suspend_service", 15, "internet"),
        StepRow("cut", "suspend_service", 40, "tv"),
        StepRow("agency", "hand_over", 60, None, "7707083893"),
    )


@pytest.mark.parametrize(
    ("text", "name", "fault"),
    [
        ("[[step]\n", "a.toml", "not valid TOML"),
        ("steps: [", "a.yaml", "not valid YAML"),
        ("x", "a.json", ".toml, .yaml or .yml"),
        ("- 1\n", "a.yaml", "must hold a table"),
        ("name = 'x'\n", "a.toml", "at least one step"),
        (
            "colour = 1\n[[step]]\nname='a'\naction='remind'\noffset_days=-1\n",
            "a.toml",
            "unknown keys: colour",
        ),
        ("[[step]]\nname='A b'\naction='remind'\noffset_days=-1\n", "a.toml", "name must be"),
        ("[[step]]\nname='a'\naction='shout'\noffset_days=1\n", "a.toml", "action must be"),
        ("[[step]]\nname='a'\naction='notice_1'\noffset_days=1.5\n", "a.toml", "whole number"),
        ("[[step]]\nname='a'\naction='notice_1'\noffset_days=true\n", "a.toml", "whole number"),
        ("[[step]]\nname='a'\naction='notice_1'\noffset_days=9999\n", "a.toml", "whole number"),
        ("[[step]]\nname='a'\naction='remind'\noffset_days=2\n", "a.toml", "before it"),
        ("[[step]]\nname='a'\naction='notice_1'\noffset_days=0\n", "a.toml", "after the due"),
        (
            "[[step]]\nname='a'\naction='notice_1'\noffset_days=1\n"
            "[[step]]\nname='a'\naction='notice_2'\noffset_days=5\n",
            "a.toml",
            "earlier step",
        ),
        (
            "[[step]]\nname='a'\naction='suspend_service'\noffset_days=9\nby_kind={fax=3}\n",
            "a.toml",
            "unknown service kind",
        ),
        (
            "[[step]]\nname='a'\naction='suspend_service'\noffset_days=9\nkinds=['tv','tv']\n",
            "a.toml",
            "distinct kinds",
        ),
        (
            "[[step]]\nname='a'\naction='suspend_service'\noffset_days=9\nkinds=['tv']\n"
            "by_kind={mobile=3}\n",
            "a.toml",
            "not in kinds",
        ),
        (
            "[[step]]\nname='a'\naction='notice_1'\noffset_days=9\nagency_inn='7707083893'\n",
            "a.toml",
            "hand_over step only",
        ),
        (
            "[[step]]\nname='a'\naction='hand_over'\noffset_days=9\nagency_inn='7707083894'\n",
            "a.toml",
            "not a valid INN",
        ),
        (
            "[[step]]\nname='a'\naction='notice_1'\noffset_days=1\nwhen='now'\n",
            "a.toml",
            "unknown keys: when",
        ),
    ],
)
def test_a_bad_ladder_is_refused_with_its_fault(text: str, name: str, fault: str) -> None:
    with pytest.raises(LadderInvalid) as refused:
        ladder.read(text, name)
    assert refused.value.code == "dunning_ladder_invalid"
    assert fault in refused.value.detail


def test_every_fault_is_listed_at_once() -> None:
    with pytest.raises(LadderInvalid) as refused:
        ladder.read(
            "[[step]]\nname='a'\naction='x'\noffset_days=1\n"
            "[[step]]\nname='b'\naction='remind'\noffset_days='soon'\n",
            "a.toml",
        )
    assert len(refused.value.extra["faults"]) == 2


def test_a_file_too_large_or_not_utf8_is_refused() -> None:
    with pytest.raises(LadderInvalid, match="larger"):
        ladder.read(b"#" * 70_000, "a.toml")
    with pytest.raises(LadderInvalid, match="UTF-8"):
        ladder.read(b"\xff\xfe", "a.toml")


def test_the_shipped_default_is_the_one_of_the_test_ladder() -> None:
    shipped = ladder.read(DEFAULT.read_text(encoding="utf-8"), DEFAULT.name)
    assert shipped.rows == ladder.read(LADDER, "t.toml").rows
    assert shipped.name == "default"
