"""The payment source: the namespace a payment's transaction id is unique in.

``(source, source_txn_id)`` is the payments table's idempotency key, so every way of booking a
payment must name its source the same way every time: a retry under another spelling would be
booked twice. These functions are the only place a source is spelled.
"""

from __future__ import annotations

OFFICE = "office"
"""Cash desk and back office: one namespace; the clerk's tool gives each receipt its number."""


def osmp(agent_code: str) -> str:
    """A payment agent's OSMP calls, and the lines of its daily registry booked here: one
    namespace, so that a registry line and the agent's own retry of that txn_id are one payment."""
    return f"osmp:{agent_code}"


def api(api_key_id: int | str) -> str:
    """``POST /v1/payments``: each API key is its own namespace of external ids."""
    return f"api:{api_key_id}"


def card(provider: str) -> str:
    """Card payments: the acquiring provider's namespace of its payment references."""
    return f"card:{provider}"
