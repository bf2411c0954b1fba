"""Run every benchmark and print its figures against the targets (``make bench``).

Each bench script measures Abonent and a floor in the same run and ends with one line
``<name>_ratio=<x>`` (and the OSMP and USSD benches their p99 as ``osmp_pay_p99_ms=<x>`` and
``ussd_http_p99_ms=<x>``); this collects
those lines. Benchmarks never run in the test suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> (script, comparison, target)
TARGETS = {
    "statement_http_ratio": ("bench_statement_http.py", ">=", 0.5),
    "statement_scale_ratio": ("bench_statement_scale.py", "<=", 1.2),
    "import_ratio": ("bench_import.py", ">=", 0.3),
    # Informational: the same import against COPY into open_items itself (its indexes and
    # foreign keys), which is what the import must write; the target above is against a bare
    # table of the same columns with only a primary key.
    "import_schema_ratio": ("bench_import.py", ">=", 0.3),
    "osmp_pay_ratio": ("bench_osmp.py", ">=", 0.3),
    "ussd_http_ratio": ("bench_ussd.py", ">=", 0.5),
    # The same run's 99th percentile latency of *100# at 64 connections, in milliseconds.
    "ussd_http_p99_ms": ("bench_ussd.py", "<=", 50.0),
    # SMS relayed by the outbox over SMPP to the local peer against a bare smpplib loop.
    "sms_ratio": ("bench_sms.py", ">=", 0.5),
    # /v1/me/accounts/{number}/statement with a subscriber token, one worker against one.
    "me_statement_ratio": ("bench_me.py", ">=", 0.5),
    # The same run's 99th percentile latency at 16 connections, in milliseconds.
    "osmp_pay_p99_ms": ("bench_osmp.py", "<=", 100.0),
    # dunning run: per-account cost at 1M accounts against 10k, and seconds at 1M.
    "dunning_scale_ratio": ("bench_dunning.py", "<=", 1.2),
    "dunning_1m_s": ("bench_dunning.py", "<=", 60.0),
}
SUMMARY = re.compile(r"^(\w+_(?:ratio|ms|s))=([0-9.]+)\s*$", re.MULTILINE)


def main() -> int:
    only = set(sys.argv[1:])
    results: dict[str, float] = {}
    failed: list[str] = []
    ran: set[str] = set()
    for name, (script, _, _) in TARGETS.items():
        if only and name not in only and script not in only:
            continue
        if script in ran:
            continue
        ran.add(script)
        path = HERE / script
        if not path.exists():
            print(f"--- {script}: missing", flush=True)
            failed.append(script)
            continue
        print(f"--- {script}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, check=False
        )
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stdout.write(proc.stderr[-4000:])
            failed.append(script)
        for key, value in SUMMARY.findall(proc.stdout):
            results[key] = float(value)
        print(f"    ({time.monotonic() - started:.0f} s)", flush=True)
    print("\n=== benchmark summary (ratios against floors measured in the same run) ===")
    for name, (_, op, target) in TARGETS.items():
        if name not in results:
            continue
        value = results[name]
        ok = value >= target if op == ">=" else value <= target
        print(f"{name:24} {value:8.3f}   target {op} {target:<5} {'met' if ok else 'MISSED'}")
    if failed:
        print(f"scripts that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
