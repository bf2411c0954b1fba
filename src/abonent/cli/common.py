"""What every CLI command shares: settings, one unit of work, error → exit code."""

from __future__ import annotations

import asyncio
import functools
import getpass
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from abonent.cli.failures import EXIT_INTERNAL, EXIT_INTERRUPTED, diagnose, log_unexpected, main_url
from abonent.config import Settings, get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError

P = ParamSpec("P")
T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

# Exit codes: 0 done; 1 refused (bad input, unknown account, a rule said no, the database not
# ready) — nothing changed; 2 usage (typer's own); 3 found a problem (reconcile drift, registry
# differences); 4 internal error (a bug: logged as cli.unexpected_error); 130 interrupted.
EXIT_REFUSED = 1
EXIT_FOUND_PROBLEMS = 3


def report_error(exc: AbonentError) -> None:
    # The detail may echo user input such as "[/x]": never let it be read as markup.
    err_console.print(
        f"[red]error[/red] {escape(f'[{exc.code}]')}: {escape(exc.detail)}",
        highlight=False,
        soft_wrap=True,
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


def fail(exc: BaseException, url: str | None) -> int:
    """Say what went wrong in one line on stderr; return the exit code."""
    if isinstance(exc, KeyboardInterrupt):
        err_console.print("interrupted", highlight=False)
        return EXIT_INTERRUPTED
    refusal = diagnose(exc, url)
    if refusal is not None:
        report_error(refusal)
        return EXIT_REFUSED
    line = log_unexpected(exc)
    err_console.print(
        f"[red]error[/red] {escape('[internal]')}: {escape(line)}", highlight=False, soft_wrap=True
    )
    return EXIT_INTERNAL


def guarded(call: Callable[[], T], url: str | None) -> T:
    """Run ``call``; whatever escapes becomes one line and an exit code (see cli/failures.py)."""
    try:
        return call()
    except (typer.Exit, typer.Abort, click.exceptions.ClickException):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        raise typer.Exit(fail(exc, url)) from None


def run_async(main: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``main`` with a database from settings; a refusal exits 1, a bug exits 4."""
    url = settings().database_url

    async def _go() -> T:
        db = Database(url)
        try:
            return await main(db)
        finally:
            await db.dispose()

    return guarded(lambda: asyncio.run(_go()), url)


def command(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Decorator for ``async def`` commands that create their own Database."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return guarded(lambda: asyncio.run(fn(*args, **kwargs)), main_url())

    return wrapper
