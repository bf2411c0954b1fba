"""Who may do what with a claim (docs/disputes.md renders the same table).

A clerk files claims and attaches evidence at the desk; only a supervisor assigns and decides
them, since a decision moves money. Every staff role may read them (the hotline answers "where
is my claim?").
"""

from __future__ import annotations

ALL_STAFF = ("clerk", "hotline", "collections", "supervisor", "admin")

ACTIONS: dict[str, tuple[str, ...]] = {
    "disputes.read": ALL_STAFF,
    "disputes.file": ("clerk", "supervisor"),
    "disputes.evidence": ("clerk", "supervisor"),
    "disputes.assign": ("supervisor",),
    "disputes.resolve": ("supervisor",),
}

# Written requests (abonent.requests): the desk files and answers them, a supervisor assigns.
REQUEST_ACTIONS: dict[str, tuple[str, ...]] = {
    "requests.read": ALL_STAFF,
    "requests.file": ("clerk", "supervisor"),
    "requests.answer": ("clerk", "supervisor"),
    "requests.assign": ("supervisor",),
}
