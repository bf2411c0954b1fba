"""``abonent payments settle`` and ``sandbox-resolve`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner

from abonent.cli.main import app as cli
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.models import AccountBalance, CardPayment
from abonent.payments.acquiring import service as cards
from abonent.payments.acquiring.sandbox import SandboxProvider
from tests.payments.api.helpers import account_with_debt

runner = CliRunner()


def _run(url: str, work: Any) -> Any:
    async def go() -> Any:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _timed_out_card(url: str) -> tuple[int, int, str]:
    """A card payment whose payer chose «Таймаут» and came back: ours is unknown."""

    async def work(db: Database) -> tuple[int, int, str]:
        account = await account_with_debt(db, 30_000)
        provider = cards.build_provider(db, get_settings())
        assert isinstance(provider, SandboxProvider)
        view = await cards.create(
            db,
            provider,
            get_settings(),
            account_number=account.number,
            amount_minor=50_000,
            currency="RUB",
            return_url=None,
            actor=Actor("test", "admin"),
        )
        await provider.choose(view.card.provider_ref, "timeout")
        assert (await cards.refresh(db, provider, view.card.id)).status == "unknown"
        return account.id, view.card.id, view.card.provider_ref

    result: tuple[int, int, str] = _run(url, work)
    return result


def _status(url: str, account_id: int, card_id: int) -> tuple[str, int, int]:
    async def work(db: Database) -> tuple[str, int, int]:
        async with db.session() as s:
            card = await s.get(CardPayment, card_id)
            bal = await s.get(AccountBalance, account_id)
            assert card is not None and bal is not None
            return card.status, bal.balance_minor, bal.debt_minor

    result: tuple[str, int, int] = _run(url, work)
    return result


def test_settle_books_what_the_bank_confirmed(env_db: str) -> None:
    account_id, card_id, ref = _timed_out_card(env_db)

    still = runner.invoke(cli, ["payments", "settle", "--json"])
    assert still.exit_code == 0, still.output
    assert json.loads(still.output) == {
        "examined": 1,
        "succeeded": 0,
        "failed": 0,
        "unknown": 1,
        "pending": 0,
        "errors": 0,
        "idempotency_keys_purged": 0,
    }
    assert _status(env_db, account_id, card_id) == ("unknown", -30_000, 30_000)

    resolved = runner.invoke(cli, ["payments", "sandbox-resolve", ref, "--outcome", "succeeded"])
    assert resolved.exit_code == 0, resolved.output
    assert f"sandbox payment {ref} is now succeeded" in resolved.output
    assert _status(env_db, account_id, card_id) == ("unknown", -30_000, 30_000)

    done = runner.invoke(cli, ["payments", "settle"])
    assert done.exit_code == 0, done.output
    assert "succeeded (booked)" in done.output
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in done.output.splitlines()
        if line.count("│") >= 3
    }
    assert rows["examined"] == "1" and rows["succeeded (booked)"] == "1"
    assert _status(env_db, account_id, card_id) == ("succeeded", 20_000, 0)

    again = runner.invoke(cli, ["payments", "settle", "--json"])
    assert json.loads(again.output)["examined"] == 0
    assert _status(env_db, account_id, card_id) == ("succeeded", 20_000, 0)


def test_sandbox_resolve_refuses_what_is_not_processing(env_db: str) -> None:
    account_id, card_id, ref = _timed_out_card(env_db)
    assert runner.invoke(cli, ["payments", "sandbox-resolve", ref]).exit_code == 0
    second = runner.invoke(cli, ["payments", "sandbox-resolve", ref, "--outcome", "declined"])
    assert second.exit_code == 1
    assert "sandbox_state" in second.output
    unknown = runner.invoke(cli, ["payments", "sandbox-resolve", "sbx_nope"])
    assert unknown.exit_code == 1 and "acquiring_ref_unknown" in unknown.output
    bad = runner.invoke(cli, ["payments", "sandbox-resolve", ref, "--outcome", "maybe"])
    assert bad.exit_code == 1 and "outcome_invalid" in bad.output
    # None of that touched our side.
    assert _status(env_db, account_id, card_id) == ("unknown", -30_000, 30_000)
