"""The chart of accounts: every ledger an entry may post to, and every kind of entry and item.

A posting's ``amount_minor`` is signed: positive debits its ledger, negative credits it, and the
postings of an entry sum to zero. Every entry belongs to one subscriber account and posts to
that account's :data:`SUBSCRIBER_LEDGER` and to one or more counter ledgers:

=========================  ======  ==============================================================
ledger                     normal  what posts to it
=========================  ======  ==============================================================
``subscriber``             debit   Every entry. Debit: the subscriber owes more (a charge, a fee,
                                   a reversed payment). Credit: money in (a payment, a reversed
                                   charge). The balance the subscriber sees is minus its sum.
``revenue:<service kind>`` credit  Charges and fees, credited; their reversals, debited. One per
                                   service kind (``revenue:mobile``, ``revenue:internet``,
                                   ``revenue:tv``); ``revenue:other`` for a charge on the account
                                   with no service.
``clearing:<source>``      debit   Payments, debited: money a channel (``osmp:SBER``, ``card``,
                                   ``office``, ``api``…) collected and the operator has yet to
                                   settle with it. Their reversals, credited.
``promised:advance``       debit   A promised payment taken: debited by its credit (the advance
                                   that clears the debt at once), credited by its repayment
                                   charge due at the end of the term; so it nets to zero.
``revenue:promised_fee``   credit  The fee of a promised payment (a charge on the account).
``bad_debt:written_off``   debit   Debt written off as uncollectable (a supervisor's approval,
                                   :mod:`abonent.ledger.write_off`): debited by the amount, the
                                   subscriber credited, so the debt leaves the statement.
=========================  ======  ==============================================================

**Revenue is keyed by service kind**, not by charge kind, for both imported charges and monthly
fees: revenue is reported per product line (mobile, internet, TV), and the charge kind (usage,
one-off, fee) is already on every open item, while the service kind is on no posting otherwise.
Rows written before this rule by the charge import carry ``revenue:usage`` / ``revenue:one_off``;
nothing reads revenue ledgers by name, so they stay as they are (the ledger is append-only) and
add up under their own names.

**Currency** is always the account's (``Account.currency``): the ledger reads it from the
account for every posting and open item it writes; no caller passes one.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BAD_DEBT_LEDGER",
    "CHARGE",
    "CREDIT",
    "DEBIT",
    "FEE",
    "ITEM_ONE_OFF",
    "ITEM_PAYMENT",
    "ITEM_PROMISED_FEE",
    "ITEM_PROMISED_REPAYMENT",
    "ITEM_REVERSAL",
    "ITEM_USAGE",
    "ITEM_WRITE_OFF",
    "OTHER_REVENUE",
    "PAYMENT",
    "PROMISED",
    "PROMISED_ADVANCE_LEDGER",
    "PROMISED_FEE_LEDGER",
    "REVERSAL",
    "SUBSCRIBER_LEDGER",
    "WRITE_OFF",
    "clearing_ledger",
    "revenue_ledger",
]

SUBSCRIBER_LEDGER: Final = "subscriber"
"""The subscriber's side of every entry (see the table above)."""

# Entry kinds (JournalEntry.kind): what business event an entry records.
CHARGE: Final = "charge"
"""Imported rated charges (usage, one-off), or a single charge posted by hand."""
FEE: Final = "fee"
"""Monthly subscription fees of a period."""
PAYMENT: Final = "payment"
"""Money received from a channel."""
REVERSAL: Final = "reversal"
"""The mirror image of another entry (``reverses_entry_id``)."""
PROMISED: Final = "promised"
"""The credit of a promised payment taken (its item kind too); see ``promised/``."""
WRITE_OFF: Final = "write_off"
"""Debt written off to :data:`BAD_DEBT_LEDGER` (its credit item's kind too)."""

# Open-item sides (OpenItem.side).
DEBIT: Final = "debit"
"""Owed by the subscriber: a charge, a fee, a reversed payment."""
CREDIT: Final = "credit"
"""Money to allocate to debt: a payment, a reversed charge."""

# Open-item kinds (OpenItem.kind). A fee's item kind is FEE, as its entry's.
ITEM_USAGE: Final = "usage"
ITEM_ONE_OFF: Final = "one_off"
ITEM_PAYMENT: Final = "payment"
ITEM_REVERSAL: Final = "reversal"
ITEM_PROMISED_REPAYMENT: Final = "promised_repayment"
"""What a promised payment is repaid by: a debit due at the end of its term."""
ITEM_PROMISED_FEE: Final = "promised_fee"

PROMISED_ADVANCE_LEDGER: Final = "promised:advance"
PROMISED_FEE_LEDGER: Final = "revenue:promised_fee"
BAD_DEBT_LEDGER: Final = "bad_debt:written_off"
ITEM_WRITE_OFF: Final = WRITE_OFF

REVENUE_PREFIX: Final = "revenue:"
CLEARING_PREFIX: Final = "clearing:"
OTHER_REVENUE: Final = f"{REVENUE_PREFIX}other"
"""Revenue of a charge on the account itself, with no service."""


def revenue_ledger(service_kind: str | None) -> str:
    """The revenue ledger a charge or fee credits: by the kind of the service it accrued on."""
    return f"{REVENUE_PREFIX}{service_kind}" if service_kind else OTHER_REVENUE


def clearing_ledger(source: str) -> str:
    """The ledger a payment from ``source`` (a channel, ``osmp:<agent>``…) debits."""
    return f"{CLEARING_PREFIX}{source}"
