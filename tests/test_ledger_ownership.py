"""Only ``abonent.ledger`` writes the ledger's tables (DESIGN.md §5, issue 7 point 1).

A static scan of every module under ``src/abonent`` outside ``ledger/``, ``models/`` and
``migrations/``. A module writes a ledger table when it:

- calls ``insert(``/``update(``/``delete(`` (any spelling: ``sa.insert``, ``pg_insert``…) on a
  ledger model, its ``__table__``, or a local name bound to either;
- builds a ledger model object (``OpenItem(...)``: the only reason to is ``session.add``);
- assigns to a column only the ledger tables have (``balance.debt_minor -= …``);
- holds raw SQL that inserts into, updates, deletes from or COPYs a ledger table;
- calls an asyncpg ``copy_*`` method naming a ledger table;
- holds raw SQL that calls a database function writing the ledger's tables (migration 0018's
  ``abonent_agent_pay``): the function is the ledger's, and ``ledger/pg_agent_pay.py`` its
  only caller.

The scanner is tested on snippets below, so a rule that stops catching anything fails here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from abonent.models import AccountBalance, Allocation, Base, JournalEntry, OpenItem, Posting

SRC = Path(__file__).resolve().parents[1] / "src" / "abonent"
OWNER = "ledger"
NOT_SCANNED = {"ledger", "models", "migrations"}
LEDGER_MODELS = {m.__name__ for m in (JournalEntry, Posting, OpenItem, Allocation, AccountBalance)}
LEDGER_TABLES = {
    str(m.__tablename__) for m in (JournalEntry, Posting, OpenItem, Allocation, AccountBalance)
}
_SQL_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+(?:ONLY\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)
# Functions created by the migrations that write the ledger's tables.
_LEDGER_FUNCTION = re.compile(r"\b(abonent_agent_pay)\s*\(", re.IGNORECASE)
_STATEMENT = re.compile(r"(?:\w+_)?(?:insert|update|delete)")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COPY_METHODS = {"copy_records_to_table", "copy_to_table", "copy_from_table", "copy_from_query"}


def _ledger_only_columns() -> set[str]:
    """Columns of the ledger tables that no other table has: writing one is a ledger write."""
    ledger: set[str] = set()
    others: set[str] = set()
    for table in Base.metadata.tables.values():
        (ledger if table.name in LEDGER_TABLES else others).update(c.name for c in table.columns)
    return ledger - others


LEDGER_COLUMNS = _ledger_only_columns()


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _strings(node: ast.AST) -> list[str]:
    """Every string literal, with the literal parts of an f-string joined."""
    out: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.JoinedStr):
            out.append(
                "".join(
                    v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else " x "
                    for v in n.values
                )
            )
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
    return out


def _ledger_imports(tree: ast.AST) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("abonent.ledger")
        for alias in node.names
    }


def _bound_names(scope: ast.AST, seeds: set[str]) -> set[str]:
    """Names in ``scope`` that may hold a ledger row or table: bound (to a fixed point) from an
    expression naming one of ``seeds`` (the ledger models and what the module imports from
    ``abonent.ledger``), annotated with one, or looping over one."""
    known = set(seeds)
    pairs: list[tuple[ast.AST, ast.AST]] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            pairs += [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign):
            pairs.append((node.target, node.annotation))
            if node.value is not None:
                pairs.append((node.target, node.value))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            pairs.append((node.target, node.iter))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            pairs.append((node.optional_vars, node.context_expr))
        elif isinstance(node, ast.arg) and node.annotation is not None:
            pairs.append((ast.Name(id=node.arg), node.annotation))
        elif isinstance(node, ast.NamedExpr):
            pairs.append((node.target, node.value))
    changed = True
    while changed:
        changed = False
        for target, value in pairs:
            if _names(value) & known:
                new = _names(target) - known
                if new:
                    known |= new
                    changed = True
    return known


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node: ast.Assign | ast.AugAssign | ast.AnnAssign) -> list[ast.AST]:
    out: list[ast.AST] = []
    todo = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
    while todo:
        target = todo.pop()
        if isinstance(target, ast.Tuple | ast.List):
            todo += target.elts
        elif isinstance(target, ast.Starred):
            todo.append(target.value)
        else:
            out.append(target)
    return out


def violations(source: str, filename: str = "<snippet>") -> list[str]:
    """Where ``source`` writes a ledger table, as 'file:line: what' strings."""
    tree = ast.parse(source, filename)
    seeds = LEDGER_MODELS | _ledger_imports(tree)
    # Bindings are looked at per function: a ``line`` holding a row in one function says
    # nothing about a ``line`` in another.
    module_level = ast.Module(
        body=[n for n in tree.body if not isinstance(n, _FUNCTIONS)], type_ignores=[]
    )
    scope_of: dict[int, set[str]] = {}
    base = _bound_names(module_level, seeds)
    for fn in ast.walk(tree):
        if isinstance(fn, _FUNCTIONS):
            names = _bound_names(fn, base)
            for inner in ast.walk(fn):
                scope_of.setdefault(id(inner), names)
    found: list[str] = []

    def hit(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            aliases = scope_of.get(id(node), base)
            if _STATEMENT.fullmatch(name) and node.args and _names(node.args[0]) & aliases:
                hit(node, f"{name}() of a ledger model")
            elif name in LEDGER_MODELS:
                hit(node, f"builds a {name}")
            elif name in _COPY_METHODS and set(_strings(node)) & LEDGER_TABLES:
                hit(node, f"{name} into a ledger table")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            aliases = scope_of.get(id(node), base)
            for target in _targets(node):
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in LEDGER_COLUMNS
                    and _root(target) in aliases
                ):
                    hit(node, f"sets .{target.attr} of a ledger row")
        if isinstance(node, ast.Constant | ast.JoinedStr):
            texts = _strings(node) if isinstance(node, ast.JoinedStr) else [node.value]
            for text in texts:
                if not isinstance(text, str):
                    continue
                for match in _SQL_WRITE.finditer(text):
                    if match.group(1).lower() in LEDGER_TABLES:
                        hit(node, f"raw SQL {match.group(0)!r}")
                for match in _LEDGER_FUNCTION.finditer(text):
                    hit(node, f"calls the ledger's function {match.group(1)}")
    return sorted(set(found))


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] not in NOT_SCANNED)


def test_no_package_outside_the_ledger_writes_its_tables() -> None:
    modules = _modules()
    assert len(modules) > 50, "the scan found suspiciously few modules"
    found = [v for p in modules for v in violations(p.read_text(), p.relative_to(SRC).as_posix())]
    assert found == [], "write the ledger's tables through abonent.ledger:\n" + "\n".join(found)


def test_the_ledger_package_is_where_the_writes_are() -> None:
    # The scan must still recognise the ledger's own writes, or it recognises nothing.
    found = [
        v for p in sorted((SRC / OWNER).rglob("*.py")) for v in violations(p.read_text(), p.name)
    ]
    assert found


@pytest.mark.parametrize(
    "snippet",
    [
        "await s.execute(insert(Posting), legs)",
        "await s.execute(sa.update(AccountBalance).values(debt_minor=0))",
        "await s.execute(delete(Allocation).where(Allocation.id == 1))",
        "from sqlalchemy.dialects.postgresql import insert as pg_insert\n"
        "await s.execute(pg_insert(JournalEntry).values(kind='x'))",
        "t = cast(Table, AccountBalance.__table__)\nawait s.execute(update(t))",
        "table = OpenItem.__table__\nstmt = insert(table)",
        "s.add(OpenItem(account_id=1))",
        "s.add_all([JournalEntry(kind='charge')])",
        "from abonent.ledger.service import lock_balance\n"
        "async def f(s):\n    balance = await lock_balance(s, 1)\n    balance.debt_minor -= 5",
        "await s.delete(await s.get(Posting, 1))",
        "def f(b: AccountBalance) -> None:\n    b.entries_count += 1",
        "for item in await s.scalars(select(OpenItem)):\n    item.remaining_minor = 0",
        "row = await s.get(OpenItem, 1)\nrow.cleared_at, x = None, 1",
        "sql = 'INSERT INTO open_items (a) VALUES (?)'",
        "sql = f\"INSERT INTO open_items ({', '.join(cols)}) VALUES (?)\"",
        "await c.exec_driver_sql('update account_balances set debt_minor = 0')",
        "text('''\n  UPDATE open_items AS o\n  SET remaining_minor = 0''')",
        "text('DELETE FROM allocations WHERE id = 1')",
        "text('COPY postings FROM STDIN')",
        "await raw.copy_records_to_table('open_items', records=rows)",
        "await conn.fetchrow('SELECT * FROM abonent_agent_pay($1, $2)', a, b)",
        "sql = f'SELECT o_outcome FROM ABONENT_AGENT_PAY ({args})'",
    ],
)
def test_the_scan_catches(snippet: str) -> None:
    assert violations(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "rows = await s.scalars(select(OpenItem).where(OpenItem.remaining_minor > 0))",
        "await s.execute(update(Payment).values(status='reversed'))",
        "text('UPDATE payments SET status = 1')",
        "balance = row.balance_minor",
        "line = ServiceDebt(debt_minor=0)\nline.debt_minor += 5",
        "dues[r.charged_on] = r.charged_on + 1",
        "def f(s):\n    line = s.get(OpenItem, 1)\n"
        "def g():\n    line = Debt()\n    line.debt_minor = 1",
        "text('SELECT * FROM open_items FOR UPDATE')",
        "await posting_of(s, OpenItem, 1)",
        "await conn.fetchval('SELECT abonent_json_text($1)', label)",
    ],
)
def test_the_scan_lets_reads_and_other_tables_be(snippet: str) -> None:
    assert violations(snippet) == []
