"""What every CLI command shares: settings, one unit of work, error → exit code."""

from __future__ import annotations

import asyncio
import functools
import getpass
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from abonent.config import Settings, get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError

P = ParamSpec("P")
T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

# Exit codes: 0 done; 1 refused (bad input, unknown account, a rule said no) — nothing changed;
# 2 usage (typer's own); 3 found a problem (reconcile drift, registry differences).
EXIT_REFUSED = 1
EXIT_FOUND_PROBLEMS = 3


def report_error(exc: AbonentError) -> None:
    # The detail may echo user input such as "[/x]": never let it be read as markup.
    err_console.print(
        f"[red]error[/red] {escape(f'[{exc.code}]')}: {escape(exc.detail)}", highlight=False
    )


def settings() -> Settings:
    # The CLI may run in a test process after the environment changed: read it afresh.
    get_settings.cache_clear()
    return get_settings()


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return Actor(f"cli:{user}", "admin")


def run_async(main: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``main`` with a database from settings; domain errors become a message and exit 1."""

    async def _go() -> T:
        db = Database(settings().database_url)
        try:
            return await main(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_go())
    except AbonentError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_REFUSED) from None


def command(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Decorator for ``async def`` commands that create their own Database."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(fn(*args, **kwargs))
        except AbonentError as exc:
            report_error(exc)
            raise typer.Exit(EXIT_REFUSED) from None

    return wrapper
