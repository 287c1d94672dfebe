"""House rules of DESIGN.md that a grep can check: the domain layer is a library."""

from __future__ import annotations

import ast
import re

import pytest

from dashboard.settings import ROOT

DOMAIN = [ROOT / "models.py"] + sorted(
    p for p in (ROOT / "dashboard").glob("*.py") if p.name != "app.py"
)


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: p.name)
def test_the_domain_layer_never_imports_streamlit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "streamlit" not in imported


def test_no_sql_is_built_with_f_strings_outside_tests():
    pattern = re.compile(r"""(text|execute|exec_driver_sql|read_sql)\(\s*f["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [
            ROOT / "models.py",
            *ROOT.glob("dashboard/**/*.py"),
            *ROOT.glob("bench/**/*.py"),
        ]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_views_never_read_sql_into_pandas():
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.glob("dashboard/views/*.py")
        if re.search(
            r"read_sql(_table|_query)?\(|sqlalchemy|sqlmodel import select",
            path.read_text(encoding="utf-8"),
        )
    ]
    assert offenders == []
