"""Refusals of debt notices and their checks, each with a stable code."""

from __future__ import annotations

from abonent.contact.errors import RenderHeld
from abonent.kit.errors import BusinessRuleViolation, Forbidden, InvalidInput


class NothingOwed(BusinessRuleViolation):
    default_code = "notice_nothing_owed"


class VerifyInputInvalid(InvalidInput):
    default_code = "notice_verify_input"


class ReportInvalid(InvalidInput):
    default_code = "notice_report_invalid"


class TemplateRoleRefused(Forbidden):
    default_code = "notice_template_role"


class TemplateRefused(RenderHeld):
    """The template in use (its latest saved version) fails its seal or its check when read:
    no notice goes with it, and none with the built-in text in its place."""

    default_code = "notice_template_refused"
