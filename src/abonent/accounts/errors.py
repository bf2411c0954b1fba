from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, Conflict, NotFound


class AccountNotFound(NotFound):
    default_code = "account_not_found"


class CustomerNotFound(NotFound):
    default_code = "customer_not_found"


class ServiceNotFound(NotFound):
    default_code = "service_not_found"


class TariffNotFound(NotFound):
    default_code = "tariff_not_found"


class AccountClosed(BusinessRuleViolation):
    default_code = "account_closed"


class IdentifierTaken(Conflict):
    default_code = "identifier_taken"


class InvalidStatusChange(BusinessRuleViolation):
    default_code = "invalid_status_change"
