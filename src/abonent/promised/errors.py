"""Refusals of the promised payment: a stable code and the reason in Russian, for every channel.

The detail is what the subscriber reads (USSD screen, cabinet, the clerk's console), so it is
written for them: "не подключён: …".
"""

from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, InvalidInput


class PromisedRefused(BusinessRuleViolation):
    """Not eligible now; ``code`` says which rule, ``detail`` says it in words."""

    default_code = "promised_refused"
    title = "Promised payment refused"


class PromisedAmountInvalid(InvalidInput):
    default_code = "promised_amount_invalid"


# Every refusal code this package raises (the docs and tests list them from here).
CODES = (
    "promised_disabled",
    "promised_account_closed",
    "promised_account_suspended",
    "promised_in_force",
    "promised_account_too_young",
    "promised_debt_too_large",
    "promised_monthly_limit",
    "promised_not_needed",
    "promised_too_little_history",
    "promised_amount_invalid",
)
