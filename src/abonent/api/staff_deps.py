"""``require_staff(*roles)``: the signed-in employee behind ``Authorization: Bearer abs_…``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.security import HTTPBearer

from abonent import staff
from abonent.api.deps import STAFF, audience_of, database_of
from abonent.kit.errors import Forbidden, Unauthorized
from abonent.staff.principal import StaffPrincipal
from abonent.staff.roles import ROLES


def bearer_of(request: Request) -> str | None:
    authorization = request.headers.get("authorization") or ""
    if authorization[:7].lower() == "bearer " and authorization[7:].strip():
        return authorization[7:].strip()
    return None


class _RequireStaff(HTTPBearer):
    def __init__(self, roles: frozenset[str]) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="StaffSession",
            description="A staff session token (abs_…) from POST /v1/staff/login.",
        )
        self.roles = roles

    async def __call__(self, request: Request) -> StaffPrincipal:  # type: ignore[override]
        token = bearer_of(request)
        if token is None:
            if request.headers.get("x-api-key"):
                raise Forbidden("staff routes take a staff session", code="auth.wrong_audience")
            raise Unauthorized(
                "a staff session is required (Authorization: Bearer …)",
                code="auth.not_authenticated",
            )
        if audience_of(token) != STAFF:
            # An API key or a subscriber's token: a real credential, for another door.
            raise Forbidden("staff routes take a staff session", code="auth.wrong_audience")

        async def work(session: Any) -> StaffPrincipal:
            return await staff.authenticate(session, token)

        principal = await database_of(request).run(work)
        if self.roles and principal.role not in self.roles:
            raise Forbidden(
                f"role {principal.role} may not use this route", code="staff.role_forbidden"
            )
        request.state.actor = principal.actor()
        request.state.idempotency_scope = f"staff:{principal.staff_id}"
        return principal


def require_staff(*roles: str) -> Callable[..., Coroutine[Any, Any, StaffPrincipal]]:
    """Dependency: a live staff session; with ``roles``, one of them. No roles: any staff."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown staff roles {sorted(unknown)}")
    return _RequireStaff(frozenset(roles))
