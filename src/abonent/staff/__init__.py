"""Staff accounts: sign-in with a password and a TOTP code, sessions, roles."""

from abonent.staff.principal import StaffPrincipal, StaffTokens
from abonent.staff.service import authenticate, login, logout

__all__ = ["StaffPrincipal", "StaffTokens", "authenticate", "login", "logout"]
