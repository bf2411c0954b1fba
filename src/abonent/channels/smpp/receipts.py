"""Delivery receipts: the TLVs first (SMPP 3.4 §5.3.2.12, §5.3.2.35), else the text form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

# esm_class bits 2-5 give the message type; 0x04 is an SMSC delivery receipt and 0x20 an
# intermediate notification (both carry a receipt).
RECEIPT_TYPES: Final = (0x04, 0x20)
MESSAGE_TYPE_MASK: Final = 0x3C

# message_state values (SMPP 3.4 §5.2.28) → the states Abonent records.
_STATE_BY_CODE: Final = {
    1: "accepted",  # ENROUTE: still on its way
    2: "delivered",
    3: "expired",
    4: "undeliverable",  # DELETED
    5: "undeliverable",
    6: "accepted",
    7: "unknown",
    8: "rejected",
}
_STATE_BY_STAT: Final = {
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "DELETED": "undeliverable",
    "UNDELIV": "undeliverable",
    "ACCEPTD": "accepted",
    "ENROUTE": "accepted",
    "UNKNOWN": "unknown",
    "REJECTD": "rejected",
}
STATES: Final = frozenset(_STATE_BY_CODE.values())

_TEXT = re.compile(rb"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    state: str


def is_receipt(esm_class: int) -> bool:
    return (esm_class & MESSAGE_TYPE_MASK) in RECEIPT_TYPES


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.rstrip(b"\x00").decode("ascii", errors="replace")
    return str(value) or None


def parse(pdu: Any) -> Receipt | None:
    """The receipt a ``deliver_sm`` (an smpplib PDU) carries, or None if it carries none."""
    if not is_receipt(int(pdu.esm_class or 0)):
        return None
    message_id = _text(getattr(pdu, "receipted_message_id", None))
    code = getattr(pdu, "message_state", None)
    if message_id and code is not None:
        return Receipt(message_id, _STATE_BY_CODE.get(int(code), "unknown"))
    found = _TEXT.search(bytes(pdu.short_message or b""))
    if found is None:
        return None
    stat = found["stat"].decode("ascii")
    return Receipt(message_id or found["id"].decode("ascii"), _STATE_BY_STAT.get(stat, "unknown"))
