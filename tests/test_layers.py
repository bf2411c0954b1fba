"""Where queries may be: never in a surface or the OSMP protocol module (docs/architecture.md).

import-linter (``make lint``) checks which modules import which; it cannot see a query built
with SQLAlchemy in a module that is allowed to import SQLAlchemy for its types. This test reads
the surfaces' source and refuses any statement they build or run themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import abonent

PACKAGE = Path(abonent.__file__).resolve().parent
SURFACES = ("api", "web", "cli", "channels")
PROTOCOL_MODULES = ("payments/agents/osmp.py",)

# Building a statement: any of these imported from SQLAlchemy.
_STATEMENT_BUILDERS = frozenset(
    {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "bindparam"}
)
# Running one: a method of a session, a connection or an engine.
_RUNNERS = frozenset({"execute", "scalar", "scalars", "stream", "exec_driver_sql", "fetch"})


def _surface_files() -> list[Path]:
    files = [p for name in SURFACES for p in sorted((PACKAGE / name).rglob("*.py"))]
    return files + [PACKAGE / name for name in PROTOCOL_MODULES]


def queries_in(source: str) -> list[str]:
    """Each place in ``source`` that builds or runs an SQL statement, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in _STATEMENT_BUILDERS:
                    found.append(f"{node.lineno}: imports {alias.name} from {node.module}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _RUNNERS
            and not _reads_the_request_body(node.func)
        ):
            found.append(f"{node.lineno}: calls .{node.func.attr}()")
    return found


def _reads_the_request_body(func: ast.Attribute) -> bool:
    # Starlette's request.stream() is the body arriving, not a query (the OSMP form parser).
    return func.attr == "stream" and isinstance(func.value, ast.Name) and func.value.id == "request"


def test_the_check_sees_a_query() -> None:
    # What api/v1/payments.py held before the payments repository existed.
    source = (
        "from sqlalchemy import select\n"
        "async def get(session, payment_id):\n"
        "    return (await session.execute(select(Payment).where(Payment.id == payment_id)))\n"
    )
    assert queries_in(source) == ["1: imports select from sqlalchemy", "3: calls .execute()"]
    assert queries_in("async def f(s):\n    return await s.scalar(q)\n") == ["2: calls .scalar()"]
    assert queries_in("from sqlalchemy.ext.asyncio import AsyncSession\n") == []
    assert queries_in("async def f(request):\n    return request.stream()\n") == []
    assert queries_in("async def f(s):\n    return s.stream(q)\n") == ["2: calls .stream()"]


def test_there_are_surfaces_to_check() -> None:
    files = _surface_files()
    assert PACKAGE / "api" / "v1" / "payments.py" in files
    assert PACKAGE / "payments" / "agents" / "osmp.py" in files
    assert all(path.is_file() for path in files)


@pytest.mark.parametrize("path", _surface_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_query_in_a_surface(path: Path) -> None:
    assert queries_in(path.read_text(encoding="utf-8")) == []
