"""``abonent demo load``: demo data, then everything needed to try it, ready to paste."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from urllib.parse import quote

import typer
from sqlalchemy.engine import make_url

from abonent.cli.charges import progress_bar, run_refusing, say
from abonent.cli.common import console, run_async, settings
from abonent.cli.demo_cabinet import print_cabinet
from abonent.db.uow import Database
from abonent.demo.loader import DEFAULT_CUSTOMERS, DEFAULT_SEED, DemoReport, load_demo
from abonent.demo.staff import DemoEmployee, create_demo_staff
from abonent.kit import clock
from abonent.kit.money import format_money, format_plain
from abonent.kit.numbers import luhn_valid

app = typer.Typer(no_args_is_help=True, help="Demo data.")


@app.command("load")
def load_command(
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Same seed, same day: same data."),
    customers: int = typer.Option(DEFAULT_CUSTOMERS, "--customers", help="How many customers."),
    host: str = typer.Option("127.0.0.1", "--host", help="Where `abonent serve` will listen."),
    port: int = typer.Option(8000, "--port", help="Its port."),
    with_worker: bool = typer.Option(
        False, "--with-worker", help="The server will relay SMS and events (serve --with-worker)."
    ),
) -> None:
    """Load half a year of a few hundred subscribers into an empty database.

    Refuses a database that already has customers: demo people must never mix with real ones.
    """
    started = time.monotonic()
    with progress_bar() as report:

        async def main(db: Database) -> DemoReport:
            return await load_demo(db, seed=seed, customers=customers, progress=report)

        result = run_refusing(main)
    cli = cli_for(settings().database_url)
    print_report(result, host, port, with_worker, time.monotonic() - started, cli=cli)
    print_ussd(result, host, port, cli=cli)
    print_cabinet(result, host, port)
    print_staff(run_async(lambda db: db.run(create_demo_staff)), cli=cli)
    print_console(result, host, port)


def print_staff(employees: tuple[DemoEmployee, ...], *, cli: str = "abonent") -> None:
    console.print("\n[bold]Staff[/bold] (demo only: fixed passwords and TOTP secrets)")
    for e in employees:
        typer.echo(
            f"  {e.role:<12} login {e.login:<12} password {e.password:<22} TOTP {e.totp_secret}"
        )
    typer.echo(
        f"  A code now: {cli} staff totp clerk (development only), or add the TOTP secret to an "
        'authenticator; then POST /v1/staff/login {"login","password","totp"}.'
    )


def print_console(result: DemoReport, host: str, port: int) -> None:
    name, phone, passport = result.console_person
    if not passport:
        return
    typer.echo(
        f"  Console: http://{host}:{port}/console — find {name} by phone {phone}, "
        f"check the passport {passport[:4]} {passport[4:]} (demo data), two accounts."
    )


def program() -> str:
    """How this ``abonent`` was started, so that a pasted command runs the same one.

    ``make demo`` runs ``.venv/bin/abonent`` from the repository root, where nothing puts it on
    PATH; a command printed as plain ``abonent`` would not be found there.
    """
    argv0 = sys.argv[0]
    path = Path(argv0)
    if path.name == "abonent" and len(path.parts) > 1:
        return shlex.quote(argv0)
    if path.parts[-3:] == ("abonent", "cli", "main.py"):
        return f"{shlex.quote(sys.executable)} -m abonent.cli.main"
    return "abonent"


def cli_for(database_url: str) -> str:
    """The command line that reaches the demo's database, as printed for pasting.

    Without the URL, a pasted command would read the default database (var/abonent.db), not
    the demo's (make demo uses var/demo.db); a password is masked, never printed.
    """
    shown = make_url(database_url).render_as_string(hide_password=True)
    return f"ABONENT_DATABASE_URL={shlex.quote(shown)} {program()}"


def print_report(
    r: DemoReport,
    host: str,
    port: int,
    with_worker: bool,
    seconds: float,
    *,
    cli: str = "abonent",
) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    keys = {role: key for role, _name, key in r.api_keys}
    say(f"Demo data loaded (seed {r.seed}, as of {r.today:%d.%m.%Y}) in {seconds:.1f} s")
    say(
        f"  {r.customers} customers, {r.accounts} accounts, {r.services} services; "
        f"{r.charges} charges ({format_money(r.charges_minor)}), "
        f"{r.payments} payments ({format_money(r.payments_minor)})"
    )
    say(
        f"  in credit: {r.in_credit} accounts; with overdue debt: {r.overdue}; "
        f"services suspended for debt: {r.suspended_for_debt}; "
        f"closed accounts still owing: {r.closed_with_debt}"
    )
    say(
        "  ledger reconciled: no drift"
        if r.reconciled
        else "  LEDGER DRIFT: these name the accounts:"
    )
    if not r.reconciled:
        say(f"  {cli} ledger reconcile")
    say("")
    worker = " --with-worker" if with_worker else ""
    say("Serve it (make demo already does; paste commands from the repository root):")
    say(f"  {cli} serve --host {host} --port {port}{worker}")
    say("then open:")
    say(f"  {base}/                 the service")
    say(f"  {base}/docs             interactive API documentation")
    say(f"  {base}/openapi.json     the OpenAPI schema")
    say(f"  {base}/healthz          liveness and schema revision")
    if with_worker:
        say("  SMS (payment confirmations, notices) appear on the server's console, relayed by")
        say("  its worker; those of the simulated past were marked delivered.")
    say("")
    say("API keys (header `Authorization: Bearer <key>`):")
    for role, name, key in r.api_keys:
        say(f"  {role:<12} {key}   ({name})")
    say(
        f"Payment agent (OSMP): code {r.agent_code}, password {r.agent_password}, "
        "calls accepted from 127.0.0.1 and ::1 only"
    )
    say("")
    say("Accounts worth a look:")
    for case in r.showcase:
        st = case.statement
        say(f"  {case.number}  {case.title}")
        facts = (
            f"баланс {format_money(st.balance_minor)}, долг {format_money(st.debt_minor)}, "
            f"просрочено {format_money(st.overdue_minor)}"
        )
        by_service = "; ".join(
            f"{d.label}: {format_money(d.debt_minor)}"
            + (f" (просрочено {format_money(d.overdue_minor)})" if d.overdue_minor else "")
            for d in st.debt_by_service
        )
        say(f"                {facts}")
        if by_service:
            say(f"                по услугам: {by_service}")
        if case.suspended:
            say(f"                приостановлено: {', '.join(case.suspended)}")
    say("")
    pay = next((c for c in r.showcase if c.number == r.pay_number), None)
    debt = pay.statement.debt_minor if pay is not None and pay.statement.debt_minor > 0 else 50_000
    number = r.pay_number
    assert luhn_valid(number)
    txn = f"{int(time.time())}"
    txn_date = clock.now().strftime("%Y%m%d%H%M%S")
    agent = f"{r.agent_code}:{r.agent_password}"
    card, chip = r.lookup_tv
    say("Try (paste as is, from the repository root):")
    clerk = f"-H 'Authorization: Bearer {keys['clerk']}'"
    say(f"  curl -s {clerk} {base}/v1/accounts/{number}/statement")
    say(
        f"  curl -s -H 'Authorization: Bearer {keys['hotline']}' "
        f"'{base}/v1/lookup?msisdn={quote(r.lookup_msisdn)}'"
    )
    say(
        f"  curl -s -H 'Authorization: Bearer {keys['hotline']}' "
        f"'{base}/v1/lookup?smart_card={card}&chip_id={chip}'"
    )
    say(
        f"  curl -s -u {agent} '{base}/agents/osmp/{r.agent_code}?command=check&txn_id={txn}"
        f"&account={number}&sum={format_plain(debt)}'"
    )
    say(
        f"  curl -s -u {agent} '{base}/agents/osmp/{r.agent_code}?command=pay&txn_id={txn}"
        f"&account={number}&sum={format_plain(debt)}&txn_date={txn_date}'"
    )
    say(f"  {cli} account show {number}")


# --- USSD (issue 9): *100# and *100*3# over the HTTP callback, as the aggregator calls it ------


def print_ussd(r: DemoReport, host: str, port: int, *, cli: str = "abonent") -> None:
    """curl lines for the USSD callback: a subscriber in credit, and the SIM of an active account
    with overdue debt (its promised payment offer is a menu; key 1 takes it) — not the account
    the OSMP lines above pay, so that pasting those first leaves this one in debt."""
    from abonent.accounts import reads as account_reads
    from abonent.accounts.service import get_account
    from abonent.cli.common import run_async
    from abonent.promised import service as promised
    from abonent.promised.errors import PromisedRefused

    shown_first = [
        shown.number
        for shown in r.showcase
        if shown.statement.overdue_minor > 0
        and shown.statement.status == "active"
        and shown.number != r.pay_number
    ]

    async def first_offered(db: Database) -> tuple[str, str | None]:
        # The first account a promised payment is offered to now (the showcase's first, then
        # any active account in debt) that has a SIM of its own; the OSMP lines' account only
        # when there is no other, since pasting those clears its debt.
        async with db.session() as s:
            listed = await account_reads.page(
                s, in_debt=True, status="active", after_id=0, limit=500
            )
            others = [
                a.number for a, b in listed if b.balance_minor < 0 and a.number not in shown_first
            ]
            for number in [
                *(n for n in (*shown_first, *others) if n != r.pay_number),
                r.pay_number,
            ]:
                account = await get_account(s, number)
                try:
                    await promised.offer(s, account)
                except PromisedRefused:
                    continue
                # The account's own SIM (*100# finds the account by it), not a contact phone.
                sims = [
                    service.msisdn
                    for service in await account_reads.services_of(s, account.id)
                    if service.kind == "mobile" and service.status != "closed" and service.msisdn
                ]
                if sims:
                    return number, sims[0]
        return r.pay_number, None

    account_number, sim = run_async(first_offered)
    indebted = sim or r.lookup_msisdn
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    stamp = int(time.time())
    say("")
    say("USSD over HTTP (the aggregator's callback; from 127.0.0.1 only by default):")
    for session, phone, code, text in (
        ("balance", r.lookup_msisdn, "%2A100%23", ""),
        ("debt", indebted, "%2A100%23", ""),
        ("promised", indebted, "%2A100%2A3%23", ""),
        ("promised", indebted, "%2A100%2A3%23", "1"),
    ):
        say(
            f"  curl -s -d sessionId=demo-{session}-{stamp} -d serviceCode={code} "
            f"-d phoneNumber={quote(phone)} -d text={text} {base}/ussd/callback"
        )
    say("  (the last answers the menu of the one before it, same session: key 1 takes it)")
    say(f"  {cli} promised show {account_number}")
