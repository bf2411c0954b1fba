"""The hot path's own submit_sm / submit_sm_resp codec gives smpplib's bytes and values."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from smpplib import smpp

from abonent.channels.smpp import wire
from abonent.channels.smpp.encoding import split


class _Seq:
    def __init__(self, value: int) -> None:
        self.sequence = value

    def next_sequence(self) -> int:
        return self.sequence


def _smpplib(sequence: int, fields: dict[str, Any]) -> bytes:
    return bytes(smpp.make_pdu("submit_sm", client=_Seq(sequence), **fields).generate())


TEXTS = ["Hello", "Платёж 500,00 ₽ зачислен", "x" * 160, "€[]{}", "Ж" * 70, ""]
FIELD_SETS: list[dict[str, Any]] = [
    {},
    {"source_addr_ton": 5, "source_addr_npi": 0, "source_addr": "Abonent",
     "dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": "79161234567",
     "registered_delivery": 1},
    {"service_type": "CMT", "source_addr": "A" * 30, "destination_addr": "7" * 25,
     "protocol_id": 3, "priority_flag": 2, "schedule_delivery_time": "261215120000000+",
     "validity_period": "000001000000000R", "replace_if_present_flag": 1,
     "sm_default_msg_id": 7, "esm_class": 0x40},
    {"source_addr": None, "destination_addr": "", "esm_class": None},
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "fields", "sequence"),
    list(itertools.product(TEXTS, FIELD_SETS, [1, 0x7FFFFFFF])),
)
def test_submit_sm_is_byte_for_byte_smpplib(
    text: str, fields: dict[str, Any], sequence: int
) -> None:
    encoded = split(text) if text else None
    parts = encoded.parts if encoded else (None,)
    for part in parts:
        given = dict(fields, short_message=part)
        if encoded:
            given.update(data_coding=encoded.data_coding, esm_class=encoded.esm_class)
        assert wire.packable(given)
        assert wire.submit_sm(sequence, given) == _smpplib(sequence, given)


def test_other_fields_and_long_bodies_are_left_to_smpplib() -> None:
    assert not wire.packable({"short_message": b"x", "ussd_service_op": 2})
    assert not wire.packable({"message_payload": b"x" * 300})
    assert not wire.packable({"short_message": b"x" * 255})
    assert not wire.packable({"short_message": "text, not bytes"})
    assert wire.packable({"short_message": b"x" * 254})


def _resp(sequence: int, status: int, message_id: str | None) -> bytes:
    pdu = smpp.make_pdu("submit_sm_resp", client=_Seq(sequence), status=status)
    pdu.sequence = sequence
    if message_id is not None:
        pdu.message_id = message_id
    return bytes(pdu.generate())


@pytest.mark.parametrize(
    ("sequence", "status", "message_id"),
    [(1, 0, "abc-123"), (0x7FFFFFFF, 0, "0" * 64), (9, 0x58, None), (5, 0x14, "")],
)
def test_submit_sm_resp_reads_as_smpplib_does(
    sequence: int, status: int, message_id: str | None
) -> None:
    raw = _resp(sequence, status, message_id)
    ours = wire.submit_sm_resp(raw)
    theirs = smpp.parse_pdu(raw, client=_Seq(0))
    assert ours is not None
    assert (ours.sequence, int(ours.status), ours.command) == (
        theirs.sequence, int(theirs.status), theirs.command,
    )  # fmt: skip
    assert (ours.message_id or b"") == (theirs.message_id or b"")


def test_other_frames_are_not_taken_for_a_submit_sm_resp() -> None:
    deliver = smpp.make_pdu("deliver_sm_resp", client=_Seq(3))
    assert wire.submit_sm_resp(bytes(deliver.generate())) is None
    # A message id followed by a TLV (or no NUL) is left to smpplib.
    raw = bytearray(_resp(4, 0, "id"))
    raw += b"\x04\x27\x00\x01\x02"
    raw[0:4] = len(raw).to_bytes(4, "big")
    assert wire.submit_sm_resp(bytes(raw)) is None
    no_nul = bytearray(_resp(4, 0, "id"))[:-1]
    no_nul[0:4] = len(no_nul).to_bytes(4, "big")
    assert wire.submit_sm_resp(bytes(no_nul)) is None
