"""Refusals of debt notices and their checks, each with a stable code."""

from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, InvalidInput


class NothingOwed(BusinessRuleViolation):
    default_code = "notice_nothing_owed"


class VerifyInputInvalid(InvalidInput):
    default_code = "notice_verify_input"


class ReportInvalid(InvalidInput):
    default_code = "notice_report_invalid"
