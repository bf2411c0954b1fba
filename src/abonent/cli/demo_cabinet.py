"""The demo's printout of how to log in to the subscriber's cabinet (issue 10)."""

from __future__ import annotations

from abonent.cli.charges import say
from abonent.demo.loader import DemoReport


def print_cabinet(r: DemoReport, host: str, port: int) -> None:
    """The demo phone number (debt on internet and TV), where its code appears, what to try."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    if not r.cabinet_msisdn:
        return
    say("")
    say("The subscriber's cabinet (a phone or a browser; Russian, English at the bottom):")
    say(f"  log in at {base}/cabinet/login with the phone number {r.cabinet_msisdn}")
    say(
        f"  the SMS code appears at {base}/dev/sms (and {base}/dev/sms.json); the demo serves "
        "with ABONENT_ENV=development"
    )
    if r.cabinet_accounts:
        say(
            f"  its accounts: {', '.join(r.cabinet_accounts)} — debt on internet and TV; "
            "«Оплатить долг» goes to the sandbox acquirer (two clicks)"
        )
    if r.lookup_tv[0]:
        card, chip = r.lookup_tv
        say(f"  find an account number: {base}/cabinet/find — smart card {card}, chip ID {chip}")
