from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound


class PaymentNotFound(NotFound):
    default_code = "payment_not_found"


class DuplicateMismatch(Conflict):
    """The same source transaction id was sent again with another account or amount."""

    default_code = "payment_duplicate_mismatch"


class AccountNotPayable(BusinessRuleViolation):
    """The account may not receive payments (closed with nothing owed)."""

    default_code = "account_not_payable"


class PaymentRefused(BusinessRuleViolation):
    default_code = "payment_refused"


class AmountInvalid(InvalidInput):
    default_code = "amount_invalid"


class NotReversible(BusinessRuleViolation):
    default_code = "payment_not_reversible"
