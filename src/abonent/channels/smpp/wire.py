"""The two PDUs of the relay's hot path, packed and unpacked without smpplib's generic machinery.

smpplib builds every PDU field by field through ``hasattr``/``getattr`` over all 43 of
``submit_sm``'s parameters (about 40 optional ones checked one by one), which costs more than
everything else the relay does for an SMS. A ``submit_sm`` with only mandatory fields and a
``submit_sm_resp`` are simple enough to do here in a few ``struct`` calls; the bytes are the
same as smpplib's (``tests/smpp/test_wire.py`` compares them). Any other field, or any other
PDU, still goes through smpplib.
"""

from __future__ import annotations

import struct
from typing import Any, Final

SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
_HEADER = struct.Struct(">LLLL")
_ADDR = struct.Struct(">BB")

# The submit_sm fields this packs; anything else goes to smpplib (optional TLVs, USSD, ...).
_FIELDS: Final = frozenset(
    {
        "service_type",
        "source_addr_ton",
        "source_addr_npi",
        "source_addr",
        "dest_addr_ton",
        "dest_addr_npi",
        "destination_addr",
        "esm_class",
        "protocol_id",
        "priority_flag",
        "schedule_delivery_time",
        "validity_period",
        "registered_delivery",
        "replace_if_present_flag",
        "data_coding",
        "sm_default_msg_id",
        "short_message",
    }
)
# smpplib's maximum lengths (the terminating NUL included): a longer value is cut to max - 1.
_MAX = {
    "service_type": 6,
    "source_addr": 21,
    "destination_addr": 21,
    "schedule_delivery_time": 17,
    "validity_period": 17,
}


def packable(fields: dict[str, Any]) -> bool:
    """Whether :func:`submit_sm` packs these fields exactly as smpplib would."""
    if not _FIELDS.issuperset(fields):
        return False
    message = fields.get("short_message")
    return message is None or (isinstance(message, bytes) and len(message) <= 254)


def _cstring(fields: dict[str, Any], name: str) -> bytes:
    value = fields.get(name)
    if not value:
        return b"\x00"
    limit = _MAX[name] - 1
    text = str(value)
    return text[:limit].encode("latin-1") + b"\x00"


def _octet(fields: dict[str, Any], name: str) -> int:
    return int(fields.get(name) or 0)


def submit_sm(sequence: int, fields: dict[str, Any]) -> bytes:
    """One ``submit_sm`` PDU (status 0) of fields that :func:`packable` accepts."""
    f = fields
    message: bytes = f.get("short_message") or b""
    body = b"".join(
        (
            _cstring(f, "service_type"),
            _ADDR.pack(_octet(f, "source_addr_ton"), _octet(f, "source_addr_npi")),
            _cstring(f, "source_addr"),
            _ADDR.pack(_octet(f, "dest_addr_ton"), _octet(f, "dest_addr_npi")),
            _cstring(f, "destination_addr"),
            bytes((_octet(f, "esm_class"), _octet(f, "protocol_id"), _octet(f, "priority_flag"))),
            _cstring(f, "schedule_delivery_time"),
            _cstring(f, "validity_period"),
            bytes(
                (
                    _octet(f, "registered_delivery"),
                    _octet(f, "replace_if_present_flag"),
                    _octet(f, "data_coding"),
                    _octet(f, "sm_default_msg_id"),
                    len(message),
                )
            ),
            message,
        )
    )
    return _HEADER.pack(16 + len(body), SUBMIT_SM, 0, sequence) + body


class SubmitSmResp:
    """A ``submit_sm_resp`` as the link reads it: what smpplib's would offer the submitter."""

    __slots__ = ("message_id", "sequence", "status")
    command = "submit_sm_resp"

    def __init__(self, status: int, sequence: int, message_id: bytes | None) -> None:
        self.status = status
        self.sequence = sequence
        self.message_id = message_id


def submit_sm_resp(raw: bytes) -> SubmitSmResp | None:
    """The frame as a ``submit_sm_resp`` if it is a plain one (no TLVs), else None (smpplib's)."""
    length, command_id, status, sequence = _HEADER.unpack_from(raw)
    if command_id != SUBMIT_SM_RESP:
        return None
    if length == 16:
        return SubmitSmResp(status, sequence, None)
    end = raw.find(b"\x00", 16)
    if end != length - 1:
        return None  # TLVs after the id, or no terminating NUL: smpplib's job
    return SubmitSmResp(status, sequence, raw[16:end] or None)
