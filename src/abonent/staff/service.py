"""Staff accounts and sign-in: password + TOTP, lockout with backoff, sessions with two limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit import service as audit
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from abonent.models import StaffLoginFailure, StaffSession, StaffUser
from abonent.staff import credentials, repository
from abonent.staff.errors import LoginFailed, LoginLocked, SessionInvalid
from abonent.staff.principal import StaffPrincipal, StaffTokens
from abonent.staff.roles import ROLES

TOKEN_PREFIX = "abs_"  # noqa: S105 - a marker, not a secret
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# Touching last_seen_at on every request would make every read a write.
_TOUCH_EVERY = dt.timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What ``create``/``reset_password`` show once: never stored in clear, never logged."""

    user: StaffUser
    password: str
    totp_secret: str | None
    totp_uri: str | None


def normalize_login(raw: str) -> str:
    login = (raw or "").strip().lower()
    if not _LOGIN.fullmatch(login):
        raise InvalidInput(
            "login: 2-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            code="staff.login_malformed",
        )
    return login


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _enrol(user: StaffUser) -> tuple[str, str]:
    secret = credentials.generate_totp_secret()
    user.totp_secret_enc = credentials.seal(secret)
    user.last_totp_step = None
    return secret, credentials.enrolment_uri(secret, user.login)


async def create(
    session: AsyncSession,
    login: str,
    *,
    role: str,
    name: str,
    actor: Actor,
    password: str | None = None,
    totp_secret: str | None = None,
) -> Enrolment:
    """A new employee. ``password``/``totp_secret`` are given only by the demo loader."""
    login = normalize_login(login)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="staff.role_unknown")
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise InvalidInput("name: 1-128 characters", code="staff.name_malformed")
    if await repository.by_login(session, login) is not None:
        raise Conflict(f"login {login} exists", code="staff.login_taken")
    now = clock.now()
    plain = password or credentials.generate_password()
    user = StaffUser(
        login=login,
        name=name,
        role=role,
        password_hash=credentials.hash_password(plain),
        totp_secret_enc=b"",
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    if totp_secret:
        user.totp_secret_enc = credentials.seal(totp_secret)
        secret, uri = totp_secret, credentials.enrolment_uri(totp_secret, login)
    else:
        secret, uri = _enrol(user)
    session.add(user)
    await session.flush()
    audit.record(session, actor, "staff.created", object_type="staff", object_id=user.id, role=role)
    return Enrolment(user, plain, secret, uri)


async def _get(session: AsyncSession, login: str) -> StaffUser:
    user = await repository.by_login(session, normalize_login(login))
    if user is None:
        raise NotFound(f"no staff login {login}", code="staff.not_found")
    return user


async def _end_sessions(session: AsyncSession, staff_id: int) -> None:
    now = clock.now()
    for row in await repository.open_sessions(session, staff_id):
        row.ended_at = now


async def disable(session: AsyncSession, login: str, *, actor: Actor) -> StaffUser:
    user = await _get(session, login)
    user.active = False
    await _end_sessions(session, user.id)
    audit.record(session, actor, "staff.disabled", object_type="staff", object_id=user.id)
    return user


async def reset_password(
    session: AsyncSession, login: str, *, actor: Actor, reenrol_totp: bool = False
) -> Enrolment:
    user = await _get(session, login)
    plain = credentials.generate_password()
    user.password_hash = credentials.hash_password(plain)
    user.password_changed_at = clock.now()
    secret, uri = _enrol(user) if reenrol_totp else (None, None)
    await _end_sessions(session, user.id)
    failure = await session.get(StaffLoginFailure, user.login)
    if failure is not None:
        await session.delete(failure)
    audit.record(
        session,
        actor,
        "staff.password_reset",
        object_type="staff",
        object_id=user.id,
        totp_reenrolled=reenrol_totp,
    )
    return Enrolment(user, plain, secret, uri)


async def act_as(
    session: AsyncSession, login: str, *, operator: Actor, purpose: str
) -> StaffPrincipal:
    """The employee an operator's command names (``--as LOGIN``): the CLI runs as the system's
    operator, but a decision that a role reserves to a person (a write-off's approval) must be
    that person's, in the audit trail and under the role rules. An unknown or disabled login is
    refused; naming them is itself audited, with the operator who did it."""
    user = await _get(session, login)
    if not user.active:
        raise Forbidden(f"staff login {user.login} is disabled", code="staff.disabled")
    audit.record(
        session,
        operator,
        "staff.acted_as",
        object_type="staff",
        object_id=user.id,
        purpose=purpose[:200],
    )
    return StaffPrincipal(user.id, user.login, user.name, user.role)


async def list_staff(session: AsyncSession) -> Sequence[StaffUser]:
    return await repository.all_users(session)


async def current_totp(session: AsyncSession, login: str) -> str:
    """Development only (the CLI refuses in production): the code an authenticator shows now."""
    user = await _get(session, login)
    return credentials.totp_now(credentials.unseal(user.totp_secret_enc), clock.now())


async def login(
    session: AsyncSession, login: str, password: str, totp_code: str, *, client: str
) -> StaffTokens:
    """Sign in. On :class:`LoginFailed` the surface records the try with :func:`record_failure`
    in a unit of its own (this unit rolls back)."""
    user = await _password_checked(session, login, password)
    now = clock.now()
    step = credentials.accept_totp(
        credentials.unseal(user.totp_secret_enc), totp_code, now, user.last_totp_step
    )
    if step is None:
        raise LoginFailed("login, password or code is wrong")
    user.last_totp_step = step
    await _clear_failures(session, user.login)
    return await _open_session(session, user, now, client)


async def _open_session(
    session: AsyncSession, user: StaffUser, now: dt.datetime, client: str
) -> StaffTokens:
    settings = get_settings().staff
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = StaffSession(
        staff_id=user.id,
        token_hash=_token_hash(token),
        client=(client or "")[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.absolute_hours),
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        Actor(f"staff:{user.id}:{user.login}", user.role),
        "staff.login",
        object_type="staff",
        object_id=user.id,
        session_id=row.id,
        client=row.client,
    )
    return StaffTokens(token, settings.idle_minutes * 60, row.id)


# ``last_totp_step`` 0 (the first step of 1970): the enrolment was shown and no code was used
# since. No real code is that old, so every current code is newer than it.
_SHOWN = 0


@dataclass(frozen=True, slots=True)
class FirstSignIn:
    """The TOTP enrolment shown ONCE at a first sign-in: never stored in clear, never logged."""

    staff_id: int
    login: str
    totp_uri: str


async def _refuse_if_locked(session: AsyncSession, name: str) -> None:
    now = clock.now()
    failure = await session.get(StaffLoginFailure, name)
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        wait = int((failure.locked_until - now).total_seconds()) + 1
        raise LoginLocked(f"too many failed sign-ins; try again in {wait} s", retry_after=wait)


async def _clear_failures(session: AsyncSession, name: str) -> None:
    failure = await session.get(StaffLoginFailure, name)
    if failure is not None:
        await session.delete(failure)


async def _password_checked(session: AsyncSession, login: str, password: str) -> StaffUser:
    try:
        name = normalize_login(login)
    except InvalidInput:
        raise LoginFailed("login, password or code is wrong") from None
    await _refuse_if_locked(session, name)
    user = await repository.by_login(session, name)
    stored = user.password_hash if user is not None and user.active else None
    if not credentials.verify_password(stored, password or "") or user is None:
        raise LoginFailed("login, password or code is wrong")
    return user


async def begin_enrolment(
    session: AsyncSession, login: str, password: str, *, client: str
) -> FirstSignIn:
    """A sign-in with the right password and no code, by an employee who has never used a code
    and never been shown the enrolment: the enrolment, shown this once (marked as shown).

    Anyone else (a code already in use, the QR already shown) gets the same
    :class:`LoginFailed` as a wrong password, so the answer does not tell a right password."""
    user = await _password_checked(session, login, password)
    if user.last_totp_step is not None:
        raise LoginFailed("login, password or code is wrong")
    user.last_totp_step = _SHOWN
    audit.record(
        session,
        Actor(f"staff:{user.id}:{user.login}", user.role),
        "staff.totp_enrolment_shown",
        object_type="staff",
        object_id=user.id,
        client=(client or "")[:64],
    )
    secret = credentials.unseal(user.totp_secret_enc)
    return FirstSignIn(user.id, user.login, credentials.enrolment_uri(secret, user.login))


async def confirm_enrolment(
    session: AsyncSession, staff_id: int, totp_code: str, *, client: str
) -> StaffTokens:
    """The first code after the enrolment was shown: it confirms the enrolment and signs in."""
    user = await session.get(StaffUser, staff_id)
    if user is None or not user.active or user.last_totp_step != _SHOWN:
        raise LoginFailed("login, password or code is wrong")
    await _refuse_if_locked(session, user.login)
    now = clock.now()
    step = credentials.accept_totp(
        credentials.unseal(user.totp_secret_enc), totp_code, now, user.last_totp_step
    )
    if step is None:
        raise LoginFailed("login, password or code is wrong")
    user.last_totp_step = step
    await _clear_failures(session, user.login)
    audit.record(
        session,
        Actor(f"staff:{user.id}:{user.login}", user.role),
        "staff.totp_enrolled",
        object_type="staff",
        object_id=user.id,
    )
    return await _open_session(session, user, now, client)


async def record_failure(session: AsyncSession, login: str, *, client: str) -> None:
    name = (login or "").strip().lower()[:64]
    if not name:
        return
    now = clock.now()
    settings = get_settings().staff
    failure = await session.get(StaffLoginFailure, name)
    if failure is None:
        failure = StaffLoginFailure(login=name, failures=0, last_failure_at=now)
        session.add(failure)
    failure.failures += 1
    failure.last_failure_at = now
    over = failure.failures - settings.lockout_after
    if over >= 0:
        seconds = min(settings.lockout_base_seconds * 2**over, settings.lockout_max_seconds)
        failure.locked_until = now + dt.timedelta(seconds=seconds)
    audit.record(
        session,
        Actor(f"anonymous:{(client or '')[:64]}"),
        "staff.login_failed",
        object_type="staff_login",
        object_id=name,
        failures=failure.failures,
    )


async def authenticate(session: AsyncSession, token: str) -> StaffPrincipal:
    if not token or not token.startswith(TOKEN_PREFIX):
        raise SessionInvalid("a staff session token is required")
    found = await repository.session_by_hash(session, _token_hash(token))
    if found is None:
        raise SessionInvalid("the staff session is unknown or over")
    row, user = found
    now = clock.now()
    idle = dt.timedelta(minutes=get_settings().staff.idle_minutes)
    if (
        row.ended_at is not None
        or not user.active
        or now >= row.expires_at
        or now - row.last_seen_at >= idle
    ):
        raise SessionInvalid("the staff session is unknown or over")
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
    return StaffPrincipal(user.id, user.login, user.name, user.role, row.id)


async def logout(session: AsyncSession, principal: StaffPrincipal) -> None:
    row = await session.get(StaffSession, principal.session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = clock.now()
        audit.record(
            session,
            principal.actor(),
            "staff.logout",
            object_type="staff",
            object_id=principal.staff_id,
            session_id=row.id,
        )
