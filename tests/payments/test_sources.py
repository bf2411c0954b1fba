"""The payment source is spelled in one place: a second spelling would let a retry book twice."""

from __future__ import annotations

import ast
from pathlib import Path

import abonent
from abonent.payments import sources

PACKAGE = Path(abonent.__file__).resolve().parent
_NAMESPACES = ("osmp:", "api:", "card:")


def spellings(source: str) -> list[int]:
    """Lines where ``source`` builds a string that starts with a source namespace (docstrings,
    which only describe one, are left out)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            text = first.value if isinstance(first, ast.Constant) else None
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            text = node.value
        else:
            continue
        if isinstance(text, str) and text.startswith(_NAMESPACES):
            found.append(node.lineno)
    return sorted(set(found))


def test_each_namespace_is_distinct() -> None:
    spelled = {sources.osmp("SBER"), sources.api(3), sources.card("sandbox"), sources.OFFICE}
    assert spelled == {"osmp:SBER", "api:3", "card:sandbox", "office"}


def test_no_module_but_sources_spells_a_source() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != PACKAGE / "payments" / "sources.py"
        for line in spellings(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_sees_a_spelling() -> None:
    assert spellings('def f(agent):\n    return f"osmp:{agent.code}"\n') == [2]
    assert spellings("SOURCE = 'card:sandbox'\n") == [1]
    assert spellings('def f(r):\n    """Like \'osmp:SBER\'."""\n    return f"clearing:{r}"\n') == []
