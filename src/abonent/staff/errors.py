from __future__ import annotations

from abonent.kit.errors import AbonentError, Unauthorized


class LoginFailed(Unauthorized):
    """One answer for an unknown login, a wrong password, a wrong or replayed code."""

    default_code = "staff.login_failed"


class LoginLocked(AbonentError):
    status = 429
    default_code = "staff.locked"
    title = "Too many failed sign-ins"


class SessionInvalid(Unauthorized):
    default_code = "auth.not_authenticated"
