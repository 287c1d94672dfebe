"""House rules of DESIGN.md, checked on the syntax tree (not with regexes, which miss an f-string
spread over lines or a call written another way): the domain layer is a library, views hold no
SQL and read no session, and SQL text never carries a value."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard.settings import ROOT

#: The face: the only modules that may import Streamlit.
FACE = (
    ROOT / "dashboard" / "app.py",
    ROOT / "dashboard" / "server.py",
)  # ordered: xdist workers collect alike
VIEWS = sorted((ROOT / "dashboard" / "views").glob("*.py"))
DOMAIN = [ROOT / "models.py"] + sorted(
    p
    for p in (ROOT / "dashboard").rglob("*.py")
    if p not in FACE and "views" not in p.relative_to(ROOT / "dashboard").parts
)
CODE = [*DOMAIN, *VIEWS, *FACE, *sorted((ROOT / "bench").glob("*.py"))]
CODE = [p for p in CODE if p.exists()]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_layer_never_imports_streamlit(path):
    assert "streamlit" not in _imports(_tree(path))


# --------------------------------------------------------------------------------------------
# Views call the domain; they build no SQL and read no session themselves

#: Methods that read or write through a session or connection.
SESSION_CALLS = {"exec", "execute", "exec_driver_sql", "scalar", "scalars", "query", "get", "add"}
SESSION_NAMES = re.compile(r"(^|_)(session|s|conn|connection|engine)$")
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA)\b")


def _view_offences(tree: ast.Module) -> list[str]:
    found = []
    for module in _imports(tree) & {"sqlalchemy", "sqlmodel", "psycopg", "sqlite3"}:
        found.append(f"imports {module}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_CALLS
            and SESSION_NAMES.search(_name(node.func.value))
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_WORDS.search(node.value)
        ):
            found.append(f"line {node.lineno}: SQL text {node.value[:40]!r}")
    return found


@pytest.mark.parametrize("path", [p for p in [*VIEWS, *FACE] if p.exists()], ids=lambda p: p.name)
def test_views_hold_no_sql_and_read_no_session(path):
    assert _view_offences(_tree(path)) == []


def test_the_view_rule_catches_what_it_is_meant_to():
    bad = ast.parse(
        "import sqlalchemy\n"
        "def page(session):\n"
        "    session.get(User, 1)\n"
        "    x = 'SELECT * FROM inquiry'\n"
    )
    assert len(_view_offences(bad)) == 3


# --------------------------------------------------------------------------------------------
# SQL text is built from constants and identifiers only; values are bound

#: An interpolated piece of SQL may be a constant (UPPER_CASE), an identifier or a fragment
#: named as one, a quoting helper, or plain text; anything else might be a value.
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
IDENTIFIER = re.compile(
    r"(^_?(table|name|column|col|index|trigger|schema|mark|marks|sql|ddl|expr|clause|"
    r"fragment|fts|target|source_table|grain|kind|op|cols|columns|key|keys|alias|"
    r"statement|prefix|period|bucket|day|ts|start|end|h|a|b|d|g|x|row|where|order|span|"
    r"shadow|country|watched|head|values|insert)s?$)|"
    r"(_(table|name|names|column|columns|cols|index|trigger|schema|sql|ddl|expr|clause|"
    r"fragment|marks|mark|key|keys|alias|list|select|when|whens|case|of|set)$)",
    re.IGNORECASE,
)
QUOTING = re.compile(r"(^_?quote|quoted$|^_?ident|^str$|^int$|^join$|^repr$)")


def _safe_piece(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name | ast.Attribute):
        return bool(CONSTANT.search(_name(node)) or IDENTIFIER.search(_name(node)))
    if isinstance(node, ast.Subscript):
        return _safe_piece(node.value)
    if isinstance(node, ast.Call):
        if not QUOTING.search(_name(node.func)) and not IDENTIFIER.search(_name(node.func)):
            return False
        return all(_safe_piece(a) or isinstance(a, ast.GeneratorExp) for a in node.args)
    if isinstance(node, ast.BinOp):
        return _safe_piece(node.left) and _safe_piece(node.right)
    if isinstance(node, ast.JoinedStr):
        return all(_safe_piece(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _safe_piece(node.value)
    if isinstance(node, ast.IfExp):
        return _safe_piece(node.body) and _safe_piece(node.orelse)
    return False


def _has_sql(node: ast.AST) -> bool:
    return any(
        isinstance(c, ast.Constant) and isinstance(c.value, str) and SQL_WORDS.search(c.value)
        for c in ast.walk(node)
    )


def _sql_offences(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        pieces: list[ast.AST] = []
        if isinstance(node, ast.JoinedStr):
            pieces = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            pieces = [node.left, node.right]
        elif isinstance(node, ast.Call) and _name(node.func) == "format":
            pieces = [*node.args, *(k.value for k in node.keywords)]
        if pieces and _has_sql(node) and not all(_safe_piece(p) for p in pieces):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:90]}")
    return found


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_text_never_carries_a_value(path):
    assert _sql_offences(_tree(path)) == []


@pytest.mark.parametrize(
    "source",
    [
        "sa.text(f\"SELECT * FROM inquiry WHERE company_name = '{term}'\")",
        "conn.execute('DELETE FROM inquiry WHERE id = ' + str(inquiry_id))",
        "cur.execute('UPDATE user_account SET role = %s' % role)",
        "'SELECT * FROM inquiry WHERE serial = {}'.format(serial)",
    ],
)
def test_the_sql_rule_catches_a_value_in_sql_text(source):
    assert _sql_offences(ast.parse(source)) != []


@pytest.mark.parametrize(
    "source",
    [
        "sa.text(f'SELECT {COLS} FROM {table} WHERE id = :id')",
        "'DELETE FROM ' + TABLE + ' WHERE owner = ?'",
        "'PRAGMA busy_timeout=' + str(int(SQLITE_BUSY_TIMEOUT_MS))",
    ],
)
def test_the_sql_rule_lets_identifiers_and_constants_through(source):
    assert _sql_offences(ast.parse(source)) == []


# --------------------------------------------------------------------------------------------
# Every module imports on its own, whatever was imported before it (no import-order trap: a
# module that re-exports another which imports it back fails only when the other comes first)

#: Imports each module named on the command line with nothing of ours imported before it, and
#: prints ``module: error`` for each one that fails. The tables of ``models`` are registered with
#: SQLModel, which stays imported: they go too, so that ``models`` can define them again.
_FRESH_IMPORTS = """
import importlib, sys, traceback
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m in ("dashboard", "models") or m.startswith("dashboard.")]:
        del sys.modules[loaded]
    if "sqlmodel" in sys.modules:
        from sqlmodel.main import default_registry
        default_registry.metadata.clear()
        default_registry.dispose()
    try:
        importlib.import_module(name)
    except BaseException:
        print(name + ": " + traceback.format_exc().strip().splitlines()[-1], flush=True)
"""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _page_scripts() -> set[str]:
    """``app.py`` and the pages it navigates to: Streamlit scripts, which draw (and need a logged
    in user) when imported. Every other module of the face imports like a library."""
    pages = {
        ROOT / "dashboard" / node.args[0].value
        for node in ast.walk(_tree(ROOT / "dashboard" / "app.py"))
        if isinstance(node, ast.Call)
        and _name(node.func) == "Page"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    return {"dashboard.app", *(_module_name(p) for p in pages)}


def test_every_module_imports_first_in_a_fresh_interpreter():
    import subprocess
    import sys

    scripts = _page_scripts()
    assert "dashboard.views.reports" in scripts  # the pages were found
    modules = ["models"] + sorted(
        name
        for name in map(_module_name, (ROOT / "dashboard").rglob("*.py"))
        if name not in scripts
    )
    # One interpreter for all (one per module would take minutes); its environment is the test's,
    # whose database is a temporary file (conftest), should an import ever reach for one.
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORTS, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    failures = [line for line in done.stdout.splitlines() if line.strip()]
    assert failures == [], "modules that fail when imported first:\n" + "\n".join(failures)
