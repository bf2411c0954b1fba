"""Every command `make demo` prints works when pasted as printed, from the repository root.

The steps of `make demo` run in a scratch directory laid out like a checkout (``.venv/bin/abonent``
and ``var/``); then each printed line is run by a shell, as a person pasting it would: the
server first, then every curl line and page against it, then the CLI lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ENTRY = Path(sys.executable).parent / "abonent"
DEMO_URL = "sqlite:///var/demo.db"

pytestmark = pytest.mark.skipif(not ENTRY.exists(), reason=f"no {ENTRY} (package not installed)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory like the repository root after `make venv`."""
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "abonent").symlink_to(ENTRY)
    (tmp_path / "var").mkdir()
    return tmp_path


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABONENT_")}
    # This tree's sources, whichever checkout installed the entry point.
    env["PYTHONPATH"] = str(SRC)
    env["ABONENT_ENV"] = "development"
    return env


def shell(line: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def make_demo(root: Path, port: int) -> str:
    """What the Makefile's demo target runs before serving; returns what it printed."""
    prefix = f"ABONENT_DATABASE_URL={DEMO_URL} .venv/bin/abonent"
    upgraded = shell(f"{prefix} db upgrade", root)
    assert upgraded.returncode == 0, upgraded.stderr
    loaded = shell(
        f"{prefix} demo load --seed 7 --customers 20 --host 127.0.0.1 --port {port} --with-worker",
        root,
    )
    assert loaded.returncode == 0, loaded.stderr
    return loaded.stdout


@pytest.fixture
def served(checkout: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """The demo loaded and its printed `serve` line running: (root, commands, pages)."""
    port = free_port()
    printed = make_demo(checkout, port)
    lines = [line.strip() for line in printed.splitlines()]
    commands = [
        line for line in lines if line.startswith(("curl ", "ABONENT_DATABASE_URL=", "abonent "))
    ]
    pages = [line.split()[0] for line in lines if line.startswith("http://")]
    (serve,) = [line for line in commands if " serve " in line]
    server = subprocess.Popen(
        ["bash", "-c", serve],
        cwd=checkout,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the printed serve command did not come up"
            time.sleep(0.2)
        yield checkout, [c for c in commands if c != serve], pages
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_every_printed_command_works_as_pasted(
    served: tuple[Path, list[str], list[str]],
) -> None:
    root, commands, pages = served
    assert len(pages) == 4
    for page in pages:
        assert httpx.get(page, timeout=10).status_code == 200, page

    curls = [c for c in commands if c.startswith("curl ")]
    cli = [c for c in commands if not c.startswith("curl ")]
    # The API and OSMP lines, then the USSD callback's (tests/ussd/test_demo_lines.py reads
    # those screens); the CLI: the statement, then the promised payment of the USSD account.
    assert len(curls) == 9 and len(cli) == 2
    outputs = []
    for line in commands:
        done = shell(line, root)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr, line
        outputs.append(done.stdout)
    by_line = dict(zip(commands, outputs, strict=True))

    statement, msisdn, tv, check, pay = (by_line[c] for c in curls[:5])
    assert all(by_line[c].startswith(("CON ", "END ")) for c in curls[5:])
    number = json.loads(statement)["account_number"]
    assert f"/v1/accounts/{number}/statement" in curls[0]
    assert len(json.loads(msisdn)["items"]) == 1
    assert len(json.loads(tv)["items"]) == 1
    assert "<result>0</result>" in check and "<result>0</result>" in pay

    show, promised = cli
    assert " promised show " in promised
    assert shlex.split(show)[0] == f"ABONENT_DATABASE_URL={DEMO_URL}"
    assert shlex.split(show)[1] == ".venv/bin/abonent"
    # The statement the terminal shows is the demo account's, after the pasted payment.
    text = by_line[show]
    assert text.startswith(f"Лицевой счёт {number} — ")
    assert "Задолженности нет" in text


def test_the_printed_prefix_names_the_database_and_the_program_as_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from abonent.cli.demo import cli_for

    monkeypatch.setattr(sys, "argv", [".venv/bin/abonent", "demo", "load"])
    assert cli_for(DEMO_URL) == "ABONENT_DATABASE_URL=sqlite:///var/demo.db .venv/bin/abonent"
    monkeypatch.setattr(sys, "argv", ["abonent", "demo", "load"])
    assert cli_for("postgresql://demo:pw@db:5432/demo") == (
        "ABONENT_DATABASE_URL='postgresql://demo:***@db:5432/demo' abonent"
    )
    monkeypatch.setattr(sys, "argv", [str(SRC / "abonent" / "cli" / "main.py"), "demo"])
    assert cli_for("sqlite:///my demo.db") == (
        f"ABONENT_DATABASE_URL='sqlite:///my demo.db' {shlex.quote(sys.executable)} "
        "-m abonent.cli.main"
    )
