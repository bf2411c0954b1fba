"""Where an OSMP payment's CPU goes: the uvicorn worker(s) and PostgreSQL, per payment booked.

Not a ratio benchmark (``make bench`` does not run it): a diagnostic for the OSMP figure. It
sets up what ``bench_osmp.py`` sets up, drives ``pay`` with wrk, and divides the CPU time the
server's processes and PostgreSQL's processes spent during the run (from ``/proc``) by the
payments booked; then it prints, per table, the scans and inserts the run caused
(``pg_stat_user_tables``), which shows foreign-key checks and any sequential scan.

Knobs: BENCH_OSMP_WORKERS (1), BENCH_OSMP_SECONDS (8), BENCH_OSMP_CONNECTIONS (16).
Run: ``.venv/bin/python bench/probe_osmp_cpu.py`` (PostgreSQL as for ``make bench``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg

import bench_osmp as osmp
from _common import dsn, free_port, say, scratch_database, server, uvicorn_command

TICKS = os.sysconf("SC_CLK_TCK")
WORKERS = int(os.environ.get("BENCH_OSMP_WORKERS", "1"))
SECONDS = int(os.environ.get("BENCH_OSMP_SECONDS", "8"))


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def processes(fragment: str) -> list[int]:
    """Processes whose command line holds ``fragment`` (PostgreSQL backends retitle themselves
    "postgres: …")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fragment in command:
            found.append(int(entry.name))
    return found


def with_children(pids: list[int]) -> list[int]:
    """``pids`` and their descendants (uvicorn's workers are children of its supervisor)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent_of[int(entry.name)] = int(stat[1])
    found = set(pids)
    grew = True
    while grew:
        children = {pid for pid, parent in parent_of.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return sorted(found)


async def table_stats(url: str) -> dict[str, tuple[int, int, int]]:
    conn = await asyncpg.connect(dsn(url))
    try:
        await asyncio.sleep(0.7)  # statistics reach the view with a short delay
        rows = await conn.fetch(
            "SELECT relname, seq_scan, coalesce(idx_scan, 0), n_tup_ins FROM pg_stat_user_tables"
        )
    finally:
        await conn.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def main() -> None:
    with scratch_database("probe") as url:
        mix = osmp.prepare_mix(url)
        say("mix: " + ", ".join(f"{group} {n:,}" for group, n in mix.groups.items()))
        database = url.rsplit("/", 1)[1].split("?")[0]
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "osmp_pay.lua"
            script.write_text(osmp.lua_script(mix))
            env = {"ABONENT_DATABASE_URL": url, "ABONENT_ENV": "development"}
            command = uvicorn_command("abonent.app:create_app", port=port, workers=WORKERS)
            with server(command, port=port, env=env) as base_url:
                osmp.run_wrk(base_url, script, 10**12, 3)  # warm-up
                app_pids = with_children(processes("uvicorn abonent.app"))
                pg_pids = processes("postgres: ")
                # This database's backends only: the machine's PostgreSQL serves other work too.
                own_pids = processes(f"postgres {database} ")
                before = (
                    cpu_seconds(app_pids),
                    cpu_seconds(pg_pids),
                    asyncio.run(table_stats(url)),
                    cpu_seconds(own_pids),
                )
                run = osmp.run_wrk(base_url, script, 2 * 10**12, SECONDS)
                after = (
                    cpu_seconds(app_pids),
                    cpu_seconds(pg_pids),
                    asyncio.run(table_stats(url)),
                    cpu_seconds(own_pids),
                )
    n = run.ok
    say(f"{n:,} payments in {SECONDS} s ({run.ok_per_s:,.0f}/s), {WORKERS} uvicorn worker(s)")
    say(f"  python (uvicorn):  {1000 * (after[0] - before[0]) / n:.3f} ms CPU per payment")
    say(f"  postgresql, all:   {1000 * (after[1] - before[1]) / n:.3f} ms CPU per payment")
    say(f"  postgresql, this database's backends: {1000 * (after[3] - before[3]) / n:.3f} ms")
    say("per payment, by table:        seq scans   index scans   rows inserted")
    for table in sorted(after[2]):
        was = before[2].get(table, (0, 0, 0))
        seq, idx, ins = (a - b for a, b in zip(after[2][table], was, strict=True))
        if seq or idx or ins:
            say(f"  {table:<26} {seq / n:9.2f}   {idx / n:11.2f}   {ins / n:13.2f}")


if __name__ == "__main__":
    main()
